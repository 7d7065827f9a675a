package org.xenpci.vpci;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Devices by packed SBDF ({@code seg << 16 | bus << 8 | devfn}), found by indexing rather than
 * by scanning the domain's device list: the config-access trap resolves the device of every
 * access here, and its cost must not grow with what else the domain owns (Xen's
 * {@code pci_get_pdev} walks a list; a guest's virtual SBDF lookup in
 * {@code translate_virtual_device} walks the domain's pdev list too).
 *
 * <p>Layout: a short array of segments (hosts have a handful; a guest has only segment 0),
 * each with a 256-entry bus table whose 256-entry devfn leaves are created when a device first
 * lands on that bus. Memory is one leaf (about 1 KiB) per populated bus, not per possible SBDF.
 *
 * <p>Thread-safety: {@link #get} is lock-free and allocation-free (volatile loads only) and
 * may run concurrently with {@link #put} and {@link #remove}, which callers serialise (the
 * owning {@link VpciDomain}'s monitor).
 */
final class SbdfIndex {
    /** One PCI segment's bus table. */
    private static final class Segment {
        final int id;
        final AtomicReferenceArray<AtomicReferenceArray<VpciDevice>> buses = new AtomicReferenceArray<>(256);

        Segment(int id) {
            this.id = id;
        }
    }

    private static final Segment[] NO_SEGMENTS = new Segment[0];

    private volatile Segment[] segments = NO_SEGMENTS;

    /** The device at {@code sbdf}, or null. Lock-free, allocation-free. */
    VpciDevice get(int sbdf) {
        int seg = sbdf >>> 16;
        for (Segment s : segments) {
            if (s.id == seg) {
                AtomicReferenceArray<VpciDevice> leaf = s.buses.get((sbdf >>> 8) & 0xff);
                return leaf == null ? null : leaf.get(sbdf & 0xff);
            }
        }
        return null;
    }

    /** Files {@code dev} under {@code sbdf}, replacing whatever was there. Callers serialise. */
    void put(int sbdf, VpciDevice dev) {
        Segment s = segment(sbdf >>> 16);
        int bus = (sbdf >>> 8) & 0xff;
        AtomicReferenceArray<VpciDevice> leaf = s.buses.get(bus);
        if (leaf == null) {
            leaf = new AtomicReferenceArray<>(256);
            s.buses.set(bus, leaf);
        }
        leaf.set(sbdf & 0xff, dev);
    }

    /** Forgets {@code sbdf} if it still holds {@code dev}. Callers serialise. */
    void remove(int sbdf, VpciDevice dev) {
        int seg = sbdf >>> 16;
        for (Segment s : segments) {
            if (s.id == seg) {
                AtomicReferenceArray<VpciDevice> leaf = s.buses.get((sbdf >>> 8) & 0xff);
                if (leaf != null) {
                    leaf.compareAndSet(sbdf & 0xff, dev, null);
                }
                return;
            }
        }
    }

    /** Forgets {@code dev} wherever it is filed (its key may already be gone). Callers serialise. */
    void removeDevice(VpciDevice dev) {
        for (Segment s : segments) {
            for (int b = 0; b < 256; b++) {
                AtomicReferenceArray<VpciDevice> leaf = s.buses.get(b);
                if (leaf == null) {
                    continue;
                }
                for (int f = 0; f < 256; f++) {
                    leaf.compareAndSet(f, dev, null);
                }
            }
        }
    }

    private Segment segment(int id) {
        Segment[] cur = segments;
        for (Segment s : cur) {
            if (s.id == id) {
                return s;
            }
        }
        Segment s = new Segment(id);
        Segment[] next = Arrays.copyOf(cur, cur.length + 1);
        next[cur.length] = s;
        segments = next;
        return s;
    }
}
