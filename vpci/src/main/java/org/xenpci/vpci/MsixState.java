package org.xenpci.vpci;

import java.util.List;

/**
 * A read-only snapshot of vPCI's MSI-X emulation of one device ({@code struct vpci_msix}) as
 * Xen holds it, for the toolstack and tests: what the guest programmed (as vPCI stored it, not
 * what the guest remembers) and which entries Xen has bound in the physical table.
 *
 * @param enabled the emulated control's MSI-X Enable, as the guest set it
 * @param functionMasked the emulated control's Function Mask
 * @param entries every table entry, in table order
 */
public record MsixState(boolean enabled, boolean functionMasked, List<Entry> entries) {

    public MsixState {
        entries = List.copyOf(entries);
    }

    /**
     * One MSI-X table entry as vPCI emulates it.
     *
     * @param index the entry number (0-based)
     * @param address the message address the guest wrote (guest-physical, 64-bit)
     * @param data the message data the guest wrote (on Arm with an ITS: the EventID)
     * @param masked the guest's per-vector mask bit
     * @param bound Xen wrote the physical entry with the routed message and unmasked it
     */
    public record Entry(int index, long address, int data, boolean masked, boolean bound) {
    }

    /**
     * The MSI-X state of {@code dev}, or null when vPCI has no MSI-X emulation for it (the
     * profile has no {@code vpciMsi}, or the function has no usable MSI-X capability). Takes the
     * device's monitor, so the snapshot is consistent.
     */
    public static MsixState of(VpciDevice dev) {
        synchronized (dev) {
            VpciMsix.State s = dev.msix;
            if (s == null) {
                return null;
            }
            Entry[] out = new Entry[s.entries];
            for (int i = 0; i < s.entries; i++) {
                out[i] = new Entry(i, s.address(i), s.data(i), s.entryMasked(i), s.bound(i));
            }
            return new MsixState(s.enabled, s.masked, List.of(out));
        }
    }
}
