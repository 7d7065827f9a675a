package org.xenpci.core;

/**
 * A device's answer for one fixed range of its region, resolved once for repeated accesses
 * (what a TLB entry is to a page walk): {@link MmioDevice#bind} hands it out, and the caller
 * keeps it instead of decoding the same address again at every access.
 *
 * <p>The contract: an access the binding serves has exactly the effect and the value the
 * device's own {@link MmioDevice#read}/{@link MmioDevice#write} at the same offset would have at
 * that moment. The binding is allowed to decline any access ({@link #UNSERVED}, or
 * {@code false} from {@link #write}) without changing anything, and must decline whatever it
 * cannot answer exactly (a shape it does not handle, state it cannot vouch for); the caller then
 * makes the access through the device. Only sizes 1, 2 and 4 are ever served, so
 * {@link #UNSERVED} (-1) cannot be a value. Offsets are bytes from the start of the bound range.
 *
 * <p>Implementations are thread-safe and allocate nothing per access.
 */
public interface MmioBinding {
    /** What {@link #read} returns for an access it does not serve. */
    long UNSERVED = -1L;

    /** The zero-extended value of {@code size} bytes at {@code offset}, or {@link #UNSERVED}. */
    long read(long offset, int size);

    /** Stores the low {@code size} bytes of {@code value} at {@code offset}; false if not served (nothing done). */
    boolean write(long offset, int size, long value);
}
