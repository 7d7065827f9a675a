package org.xenpci.vpci;

import java.lang.invoke.VarHandle;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xenpci.core.Domain;
import org.xenpci.core.Vcpu;
import org.xenpci.core.pci.Sbdf;
import org.xenpci.core.trace.Events;
import org.xenpci.core.trace.TraceCategory;

/**
 * One physical function's vPCI state ({@code pdev->vpci}, struct vpci in xen/include/xen/vpci.h): its register table, header
 * state, guest SBDF, and the way back to its hardware. Created and attached by
 * {@link Vpci#assignDevice}, detached by {@link Vpci#deassignDevice}.
 *
 * <p>Thread-safety: {@link #read} and {@link #write} are synchronized on the device (Xen's
 * {@code vpci->lock}). Writers hold the owner's {@code pciLock} for writing, so the lock order
 * is pcidevs lock, pciLock, device; {@link Vpci}'s read path may hold only the device lock
 * (and checks {@link #attached()} under it, since a detach runs under the same lock). Neither
 * allocates in steady state.
 *
 * <p>Every change to the device's vPCI state is made under its monitor inside a write section
 * ({@link #beginWrite}/{@link #endWrite}: {@link #write}, attach, detach, the deferred BAR map,
 * MSI-X table writes), which keeps a sequence count odd for its duration. That lets
 * {@link Vpci}'s config read run optimistically without the monitor ({@link #readOptimistic},
 * then {@link #validate}), falling back to the locked read if a change overlapped it.
 */
public final class VpciDevice {
    private static final Logger LOG = LoggerFactory.getLogger(VpciDevice.class);

    /** Xen's INVALID guest SBDF. */
    public static final int INVALID_SBDF = 0xFFFFFFFF;

    private final Domain owner;
    private final VpciDeviceSpec spec;
    private final boolean hwdomView;
    private final VpciRegisters registers = new VpciRegisters();
    private final VpciHeader header = new VpciHeader();
    private final CapabilityEmulator[] emulators;
    private volatile int guestSbdf = INVALID_SBDF;
    private volatile boolean attached;
    /** Odd while a write section is open; written under the monitor (see the class comment). */
    private volatile int seq;
    /** Nesting of write sections (an attach that fails detaches inside its own); under the monitor. */
    private int writeDepth;
    /** MSI emulation state ({@code vpci->msi}), or null; guarded by this device's monitor. */
    VpciMsi.State msi;
    /** MSI-X emulation state ({@code vpci->msix}), or null; guarded by this device's monitor. */
    VpciMsix.State msix;

    VpciDevice(Domain owner, VpciDeviceSpec spec, List<CapabilityEmulator> emulators) {
        this(owner, spec, emulators.toArray(new CapabilityEmulator[0]));
    }

    /** @param emulators the capability emulators in init order; shared by every device of one {@link Vpci}, never changed */
    VpciDevice(Domain owner, VpciDeviceSpec spec, CapabilityEmulator[] emulators) {
        this.owner = owner;
        this.spec = spec;
        this.hwdomView = owner.isHardwareDomain() || owner.domid() == Domain.DOMID_XEN;
        this.emulators = emulators;
    }

    public Domain owner() {
        return owner;
    }

    public VpciDeviceSpec spec() {
        return spec;
    }

    public Sbdf machineSbdf() {
        return spec.machine();
    }

    /**
     * True if the function decodes memory now: COMMAND's Memory Space bit, or for a VF view its
     * PF's VF MSE (a VF's own Memory Space bit is hardwired 0, PCIe SR-IOV).
     */
    boolean memoryDecoding() {
        org.xenpci.armpci.VirtfnResources vf = spec.virtfn();
        if (vf == null) {
            return (spec.hardware().read(org.xenpci.core.pci.PciRegs.PCI_COMMAND, 2)
                    & org.xenpci.core.pci.PciRegs.PCI_COMMAND_MEMORY) != 0;
        }
        return (spec.physfn().read(vf.sriovPosition() + org.xenpci.armpci.VirtfnResources.CTRL, 2)
                & org.xenpci.armpci.VirtfnResources.CTRL_MSE) != 0;
    }

    /** The real config space of this function. */
    public HardwareConfig hardware() {
        return spec.hardware();
    }

    /**
     * True if unhandled bytes go to hardware (xen/drivers/vpci/vpci.c: vpci_read_hw): devices of the hardware domain and of
     * dom_xen (hidden devices, reached through hwdom's view).
     */
    public boolean hardwareDomainView() {
        return hwdomView;
    }

    /** The register table. */
    public VpciRegisters registers() {
        return registers;
    }

    public VpciHeader header() {
        return header;
    }

    /** The packed guest SBDF, or {@link #INVALID_SBDF} (hwdom, or not assigned yet). */
    public int guestSbdf() {
        return guestSbdf;
    }

    void guestSbdf(int v) {
        guestSbdf = v;
    }

    /** The guest SBDF as a record, or null if INVALID. */
    public Sbdf guestSbdfRecord() {
        int g = guestSbdf;
        return g == INVALID_SBDF ? null : Sbdf.fromPacked(g);
    }

    /** True between a successful assign and deassign. */
    public boolean attached() {
        return attached;
    }

    void attached(boolean v) {
        attached = v;
    }

    /**
     * {@code vpci_read} step 3-4 for this device: {@code size} bytes (1..4) at {@code reg}.
     *
     * @throws IllegalArgumentException if size is not 1..4 or the access leaves config space
     */
    public synchronized int read(int reg, int size) {
        checkAccess(reg, size);
        return registers.read(this, reg, size);
    }

    /**
     * {@code vpci_write} for this device. A decoding change is handed to {@link VpciMapper}:
     * applied now while booting (or with a null {@code current}), else deferred on
     * {@code current}'s exit path.
     *
     * @param current the trapping vCPU (may be null outside a vCPU context)
     * @return the outcome (for tracing and tests); already acted upon
     * @throws IllegalArgumentException if size is not 1..4 or the access leaves config space
     */
    public synchronized WriteOutcome write(Vcpu current, int reg, int size, int value) {
        checkAccess(reg, size);
        beginWrite();
        try {
            WriteOutcome o = registers.write(this, reg, size, value);
            if (o instanceof WriteOutcome.DecodingChanged dc) {
                VpciMapper.schedule(this, current, dc);
            }
            return o;
        } finally {
            endWrite();
        }
    }

    /** Opens a write section; the caller holds this device's monitor. */
    void beginWrite() {
        if (writeDepth++ == 0) {
            seq = seq + 1;
            // The state changes that follow must not become visible before the odd count.
            VarHandle.storeStoreFence();
        }
    }

    /** Closes {@link #beginWrite}'s section (a volatile store that publishes its changes). */
    void endWrite() {
        if (--writeDepth == 0) {
            seq = seq + 1;
        }
    }

    /**
     * The stamp an optimistic read starts from: even, or -1 if a write section is open (then
     * read under the monitor).
     */
    int readStamp() {
        int s = seq;
        return (s & 1) == 0 ? s : -1;
    }

    /**
     * {@link #read} without the monitor, for {@link Vpci}'s optimistic path: its value counts
     * only if {@link #validate} then accepts the stamp. vPCI read handlers only load state (as
     * Xen's do), so running one against a state a writer is changing has no effect beyond a
     * value that validation discards.
     */
    int readOptimistic(int reg, int size) {
        checkAccess(reg, size);
        return registers.read(this, reg, size);
    }

    /** True if no write section opened since {@code stamp} (from {@link #readStamp}) was taken. */
    boolean validate(int stamp) {
        // Order the loads of the read before the re-read of the count (StampedLock#validate).
        VarHandle.acquireFence();
        return stamp >= 0 && seq == stamp;
    }

    /** True if a capability emulator reports MSI/MSI-X enabled. Allocation-free. */
    boolean interruptMessagesEnabled() {
        for (CapabilityEmulator e : emulators) {
            if (e.messagesEnabled(this)) {
                return true;
            }
        }
        return false;
    }

    void warn(String message) {
        LOG.warn("{}: {}", spec.machine(), message);
        if (owner.xen().trace().enabled(TraceCategory.FAULT)) {
            owner.xen().trace().emit(new Events.Warning(owner.domid(), spec.machine() + ": " + message));
        }
    }

    void traceDroppedWrite(int reg, int size, int data) {
        if (owner.xen().trace().enabled(TraceCategory.FAULT)) {
            owner.xen().trace().emit(new Events.Warning(owner.domid(), spec.machine() + ": dropped guest write of "
                    + size + " bytes at 0x" + Integer.toHexString(reg) + " = 0x" + Integer.toHexString(data)));
        }
    }

    private static void checkAccess(int reg, int size) {
        if (size < 1 || size > 4 || reg < 0 || reg + size > VpciAccess.CONFIG_SIZE) {
            throw new IllegalArgumentException("vPCI access of " + size + " bytes at 0x" + Integer.toHexString(reg));
        }
    }

    @Override
    public String toString() {
        return "vpci " + spec.machine() + " of " + owner;
    }
}
