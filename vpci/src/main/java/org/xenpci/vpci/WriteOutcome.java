package org.xenpci.vpci;

/**
 * What a config write meant beyond the register itself (STYLE 6, cloud-hypervisor's
 * {@code BarReprogrammingParams}). The table returns it; {@link VpciDevice#write} hands a
 * {@link DecodingChanged} to {@link VpciMapper}, which applies the p2m change.
 */
public sealed interface WriteOutcome
        permits WriteOutcome.NoEffect, WriteOutcome.BarMoved, WriteOutcome.DecodingChanged,
        WriteOutcome.DecodingRefused {

    /** The shared "nothing to do" value: returned on the steady-state path without allocating. */
    NoEffect NO_EFFECT = new NoEffect();

    /** Nothing for the p2m owner to do. */
    record NoEffect() implements WriteOutcome {
    }

    /**
     * An unmapped BAR (or ROM) got a new address; nothing is mapped yet.
     *
     * @param bar slot index (0..5, or num_bars for the ROM)
     * @param oldGuestAddr guest address before the write (bytes)
     * @param newGuestAddr guest address after it
     * @param size BAR size in bytes
     */
    record BarMoved(int bar, long oldGuestAddr, long newGuestAddr, long size) implements WriteOutcome {
    }

    /**
     * Memory decoding (or the ROM enable) is toggled: {@code plan} must be applied to the owner's
     * p2m, then {@code modify_decoding(cmd, romOnly)} writes the hardware.
     *
     * @param cmd the COMMAND value to write once mapped ({@code MEMORY} set means map)
     * @param romOnly only the ROM BAR changes (a ROM enable-bit write)
     * @param plan the frames to map or unmap
     */
    record DecodingChanged(int cmd, boolean romOnly, MapPlan plan) implements WriteOutcome {
    }

    /**
     * {@code modify_bars} failed up front (e.g. -EINVAL for a page-offset mismatch): nothing was
     * scheduled and the hardware COMMAND was not written.
     *
     * @param rc negative errno
     */
    record DecodingRefused(int rc) implements WriteOutcome {
    }
}
