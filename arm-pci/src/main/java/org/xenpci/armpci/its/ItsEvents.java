package org.xenpci.armpci.its;

import org.xenpci.core.Hex;
import org.xenpci.core.trace.TraceCategory;
import org.xenpci.core.trace.TraceEvent;

/**
 * Trace events of the ITS hardware model and Xen's ITS layer: {@link TraceCategory#IRQ}, except
 * the per-message {@link Translated} and {@link LpiInjected} ({@link TraceCategory#MSI}, hot).
 */
public final class ItsEvents {
    private ItsEvents() {
    }

    /** A hardware ITS translated a message into physical LPI {@code lpi} on {@code target}. */
    public record Translated(long itsBase, int deviceId, int eventId, int lpi, int target) implements TraceEvent {
        @Override
        public TraceCategory category() {
            return TraceCategory.MSI;
        }

        @Override
        public int domid() {
            return -1;
        }
    }

    /** A message (or INT) the hardware ITS could not translate, and why; nothing was delivered. */
    public record TranslationDropped(long itsBase, int deviceId, int eventId, String reason) implements TraceEvent {
        @Override
        public TraceCategory category() {
            return TraceCategory.IRQ;
        }

        @Override
        public int domid() {
            return -1;
        }

        @Override
        public String toString() {
            return "TranslationDropped[ITS " + Hex.of(itsBase) + " dev " + Hex.of(deviceId) + " event " + eventId + ": "
                    + reason + "]";
        }
    }

    /** A hardware ITS command error: the command was ignored (see {@link ItsHardware}). */
    public record CommandError(long itsBase, int opcode, String reason) implements TraceEvent {
        @Override
        public TraceCategory category() {
            return TraceCategory.FAULT;
        }

        @Override
        public int domid() {
            return -1;
        }
    }

    /** Xen made virtual LPI {@code vlpi} pending on vCPU {@code vcpu} of {@code domid} for host LPI {@code hostLpi}. */
    public record LpiInjected(int domid, int vcpu, int vlpi, int hostLpi) implements TraceEvent {
        @Override
        public TraceCategory category() {
            return TraceCategory.MSI;
        }
    }

    /** Xen received host LPI {@code hostLpi} but had no guest binding for it (unmapped, discarded): dropped. */
    public record LpiDropped(int domid, int hostLpi, String reason) implements TraceEvent {
        @Override
        public TraceCategory category() {
            return TraceCategory.IRQ;
        }
    }

    /** A virtual ITS command a guest issued, with Xen's result (0 or negative errno; ignored on error). */
    public record VitsCommand(int domid, int opcode, int deviceId, int eventId, int rc) implements TraceEvent {
        @Override
        public TraceCategory category() {
            return TraceCategory.IRQ;
        }
    }

    /** A guest MSI that Xen refused to route (address is not the domain's vITS doorbell): left masked. */
    public record MsiRefused(int domid, int guestSbdf, int vector, long address, int data) implements TraceEvent {
        @Override
        public TraceCategory category() {
            return TraceCategory.FAULT;
        }
    }
}
