package org.xenpci.core.trace;

import org.xenpci.core.Hex;

/** The trace events core itself emits. Addresses are guest-physical unless named {@code maddr}. */
public final class Events {
    private Events() {
    }

    /** A guest access trapped to an MMIO handler. {@code value} is the written value or the value read. */
    public record MmioTrap(int domid, int vcpu, long gpa, int size, boolean write, long value, String handler)
            implements TraceEvent {
        @Override
        public TraceCategory category() {
            return TraceCategory.TRAP;
        }

        @Override
        public String toString() {
            return "MmioTrap[d" + domid + "v" + vcpu + " " + (write ? "write " : "read ") + Hex.of(gpa) + "/" + size
                    + " = " + Hex.of(value) + " -> " + handler + "]";
        }
    }

    /** A data abort injected into a vCPU: the access reached nothing, or a handler refused it. */
    public record DataAbort(int domid, int vcpu, long gpa, int size, boolean write, String reason)
            implements TraceEvent {
        @Override
        public TraceCategory category() {
            return TraceCategory.FAULT;
        }
    }

    /**
     * A hypercall and what it returned. {@code cmd} is the sub-op: the PHYSDEVOP number for
     * {@code physdev_op}, the {@code XEN_DOMCTL_*} command for {@code domctl} (-1 where the op
     * has none, or the domctl struct could not be read).
     */
    public record Hypercall(int domid, int op, long cmd, long rc) implements TraceEvent {
        @Override
        public TraceCategory category() {
            return TraceCategory.HYPERCALL;
        }
    }

    /** A p2m change. {@code mfn} is -1 for unmaps and for non-MMIO kinds. */
    public record P2mChange(int domid, Kind kind, long gfn, long nr, long mfn) implements TraceEvent {
        /** What changed. */
        public enum Kind { MAP_MMIO, UNMAP_MMIO, ADD_RAM, ADD_TRAP, REMOVE_TRAP }

        @Override
        public TraceCategory category() {
            return TraceCategory.P2M;
        }

        @Override
        public String toString() {
            return "P2mChange[d" + domid + " " + kind + " gfn " + Hex.of(gfn) + " nr " + Hex.of(nr)
                    + (mfn >= 0 ? " mfn " + Hex.of(mfn) : "") + "]";
        }
    }

    /** A physical-bus access that no device claimed (reads returned all-ones, writes vanished). */
    public record BusMiss(long maddr, int size, boolean write) implements TraceEvent {
        @Override
        public TraceCategory category() {
            return TraceCategory.BUS;
        }

        @Override
        public int domid() {
            return -1;
        }
    }

    /** A free-form hypervisor log line that a test may want to see (Xen's printk at WARN level). */
    public record Warning(int domid, String message) implements TraceEvent {
        @Override
        public TraceCategory category() {
            return TraceCategory.FAULT;
        }
    }
}
