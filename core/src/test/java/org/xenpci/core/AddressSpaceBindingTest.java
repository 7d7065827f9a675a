package org.xenpci.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("PhysicalAddressSpace.bind: a range bound to the device that claims it, following the region set")
class AddressSpaceBindingTest {
    private final PhysicalAddressSpace space = new PhysicalAddressSpace();

    /** A device that binds any range and records what it bound; its bound reads give offset + 0x100 * bindings. */
    static final class Bindable implements MmioDevice {
        final List<long[]> bound = new ArrayList<>();

        @Override
        public long read(long offset, int size) {
            return 0xdead;
        }

        @Override
        public void write(long offset, int size, long value) {
        }

        @Override
        public MmioBinding bind(long offset, long size) {
            bound.add(new long[] {offset, size});
            long mark = 0x100L * bound.size();
            return new MmioBinding() {
                @Override
                public long read(long off, int len) {
                    return len == 8 ? UNSERVED : mark + off;
                }

                @Override
                public boolean write(long off, int len, long value) {
                    return len != 8;
                }
            };
        }
    }

    @Test
    @DisplayName("an unclaimed range serves nothing until a region claims it; then the device binds the offset inside its region")
    void hotAddedRegionIsFound() {
        PhysicalAddressSpace.Binding b = space.bind(0x2000_1000L, 0x1000);
        assertThat(b.bound()).isFalse();
        assertThat(b.read(0, 4)).isEqualTo(MmioBinding.UNSERVED);
        assertThat(b.write(0, 4, 1)).isFalse();

        Bindable dev = new Bindable();
        long before = space.generation();
        space.register("dev", 0x2000_0000L, 0x10_0000L, dev);
        assertThat(space.generation()).isEqualTo(before + 1);

        assertThat(b.read(8, 4)).isEqualTo(0x108);
        assertThat(dev.bound).hasSize(1);
        assertThat(dev.bound.get(0)).containsExactly(0x1000L, 0x1000L);
        assertThat(b.read(0, 8)).as("the device declined").isEqualTo(MmioBinding.UNSERVED);
        assertThat(b.read(0xffc, 8)).as("past the bound range").isEqualTo(MmioBinding.UNSERVED);
        assertThat(b.read(-4, 4)).isEqualTo(MmioBinding.UNSERVED);
    }

    @Test
    @DisplayName("the device is asked again only when the region set changes, not per access")
    void resolvedOncePerGeneration() {
        Bindable dev = new Bindable();
        space.register("dev", 0x2000_0000L, 0x10_0000L, dev);
        PhysicalAddressSpace.Binding b = space.bind(0x2000_0000L, 0x1000);
        for (int i = 0; i < 100; i++) {
            b.read(i, 1);
        }
        assertThat(dev.bound).hasSize(1);
        space.register("other", 0x3000_0000L, 0x1000, new Bindable());
        assertThat(b.read(0, 1)).isEqualTo(0x200);
        assertThat(dev.bound).hasSize(2);
    }

    @Test
    @DisplayName("a range no single region holds, or a device without bindings, serves nothing: accesses go through read/write")
    void unboundRanges() {
        space.register("a", 0x2000_0000L, 0x1000, new Bindable());
        space.register("b", 0x2000_1000L, 0x1000, new Bindable());
        space.register("plain", 0x4000_0000L, 0x1000, new MmioDevice() {
            @Override
            public long read(long offset, int size) {
                return 7;
            }

            @Override
            public void write(long offset, int size, long value) {
            }
        });
        assertThat(space.bind(0x2000_0800L, 0x1000).bound()).as("straddles two regions").isFalse();
        assertThat(space.bind(0x4000_0000L, 0x1000).bound()).as("the device offers no binding").isFalse();
        assertThat(space.bind(0x2000_0000L, 0x1000).bound()).isTrue();
        assertThatThrownBy(() -> space.bind(-0x10L, 0x100)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> space.bind(0, 0)).isInstanceOf(IllegalArgumentException.class);
    }
}
