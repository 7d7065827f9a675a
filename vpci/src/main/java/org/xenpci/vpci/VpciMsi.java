package org.xenpci.vpci;

import static org.xenpci.core.pci.PciRegs.*;

import org.xenpci.armpci.gicv3.PhysicalMsi;

/**
 * MSI capability emulation (xen/drivers/vpci/msi.c), registered when
 * {@code Profile.vpciMsi}: control, address, data and mask are emulated; the pending bits are
 * left unhandled (hwdom reads hardware, a domU reads all-ones).
 *
 * <p>Arm binding ("arch enable"): the physical message is the guest's routed through
 * {@link MsiRouting} (hwdom unchanged; a guest's must target its vITS doorbell and keeps its
 * EventID). The physical address/data and the guest's mask bits are written to hardware and
 * hardware ENABLE is set. A message that cannot be routed leaves hardware MSI disabled while
 * the guest still reads ENABLE set (as x86 leaves an unsupported address unbound yet "enabled"),
 * so the function cannot signal anywhere. Multiple messages: the function replaces the low
 * log2(vectors) data bits, so vector i raises EventID {@code data | i} on the ITS (the guest
 * maps those events on its vITS).
 *
 * <p>State per device lives in {@link VpciDevice#msi}; guarded by the device lock.
 */
public final class VpciMsi implements CapabilityEmulator {

    /** {@code struct vpci_msi}. */
    static final class State {
        int pos;
        long address;
        int data;
        int mask;
        int vectors = 1;
        int maxvec;
        boolean masking;
        boolean address64;
        boolean enabled;
        /** Hardware enable actually set (false while the message is refused). */
        boolean bound;
    }

    @Override
    public int capId() {
        return PCI_CAP_ID_MSI;
    }

    @Override
    public boolean isExtended() {
        return false;
    }

    @Override
    public boolean messagesEnabled(VpciDevice dev) {
        State s = dev.msi;
        return s != null && s.enabled;
    }

    @Override
    public int init(VpciDevice dev) {
        HardwareConfig hw = dev.hardware();
        int pos = VpciCapabilities.findCapability(hw, PCI_CAP_ID_MSI);
        int control = hw.read(pos + PCI_MSI_FLAGS, 2);
        State s = new State();
        s.pos = pos;
        s.address64 = (control & PCI_MSI_FLAGS_64BIT) != 0;
        s.masking = (control & PCI_MSI_FLAGS_MASKBIT) != 0;
        s.maxvec = 1 << ((control & PCI_MSI_FLAGS_QMASK) >> 1);
        if (s.maxvec > 32) {
            return org.xenpci.core.Errno.EINVAL.rc();
        }
        dev.msi = s;
        // vPCI's view starts disabled whatever a previous owner left enabled: so does hardware.
        disable(dev, s);
        VpciRegisters r = dev.registers();
        int rc = r.addRegister((d, reg) -> controlRead(d.msi), (d, reg, v) -> controlWrite(d, v), pos + PCI_MSI_FLAGS, 2);
        if (rc == 0) {
            rc = r.addRegister((d, reg) -> (int) d.msi.address, (d, reg, v) -> addressWrite(d, false, v),
                    pos + PCI_MSI_ADDRESS_LO, 4);
        }
        int dataPos = pos + (s.address64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32);
        if (rc == 0 && s.address64) {
            rc = r.addRegister((d, reg) -> (int) (d.msi.address >>> 32), (d, reg, v) -> addressWrite(d, true, v),
                    pos + PCI_MSI_ADDRESS_HI, 4);
        }
        if (rc == 0) {
            rc = r.addRegister((d, reg) -> d.msi.data, (d, reg, v) -> dataWrite(d, v), dataPos, 2);
        }
        if (rc == 0 && s.masking) {
            rc = r.addRegister((d, reg) -> d.msi.mask, (d, reg, v) -> maskWrite(d, v), dataPos + 4, 4);
        }
        return rc;
    }

    private static int controlRead(State s) {
        return Integer.numberOfTrailingZeros(s.maxvec) << 1 | Integer.numberOfTrailingZeros(s.vectors) << 4
                | (s.enabled ? PCI_MSI_FLAGS_ENABLE : 0) | (s.masking ? PCI_MSI_FLAGS_MASKBIT : 0)
                | (s.address64 ? PCI_MSI_FLAGS_64BIT : 0);
    }

    /** {@code control_write} (msi.c). */
    private static WriteOutcome controlWrite(VpciDevice dev, int val) {
        State s = dev.msi;
        int vectors = Math.min(1 << ((val & PCI_MSI_FLAGS_QSIZE) >> 4), s.maxvec);
        boolean enable = (val & PCI_MSI_FLAGS_ENABLE) != 0;
        if (enable == s.enabled && (vectors == s.vectors || !s.enabled)) {
            s.vectors = vectors;
            return WriteOutcome.NO_EFFECT;
        }
        if (enable) {
            if (s.enabled) {
                disable(dev, s);
            }
            if (!dev.hardwareDomainView() && !s.enabled) {
                dev.header().disableIntx(dev);
            }
            s.vectors = vectors;
            enable(dev, s);
        } else {
            disable(dev, s);
            s.vectors = vectors;
        }
        s.enabled = enable;
        writeControl(dev, s);
        return WriteOutcome.NO_EFFECT;
    }

    /** Hardware control: the emulated QSIZE, ENABLE only while a routable message is programmed. */
    private static void writeControl(VpciDevice dev, State s) {
        HardwareConfig hw = dev.hardware();
        int c = hw.read(s.pos + PCI_MSI_FLAGS, 2) & ~(PCI_MSI_FLAGS_QSIZE | PCI_MSI_FLAGS_ENABLE);
        hw.write(s.pos + PCI_MSI_FLAGS, 2, c | Integer.numberOfTrailingZeros(s.vectors) << 4
                | (s.enabled && s.bound ? PCI_MSI_FLAGS_ENABLE : 0));
    }

    /** Arch enable: program the physical message and the masks. */
    private static void enable(VpciDevice dev, State s) {
        PhysicalMsi p = MsiRouting.physical(dev, 0, s.address, s.data);
        s.bound = p != null;
        if (p == null) {
            return;
        }
        HardwareConfig hw = dev.hardware();
        hw.write(s.pos + PCI_MSI_ADDRESS_LO, 4, (int) p.address());
        if (s.address64) {
            hw.write(s.pos + PCI_MSI_ADDRESS_HI, 4, (int) (p.address() >>> 32));
        }
        int dataPos = s.pos + (s.address64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32);
        hw.write(dataPos, 2, p.data());
        if (s.masking) {
            hw.write(dataPos + 4, 4, s.mask);
        }
    }

    /** Arch disable: hardware ENABLE off. */
    private static void disable(VpciDevice dev, State s) {
        s.bound = false;
        HardwareConfig hw = dev.hardware();
        hw.write(s.pos + PCI_MSI_FLAGS, 2, hw.read(s.pos + PCI_MSI_FLAGS, 2) & ~PCI_MSI_FLAGS_ENABLE);
    }

    /** Address/data changed: rebind if enabled (arch update = disable + enable). */
    private static void refresh(VpciDevice dev, State s) {
        if (s.enabled) {
            disable(dev, s);
            enable(dev, s);
            writeControl(dev, s);
        }
    }

    private static WriteOutcome addressWrite(VpciDevice dev, boolean high, int v) {
        State s = dev.msi;
        s.address = high ? (s.address & 0xffffffffL) | (long) v << 32 : (s.address & ~0xffffffffL) | (v & 0xfffffffcL);
        refresh(dev, s);
        return WriteOutcome.NO_EFFECT;
    }

    private static WriteOutcome dataWrite(VpciDevice dev, int v) {
        State s = dev.msi;
        s.data = v & 0xffff;
        refresh(dev, s);
        return WriteOutcome.NO_EFFECT;
    }

    /** {@code mask_write}: changed bits below {@code vectors} reach hardware while enabled. */
    private static WriteOutcome maskWrite(VpciDevice dev, int v) {
        State s = dev.msi;
        int changed = (s.mask ^ v) & (s.vectors == 32 ? -1 : (1 << s.vectors) - 1);
        s.mask = v;
        if (s.enabled && s.bound && changed != 0) {
            int dataPos = s.pos + (s.address64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32);
            HardwareConfig hw = dev.hardware();
            hw.write(dataPos + 4, 4, (hw.read(dataPos + 4, 4) & ~changed) | (v & changed));
        }
        return WriteOutcome.NO_EFFECT;
    }

    @Override
    public int cleanup(VpciDevice dev, boolean hide) {
        State s = dev.msi;
        if (s == null) {
            return 0;
        }
        // Always through config space (works with decoding off), whatever vPCI believes.
        disable(dev, s);
        s.enabled = false;
        if (hide) {
            int end = s.pos + (s.address64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32) + (s.masking ? 8 : 2);
            dev.registers().removeRegisters(s.pos + PCI_MSI_FLAGS, end - s.pos - PCI_MSI_FLAGS);
            if (dev.hardwareDomainView()) {
                dev.registers().addRegister(VpciHandlers.HW_READ16, null, s.pos + PCI_MSI_FLAGS, 2);
            }
        }
        dev.msi = null;
        return 0;
    }
}
