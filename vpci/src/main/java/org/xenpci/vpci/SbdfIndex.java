package org.xenpci.vpci;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;

/**
 * Devices by packed SBDF ({@code seg << 16 | bus << 8 | devfn}), found by indexing rather than
 * by scanning the domain's device list: the config-access trap resolves the device of every
 * access here, and its cost must not grow with what else the domain owns (Xen's
 * {@code pci_get_pdev} walks a list; a guest's virtual SBDF lookup in
 * {@code translate_virtual_device} walks the domain's pdev list too).
 *
 * <p>Layout: per segment a 256-entry bus table whose 256-entry devfn leaves are created when a
 * device first lands on that bus; segment 0's table is held directly (a guest has only segment
 * 0), the others in a short array (hosts have a handful). Memory is one leaf (about 1 KiB) per populated bus, not per possible SBDF.
 *
 * <p>Thread-safety: {@link #get} is lock-free and allocation-free (acquire loads only) and
 * may run concurrently with {@link #put} and {@link #remove}, which callers serialise (the
 * owning {@link VpciDomain}'s monitor).
 */
final class SbdfIndex {
    // Plain arrays read with acquire loads, written with release stores: an access follows
    // index -> bus table -> leaf -> device (AtomicReferenceArray would add a wrapper load at each
    // level, and a segment list a search). On the hardware both are plain loads.
    private static final VarHandle BUS = MethodHandles.arrayElementVarHandle(VpciDevice[][].class);
    private static final VarHandle DEVFN = MethodHandles.arrayElementVarHandle(VpciDevice[].class);

    /** One PCI segment other than 0, with its bus table. */
    private record Segment(int id, VpciDevice[][] buses) {
    }

    private static final Segment[] NO_SEGMENTS = new Segment[0];

    /** Segment 0's bus table: every guest SBDF, and the hardware domain's first host bridge. */
    private final VpciDevice[][] segment0 = new VpciDevice[256][];
    /** The other segments (hosts have a handful); copy-on-write. */
    private volatile Segment[] others = NO_SEGMENTS;

    /** The device at {@code sbdf}, or null. Lock-free, allocation-free. */
    VpciDevice get(int sbdf) {
        int seg = sbdf >>> 16;
        VpciDevice[][] buses = seg == 0 ? segment0 : buses(seg);
        if (buses == null) {
            return null;
        }
        VpciDevice[] leaf = (VpciDevice[]) BUS.getAcquire(buses, (sbdf >>> 8) & 0xff);
        return leaf == null ? null : (VpciDevice) DEVFN.getAcquire(leaf, sbdf & 0xff);
    }

    private VpciDevice[][] buses(int seg) {
        for (Segment s : others) {
            if (s.id() == seg) {
                return s.buses();
            }
        }
        return null;
    }

    /** Files {@code dev} under {@code sbdf}, replacing whatever was there. Callers serialise. */
    void put(int sbdf, VpciDevice dev) {
        VpciDevice[][] buses = segment(sbdf >>> 16);
        int bus = (sbdf >>> 8) & 0xff;
        VpciDevice[] leaf = (VpciDevice[]) BUS.getAcquire(buses, bus);
        if (leaf == null) {
            leaf = new VpciDevice[256];
            BUS.setRelease(buses, bus, leaf);
        }
        DEVFN.setRelease(leaf, sbdf & 0xff, dev);
    }

    /** Forgets {@code sbdf} if it still holds {@code dev}. Callers serialise. */
    void remove(int sbdf, VpciDevice dev) {
        int seg = sbdf >>> 16;
        VpciDevice[][] buses = seg == 0 ? segment0 : buses(seg);
        if (buses == null) {
            return;
        }
        VpciDevice[] leaf = (VpciDevice[]) BUS.getAcquire(buses, (sbdf >>> 8) & 0xff);
        if (leaf != null) {
            DEVFN.compareAndSet(leaf, sbdf & 0xff, dev, null);
        }
    }

    /** Forgets {@code dev} wherever it is filed (its key may already be gone). Callers serialise. */
    void removeDevice(VpciDevice dev) {
        removeFrom(segment0, dev);
        for (Segment s : others) {
            removeFrom(s.buses(), dev);
        }
    }

    private static void removeFrom(VpciDevice[][] buses, VpciDevice dev) {
        for (int b = 0; b < 256; b++) {
            VpciDevice[] leaf = (VpciDevice[]) BUS.getAcquire(buses, b);
            if (leaf == null) {
                continue;
            }
            for (int f = 0; f < 256; f++) {
                DEVFN.compareAndSet(leaf, f, dev, null);
            }
        }
    }

    private VpciDevice[][] segment(int id) {
        if (id == 0) {
            return segment0;
        }
        VpciDevice[][] found = buses(id);
        if (found != null) {
            return found;
        }
        Segment[] cur = others;
        Segment s = new Segment(id, new VpciDevice[256][]);
        Segment[] next = Arrays.copyOf(cur, cur.length + 1);
        next[cur.length] = s;
        others = next;
        return s.buses();
    }
}
