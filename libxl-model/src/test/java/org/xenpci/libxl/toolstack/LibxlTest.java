package org.xenpci.libxl.toolstack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.armpci.ArmPciLayer;
import org.xenpci.armpci.DomctlCalls;
import org.xenpci.core.Domain;
import org.xenpci.core.Errno;
import org.xenpci.core.Profile;
import org.xenpci.core.pci.Sbdf;
import org.xenpci.libxl.config.LibxlError;
import org.xenpci.libxl.config.PciDefaults;
import org.xenpci.libxl.config.PciSpecParser;
import org.xenpci.libxl.config.XlConfig;
import org.xenpci.libxl.guest.PhysdevCall;
import org.xenpci.libxl.guest.ReferenceGuest;
import org.xenpci.libxl.host.DefaultPlatform;
import org.xenpci.libxl.host.XenHost;
import org.xenpci.vpci.Vpci;
import org.xenpci.vpci.VpciDevice;

@DisplayName("The libxl model assigns, lists, detaches and quarantines PCI devices through dom0's domctls")
class LibxlTest {
    static final Sbdf NVME = Sbdf.parse("0000:00:02.0");
    static final Sbdf IVSHMEM = Sbdf.parse("0000:01:00.0");
    static final Sbdf NIC = Sbdf.parse("0000:00:01.0");
    static final Sbdf HDA = Sbdf.parse("0000:00:04.0");
    static final Sbdf SERIAL = Sbdf.parse("0000:00:04.1");

    static Libxl boot(Profile p) {
        return new Libxl(XenHost.boot(DefaultPlatform.build(), p));
    }

    static XlConfig cfg(String name, String... pci) {
        StringBuilder b = new StringBuilder("name = \"" + name + "\"\nmemory = 1024\nvcpus = 2\n");
        if (pci.length > 0) {
            b.append("pci = [ ");
            for (int i = 0; i < pci.length; i++) {
                b.append(i > 0 ? ", " : "").append('"').append(pci[i]).append('"');
            }
            b.append(" ]\n");
        }
        return XlConfig.parse(b.toString(), name + ".cfg");
    }

    static Domain owner(Libxl l, Sbdf s) {
        return l.host().xen().service(ArmPciLayer.class).orElseThrow().findPdev(s).orElseThrow().owner();
    }

    /** Xenstore nodes below {@code path} that hold a value (parents created on the way are empty). */
    static java.util.Map<String, String> values(Libxl l, String path) {
        java.util.Map<String, String> out = new java.util.TreeMap<>();
        l.xenstore().dump(path).forEach((k, v) -> {
            if (!v.isEmpty()) {
                out.put(k, v);
            }
        });
        return out;
    }

    static LibxlException thrown(Runnable r) {
        try {
            r.run();
        } catch (LibxlException e) {
            return e;
        }
        throw new AssertionError("no LibxlException");
    }

    @Test
    @DisplayName("pci-assignable-add quarantines in dom_io, lists the device with its name, and remove returns it to dom0")
    void assignableAddAndRemove() {
        Libxl l = boot(Profile.FULL);
        assertThat(l.pciAssignableList()).isEmpty();

        l.pciAssignableAdd(NVME, Optional.of("disk"), true);

        assertThat(owner(l, NVME)).isSameAs(l.host().xen().domIo());
        assertThat(l.pciback().isAssigned(NVME)).isTrue();
        assertThat(l.xenstore().read("/libxl/pci/0000-00-02-0/name")).hasValue("disk");
        assertThat(l.xenstore().read("/libxl/pci/0000-00-02-0/driver_path")).hasValue("/sys/bus/pci/drivers/dom0");
        assertThat(l.pciAssignableList()).extracting(a -> a.xlLine(true)).containsExactly("0000:00:02.0 disk");
        assertThat(l.pciAssignableList()).extracting(a -> a.xlLine(false)).containsExactly("0000:00:02.0 ");

        l.pciAssignableRemove("disk", true);

        assertThat(owner(l, NVME)).isSameAs(l.host().xen().hardwareDomain());
        assertThat(l.pciback().driverPath(NVME)).hasValue("/sys/bus/pci/drivers/dom0");
        assertThat(values(l, "/libxl")).isEmpty();
        assertThat(l.pciAssignableList()).isEmpty();
        assertThat(l.log()).extracting(LibxlLogEntry::message).contains("Rebinding to driver at /sys/bus/pci/drivers/dom0");
    }

    @Test
    @DisplayName("full profile: created guest owns both devices, writes the 7.3 xenstore entries, vPCI gives 00:00.0 and 00:01.0")
    void createAssignsDevices() {
        Libxl l = boot(Profile.FULL);
        XlConfig c = cfg("g1", "0000:00:02.0", "0000:00:01.0");
        l.makeAssignable(c);
        LibxlDomain g = l.createDomain(c);

        assertThat(g.domid()).isEqualTo(1);
        assertThat(owner(l, NVME)).isSameAs(g.domain());
        assertThat(owner(l, NIC)).isSameAs(g.domain());
        assertThat(l.pciAssignableList()).isEmpty();
        String be = "/local/domain/0/backend/pci/1/0";
        assertThat(l.xenstore().dump(be)).containsEntry(be + "/num_devs", "2").containsEntry(be + "/dev-0", "0000:00:02.0")
                .containsEntry(be + "/key-1", "0000:00:01.0").containsEntry(be + "/state", "1")
                .containsEntry(be + "/domain", "g1").containsEntry(be + "/frontend", "/local/domain/1/device/pci/0")
                .containsEntry(be + "/opts-0", "msitranslate=0,power_mgmt=0,permissive=0,rdm_policy=strict")
                .doesNotContainKey(be + "/vdevfn-0");
        assertThat(l.xenstore().read("/local/domain/1/device/pci/0/backend-id")).hasValue("0");
        assertThat(l.xenstore().read("/libxl/pci/0000-00-02-0/domid")).hasValue("1");
        assertThat(l.pciList(1)).extracting(PciListEntry::xlLine).containsExactly("00.0 0000:00:02.0", "00.0 0000:00:01.0");
        Vpci vpci = l.host().vpci();
        assertThat(vpci.device(g.domain(), NVME).guestSbdfRecord()).isEqualTo(Sbdf.parse("0000:00:00.0"));
        assertThat(vpci.device(g.domain(), NIC).guestSbdfRecord()).isEqualTo(Sbdf.parse("0000:00:01.0"));
        // Permissions recorded for every assigned resource: NVMe BAR0 (16 KiB = 4 frames).
        assertThat(l.permissions()).filteredOn(p -> !p.io() && p.count() == 4).isNotEmpty();
    }

    @Test
    @DisplayName("destroying the guest detaches with force: devices back in dom_io, still assignable, xenstore cleaned")
    void destroyReturnsToQuarantine() {
        Libxl l = boot(Profile.FULL);
        XlConfig c = cfg("g1", "0000:00:02.0", "0000:01:00.0");
        l.makeAssignable(c);
        LibxlDomain g = l.createDomain(c);
        new ReferenceGuest(g.domain()).probe();

        l.destroyDomain(g.domid());

        assertThat(owner(l, NVME)).isSameAs(l.host().xen().domIo());
        assertThat(owner(l, IVSHMEM)).isSameAs(l.host().xen().domIo());
        assertThat(l.pciAssignableList()).extracting(a -> a.sbdf()).containsExactly(NVME, IVSHMEM);
        assertThat(values(l, "/local")).isEmpty();
        assertThat(l.domains()).isEmpty();
        assertThat(l.host().xen().domain(1)).isEmpty();
        assertThat(g.domain().state()).isEqualTo(Domain.State.DEAD);
    }

    @Test
    @DisplayName("a device that is not assignable fails the add with ERROR_FAIL and the creation is undone")
    void notAssignable() {
        Libxl l = boot(Profile.FULL);
        LibxlException e = thrown(() -> l.createDomain(cfg("g1", "0000:00:02.0")));

        assertThat(e.code()).isEqualTo(LibxlError.ERROR_FAIL);
        assertThat(e.libxlMessage()).isEqualTo("PCI device 0:0:2.0 is not assignable");
        assertThat(l.log()).extracting(LibxlLogEntry::message).containsSubsequence(
                "PCI device 0:0:2.0 is not assignable", "libxl__device_pci_add failed for PCI device 0:0:2.0 (rc -3)");
        assertThat(l.domains()).isEmpty();
        assertThat(l.host().xen().domains()).hasSize(1);
        assertThat(l.xenstore().dump("/")).isEmpty();
    }
}
