package org.xenpci.libxl.boards;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.xenpci.armpci.HostBridge;
import org.xenpci.armpci.HostBridgeDriver;
import org.xenpci.armpci.HostBridgeNode;
import org.xenpci.armpci.ProbeFailure;
import org.xenpci.armpci.hw.HardwareConfigException;
import org.xenpci.armpci.platform.Platform;
import org.xenpci.armpci.platform.PlatformFile;
import org.xenpci.armpci.platform.PlatformFileException;
import org.xenpci.core.BootException;
import org.xenpci.core.Profile;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.fdt.FdtException;
import org.xenpci.core.fdt.FdtNode;
import org.xenpci.core.fdt.FdtProperty;
import org.xenpci.core.fdt.FdtReader;
import org.xenpci.libxl.host.XenHost;

/**
 * Boots a bare board DTB the way {@code xenpci boot --platform} does (a platform file naming the
 * DTB, Xen command line {@code pci-passthrough=on}, no PCI functions listed) and says what Xen
 * made of its PCI host bridges (docs/boards.md): registered, all skipped (and why, per node, in
 * the terms of Xen's {@code dt_pci_init} walk), refused with a typed error, or an untyped error
 * (a model bug).
 *
 * <p>A DTB takes part when it has a PCI host bridge node: a {@code device_type = "pci"} node whose
 * parent is not a PCI node (the DT PCI bus binding's host bridge; {@link HostBridgeNode#scan}), or
 * any node carrying a compatible one of Xen's host bridge drivers claims ({@code dt_pci_init}
 * matches on compatible alone, {@code device_type} is not required).
 *
 * <p>Stateless and thread-safe: every call boots its own host.
 */
public final class BoardClassifier {

    private BoardClassifier() {
    }

    /**
     * Classifies one DTB in one profile. Never throws for any DTB content: whatever escapes the
     * boot becomes {@link BoardResult.Outcome#UNTYPED_ERROR}.
     *
     * @param name how the DTB is named in the result
     * @param dtb the DTB bytes
     * @param profile the profile to boot
     */
    public static BoardResult classify(String name, byte[] dtb, Profile profile) {
        BoardResult r;
        try {
            return classifyOrThrow(name, dtb, profile);
        } catch (BootException e) {
            r = refused(name, profile, e);
        } catch (PlatformFileException e) {
            r = fromPlatformFileException(name, profile, e);
        } catch (FdtException e) {
            r = new BoardResult(name, profile, BoardResult.Outcome.REFUSED, 0, kind(e) + ": " + e.getMessage());
        } catch (RuntimeException | StackOverflowError e) {
            r = untyped(name, profile, e);
        }
        return new BoardResult(r.dtb(), r.profile(), r.outcome(), r.bridges(), r.reason() + hostBridgeNodes(dtb));
    }

    /**
     * For a board that did not boot: " [host bridge nodes: COMPATIBLE (disabled), ...]", the
     * distinct compatibles of its host bridge nodes, so refusals group by the hardware they hit;
     * empty if the blob cannot be read or has none.
     */
    private static String hostBridgeNodes(byte[] dtb) {
        Set<String> nodes = new TreeSet<>(); // sorted: boards with the same hardware read the same
        try {
            for (Candidate c : candidates(FdtReader.read(dtb))) {
                nodes.add(c.compatible + (c.available ? "" : " (disabled)"));
            }
        } catch (RuntimeException e) {
            return ""; // the reason already says why the blob is unusable
        }
        return nodes.isEmpty() ? "" : " [host bridge nodes: " + String.join(", ", nodes) + "]";
    }

    private static BoardResult classifyOrThrow(String name, byte[] dtb, Profile profile) {
        Fdt fdt = FdtReader.read(dtb);
        List<Candidate> candidates = candidates(fdt);
        if (candidates.isEmpty()) {
            return new BoardResult(name, profile, BoardResult.Outcome.NO_HOST_BRIDGE, 0, "");
        }
        // The CLI's own path: the platform file is read, the board built, Xen booted on it.
        Platform platform = Platform.build(new PlatformFile(name, dtb, PlatformFile.DEFAULT_CMDLINE, List.of()));
        XenHost host = XenHost.boot(platform, profile);
        List<HostBridge> bridges = host.pci().hostBridges().all();
        Set<String> registered = new LinkedHashSet<>();
        for (HostBridge b : bridges) {
            registered.add(b.path());
        }
        Optional<ProbeFailure> failure = host.pci().probeFailure();
        Set<String> reasons = new LinkedHashSet<>();
        boolean afterFailure = false;
        for (Candidate c : candidates) {
            if (failure.isPresent() && failure.get().nodePath().equals(c.path)) {
                ProbeFailure f = failure.get();
                reasons.add(c.compatible + ": probe failed with -" + f.errno().name() + " (" + strip(f.reason(), c.path) + ")");
                afterFailure = true;
            } else if (!registered.contains(c.path)) {
                reasons.add(c.compatible + ": " + skipReason(c, afterFailure));
            }
        }
        String reason = String.join("; ", reasons);
        if (!bridges.isEmpty()) {
            return new BoardResult(name, profile, BoardResult.Outcome.REGISTERED, bridges.size(), reason);
        }
        return new BoardResult(name, profile, BoardResult.Outcome.SKIPPED, 0, reason);
    }

    /** Why {@code dt_pci_init} passed over a node that no driver registered. */
    private static String skipReason(Candidate c, boolean afterFailure) {
        if (!c.available) {
            return "disabled (status not \"okay\": device_init returns -ENODEV)";
        }
        if (c.passthrough) {
            return "xen,passthrough (left for a guest: -ENODEV)";
        }
        if (!c.xenDriver) {
            return "no Xen host bridge driver for this compatible (device_init returns -EBADF)";
        }
        if (afterFailure) {
            return "not probed: an earlier host bridge probe failed and dt_pci_init stopped";
        }
        return "not registered";
    }

    /** A host bridge node: its path, first compatible, availability and whether Xen has a driver. */
    private record Candidate(String path, String compatible, boolean available, boolean passthrough, boolean xenDriver) {
    }

    /** Every host bridge node, in DT order (see the class comment). */
    static List<Candidate> candidates(Fdt fdt) {
        Set<String> xenCompatibles = new LinkedHashSet<>();
        for (HostBridgeDriver d : HostBridgeDriver.DEFAULTS) {
            xenCompatibles.addAll(d.compatibles());
        }
        Set<String> pciNodes = new LinkedHashSet<>();
        for (HostBridgeNode n : HostBridgeNode.scan(fdt)) {
            pciNodes.add(n.path());
        }
        List<Candidate> out = new ArrayList<>();
        fdt.forEachNode((path, node) -> {
            List<String> compatible = strings(node, "compatible");
            boolean xen = compatible.stream().anyMatch(xenCompatibles::contains);
            if (!pciNodes.contains(path) && !xen) {
                return;
            }
            String status = strings(node, "status").stream().findFirst().orElse("okay");
            boolean available = !node.hasProperty("status") || status.equals("okay") || status.equals("ok");
            String first = compatible.stream().filter(xenCompatibles::contains).findFirst()
                    .orElse(compatible.isEmpty() ? "(no compatible)" : compatible.get(0));
            out.add(new Candidate(path, first, available, node.hasProperty("xen,passthrough"), xen));
        });
        return out;
    }

    private static List<String> strings(FdtNode node, String property) {
        Optional<FdtProperty> p = node.property(property);
        if (p.isEmpty()) {
            return List.of();
        }
        try {
            return p.get().asStringList();
        } catch (FdtException e) {
            return List.of();
        }
    }

    private static BoardResult fromPlatformFileException(String name, Profile profile, PlatformFileException e) {
        Throwable cause = e.getCause();
        if (cause instanceof BootException b) {
            return refused(name, profile, b);
        }
        if (cause == null || cause instanceof FdtException || cause instanceof HardwareConfigException
                || cause instanceof Platform.PlacementException) {
            return new BoardResult(name, profile, BoardResult.Outcome.REFUSED, 0, kind(e) + ": " + e.getMessage());
        }
        // Platform.build's last-resort wrapping of an IllegalArgumentException from deep inside:
        // a typed wrapper around an untyped error is still an untyped error.
        return untyped(name, profile, cause);
    }

    private static BoardResult refused(String name, Profile profile, BootException e) {
        return new BoardResult(name, profile, BoardResult.Outcome.REFUSED, 0, kind(e) + ": " + e.getMessage());
    }

    private static BoardResult untyped(String name, Profile profile, Throwable e) {
        StackTraceElement[] st = e.getStackTrace();
        String at = st.length == 0 ? "" : " at " + st[0];
        return new BoardResult(name, profile, BoardResult.Outcome.UNTYPED_ERROR, 0, e.getClass().getName() + ": " + e.getMessage() + at);
    }

    /** An exception's kind as a reader finds it in the source: nested classes as Outer.Inner. */
    static String kind(Throwable e) {
        String n = e.getClass().getName();
        return n.substring(n.lastIndexOf('.') + 1).replace('$', '.');
    }

    /** A reason without the node path it starts with (the path is per board; the reason is not). */
    private static String strip(String reason, String path) {
        return reason.startsWith(path + ": ") ? reason.substring(path.length() + 2) : reason;
    }
}
