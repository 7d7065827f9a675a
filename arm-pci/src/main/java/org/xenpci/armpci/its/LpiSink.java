package org.xenpci.armpci.its;

/**
 * The redistributors as an ITS sees them: where a translated LPI is made pending. Keyed by the
 * collection's target, which is a processor number because the modelled ITS reports
 * GITS_TYPER.PTA = 0. The hypervisor owns the physical LPIs and connects its handler here
 * (Xen's {@code gicv3_do_LPI}).
 *
 * <p>Called on the thread that made the device signal (or that ran the ITS command queue);
 * must be thread-safe and must not call back into the ITS.
 */
public interface LpiSink {
    /** Physical LPI {@code intid} became pending on processor {@code target}. */
    void lpi(int target, int intid);

    /** The CLEAR command removed a pending {@code intid} on {@code target} (default: nothing held). */
    default void clear(int target, int intid) {
    }

    /** A sink that drops everything (no CPU interface connected). */
    LpiSink NONE = (target, intid) -> { };
}
