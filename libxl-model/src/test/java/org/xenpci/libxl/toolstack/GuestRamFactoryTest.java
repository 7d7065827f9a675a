package org.xenpci.libxl.toolstack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.core.BackingMemory;
import org.xenpci.core.Domain;
import org.xenpci.core.P2m;
import org.xenpci.core.Profile;
import org.xenpci.core.SparseMemory;
import org.xenpci.libxl.config.LibxlError;
import org.xenpci.libxl.config.XlConfig;
import org.xenpci.libxl.host.DefaultPlatform;
import org.xenpci.libxl.host.XenHost;

@DisplayName("Libxl backs each guest RAM bank with memory from its GuestRamFactory")
class GuestRamFactoryTest {
    /** Records what it was asked for and released. */
    static final class Recording implements GuestRamFactory {
        final List<String> calls = new ArrayList<>();
        final List<BackingMemory> made = new ArrayList<>();
        boolean failBank1;

        @Override
        public BackingMemory create(Domain domain, int bank, long gpa, long size) {
            calls.add("create d" + domain.domid() + " bank" + bank + " " + Long.toHexString(gpa) + "+" + Long.toHexString(size));
            if (failBank1 && bank == 1) {
                throw new IllegalStateException("out of files");
            }
            SparseMemory m = new SparseMemory(size);
            made.add(m);
            return m;
        }

        @Override
        public void release(Domain domain) {
            calls.add("release d" + domain.domid());
        }
    }

    static XlConfig cfg(String name, int mib) {
        return XlConfig.parse("name = \"" + name + "\"\nmemory = " + mib + "\n", name + ".cfg");
    }

    @Test
    @DisplayName("every bank of GuestRamLayout comes from the factory, at the guest address, and destroy releases it")
    void banksFromTheFactory() {
        Libxl l = new Libxl(XenHost.boot(DefaultPlatform.build(), Profile.FULL));
        Recording f = new Recording();
        l.ramFactory(f);
        // 4 GiB: 3 GiB in bank 0 at 0x40000000, the rest in bank 1 at 0x2_0000_0000 (GuestMemoryMap).
        LibxlDomain d = l.createDomain(cfg("big", 4096));
        assertThat(f.calls).containsExactly("create d1 bank0 40000000+c0000000", "create d1 bank1 200000000+40000000");
        List<BackingMemory> inP2m = d.domain().p2m().entries().stream().filter(e -> e instanceof P2m.Ram)
                .map(e -> ((P2m.Ram) e).memory()).toList();
        assertThat(inP2m).containsExactlyElementsOf(f.made);
        l.destroyDomain(d.domid());
        assertThat(f.calls).last().isEqualTo("release d1");
    }

    @Test
    @DisplayName("a factory that fails makes createDomain fail with ERROR_NOMEM, leaves no domain, and releases what it made")
    void failureRollsBack() {
        Libxl l = new Libxl(XenHost.boot(DefaultPlatform.build(), Profile.FULL));
        Recording f = new Recording();
        f.failBank1 = true;
        l.ramFactory(f);
        assertThatThrownBy(() -> l.createDomain(cfg("big", 4096))).isInstanceOfSatisfying(LibxlException.class,
                e -> {
                    assertThat(e.code()).isEqualTo(LibxlError.ERROR_NOMEM);
                    assertThat(e.libxlMessage()).contains("bank 1").contains("out of files");
                });
        assertThat(l.domains()).isEmpty();
        assertThat(l.host().xen().domain(1)).isEmpty();
        assertThat(f.calls).last().isEqualTo("release d1");
        // The next guest is fine.
        f.failBank1 = false;
        assertThat(l.createDomain(cfg("small", 64)).domain().p2m().lookup(0x40000000L)).isInstanceOf(P2m.Ram.class);
    }
}
