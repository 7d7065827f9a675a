package org.xenpci.armpci.hw;

import java.util.Objects;
import org.xenpci.core.BackingMemory;

/**
 * What an {@link InboundTranslator} made of one inbound address: a {@link Window} the request
 * may use, or a {@link Fault}. Windows describe a whole mapped range so that an IOMMU can hand
 * out the same immutable window for every access to it (a TLB entry) and a successful DMA
 * allocates nothing.
 */
public sealed interface InboundTranslation permits InboundTranslation.Window, InboundTranslation.Fault {

    /**
     * A translated range {@code [inputBase, inputBase + size)} of input (bus) addresses, both
     * unsigned 64-bit (a guest may put a 64-bit BAR anywhere, 2^63 and above included). Either
     * RAM ({@code memory} non-null, input address {@code a} is byte {@code memOffset + a -
     * inputBase} of it) or the physical address space ({@code memory} null, {@code a} becomes
     * machine address {@code outputBase + a - inputBase}).
     *
     * @param inputBase first input address of the range (unsigned)
     * @param size bytes in the range (unsigned, non-zero; the range must not wrap past 2^64)
     * @param memory the RAM the range hits, or null for the physical address space
     * @param memOffset byte offset of {@code inputBase} in {@code memory} (0 when memory is null)
     * @param outputBase machine address of {@code inputBase} when memory is null (unused otherwise)
     */
    record Window(long inputBase, long size, BackingMemory memory, long memOffset, long outputBase)
            implements InboundTranslation {
        /**
         * No IOMMU in the path: every address but the very last byte of the 64-bit space
         * reaches the physical address space unchanged (a window cannot hold 2^64 bytes; the
         * last byte is decoded by nothing anyway).
         */
        public static final Window IDENTITY = new Window(0, -1L, null, 0, 0);

        public Window {
            if (size == 0 || Long.compareUnsigned(inputBase + size - 1, inputBase) < 0) {
                throw new IllegalArgumentException("bad window " + Long.toUnsignedString(inputBase, 16) + "+"
                        + Long.toUnsignedString(size, 16));
            }
        }

        /**
         * The window a stage-2 entry gives a device (Xen shares the p2m with the IOMMU): RAM or
         * direct MMIO as mapped; null for a trapped (emulated) region, which has no stage-2
         * mapping a device could use.
         */
        public static Window ofStage2(org.xenpci.core.P2m.Entry e) {
            if (e instanceof org.xenpci.core.P2m.Ram r) {
                return new Window(r.gpa(), r.size(), r.memory(), r.memOffset(), 0);
            }
            if (e instanceof org.xenpci.core.P2m.DirectMmio m) {
                return new Window(m.gpa(), m.size(), null, 0, m.maddr());
            }
            return null;
        }

        /** True if {@code [address, address + length)} lies inside the window (unsigned). */
        public boolean contains(long address, long length) {
            return length >= 0 && Long.compareUnsigned(address, inputBase) >= 0
                    && Long.compareUnsigned(address - inputBase, size - length) <= 0
                    && Long.compareUnsigned(length, size) <= 0;
        }
    }

    /**
     * The IOMMU refused the request.
     *
     * @param reason why
     */
    record Fault(IommuFault reason) implements InboundTranslation {
        public Fault {
            Objects.requireNonNull(reason, "reason");
        }
    }
}
