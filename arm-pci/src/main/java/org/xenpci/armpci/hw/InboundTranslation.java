package org.xenpci.armpci.hw;

import java.util.Objects;
import org.xenpci.core.SparseMemory;

/**
 * What an {@link InboundTranslator} made of one inbound address: a {@link Window} the request
 * may use, or a {@link Fault}. Windows describe a whole mapped range so that an IOMMU can hand
 * out the same immutable window for every access to it (a TLB entry) and a successful DMA
 * allocates nothing.
 */
public sealed interface InboundTranslation permits InboundTranslation.Window, InboundTranslation.Fault {

    /**
     * A translated range {@code [inputBase, inputBase + size)} of input (bus) addresses. Either
     * RAM ({@code memory} non-null, input address {@code a} is byte {@code memOffset + a -
     * inputBase} of it) or the physical address space ({@code memory} null, {@code a} becomes
     * machine address {@code outputBase + a - inputBase}).
     *
     * @param inputBase first input address of the range
     * @param size bytes in the range, positive (unsigned arithmetic is not needed: ranges end below 2^63)
     * @param memory the RAM the range hits, or null for the physical address space
     * @param memOffset byte offset of {@code inputBase} in {@code memory} (0 when memory is null)
     * @param outputBase machine address of {@code inputBase} when memory is null (unused otherwise)
     */
    record Window(long inputBase, long size, SparseMemory memory, long memOffset, long outputBase)
            implements InboundTranslation {
        /** Everything below 2^63 reaches the physical address space unchanged: no IOMMU in the path. */
        public static final Window IDENTITY = new Window(0, Long.MAX_VALUE, null, 0, 0);

        public Window {
            if (size <= 0 || inputBase < 0 || inputBase + size - 1 < inputBase) {
                throw new IllegalArgumentException("bad window " + inputBase + "+" + size);
            }
        }

        /** True if {@code [address, address + length)} lies inside the window. */
        public boolean contains(long address, long length) {
            return address >= inputBase && length >= 0 && address - inputBase <= size - length;
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
