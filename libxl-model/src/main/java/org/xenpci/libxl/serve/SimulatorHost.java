package org.xenpci.libxl.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.xenpci.armpci.platform.Platform;
import org.xenpci.armpci.platform.PlatformFile;
import org.xenpci.core.Domain;
import org.xenpci.core.Errno;
import org.xenpci.core.Hex;
import org.xenpci.core.MappedFileMemory;
import org.xenpci.core.P2m;
import org.xenpci.core.Profile;
import org.xenpci.core.Vcpu;
import org.xenpci.core.fdt.FdtWriter;
import org.xenpci.core.trace.Trace;
import org.xenpci.core.trace.TraceCategory;
import org.xenpci.libxl.cli.Reports;
import org.xenpci.libxl.config.LibxlError;
import org.xenpci.libxl.config.XlConfig;
import org.xenpci.libxl.config.XlConfigException;
import org.xenpci.libxl.guest.PciHostNode;
import org.xenpci.libxl.guest.ReferenceGuest;
import org.xenpci.libxl.host.DefaultPlatform;
import org.xenpci.libxl.host.XenHost;
import org.xenpci.libxl.toolstack.Libxl;
import org.xenpci.libxl.toolstack.LibxlDomain;
import org.xenpci.libxl.toolstack.LibxlException;
import org.xenpci.libxl.toolstack.PciListEntry;
import org.xenpci.vpci.VpciDevice;

/**
 * What every connection of one {@code xenpci serve} shares: the platform (one booted Xen with its
 * toolstack), the guests created through the protocol, the shared-RAM files, and the sessions
 * that want interrupt events. Control-plane requests (platform, guests, snapshot) are
 * serialised on this object; the data plane (MMIO, HVC, interrupts) only reads the
 * {@link #guest} map and runs concurrently, as vCPUs trapping at once do.
 */
final class SimulatorHost {
    private static final ObjectMapper M = new ObjectMapper();

    private final SharedRam ram;
    private final Map<Integer, Domain> guests = new ConcurrentHashMap<>();
    private final Map<Integer, ReferenceGuest.Probe> probes = new ConcurrentHashMap<>();
    private final List<Session> listeners = new CopyOnWriteArrayList<>();
    private volatile XenHost host;
    private volatile Libxl libxl;

    SimulatorHost(Path ramDirectory) {
        this.ram = new SharedRam(ramDirectory);
    }

    boolean hasPlatform() {
        return host != null;
    }

    /** A guest domain created through the protocol, or null (destroyed, never created, dom0). */
    Domain guest(int domid) {
        return guests.get(domid);
    }

    XenHost host() {
        XenHost h = host;
        if (h == null) {
            throw new RequestException(Errno.ENODEV, "no platform yet: send PLATFORM_CREATE first");
        }
        return h;
    }

    void addListener(Session s) {
        listeners.add(s);
    }

    void removeListener(Session s) {
        listeners.remove(s);
    }

    /** PLATFORM_CREATE: boots Xen and dom0's enumeration; the boot --json report. */
    synchronized ObjectNode createPlatform(JsonNode req) {
        if (host != null) {
            throw new RequestException(Errno.EEXIST, "the server already has a platform");
        }
        Profile profile = Profile.FULL;
        if (req.hasNonNull("profile")) {
            try {
                profile = Profile.named(req.get("profile").asText());
            } catch (IllegalArgumentException e) {
                throw new RequestException(Errno.EINVAL, e.getMessage());
            }
        }
        Platform platform;
        try {
            platform = req.hasNonNull("platform") ? Platform.build(PlatformFile.load(Path.of(req.get("platform").asText())))
                    : DefaultPlatform.build();
        } catch (RuntimeException e) {
            throw new RequestException(Errno.EINVAL, "platform: " + e.getMessage());
        }
        // No trace categories: a simulator's run is long, and every trap would build an event.
        XenHost h;
        try {
            h = XenHost.boot(platform, profile, new Trace(EnumSet.noneOf(TraceCategory.class)));
        } catch (RuntimeException e) {
            throw new RequestException(Errno.EINVAL, "boot: " + e.getMessage());
        }
        Libxl l = new Libxl(h).ramFactory(ram);
        h.xen().interruptListener(this::interruptPending);
        this.libxl = l;
        this.host = h;
        return Reports.boot(h);
    }

    /** GUEST_CREATE: the guest's reply object (docs/simulator-protocol.md section 4.3). */
    synchronized ObjectNode createGuest(JsonNode req) {
        XenHost h = host();
        JsonNode cfg = req.get("config");
        if (cfg == null || !cfg.isTextual()) {
            throw new RequestException(Errno.EINVAL, "GUEST_CREATE needs \"config\": the xl.cfg text");
        }
        XlConfig config;
        try {
            config = XlConfig.parse(cfg.asText(), "GUEST_CREATE");
        } catch (XlConfigException e) {
            throw new RequestException(Errno.EINVAL, LibxlError.ERROR_INVAL, e.getMessage());
        }
        LibxlDomain d;
        try {
            libxl.makeAssignable(config);
            d = libxl.createDomain(config);
        } catch (LibxlException e) {
            Errno errno = e.hypercallErrno().orElse(e.code() == LibxlError.ERROR_NOMEM ? Errno.ENOMEM : Errno.EINVAL);
            throw new RequestException(errno, e.code(), e.libxlMessage());
        }
        if (req.path("probe").asBoolean(false)) {
            probes.put(d.domid(), new ReferenceGuest(d.domain()).probe());
        }
        guests.put(d.domid(), d.domain());
        return guestJson(h, d);
    }

    /** SCENARIO_LOAD: platform and guests, all or nothing. */
    synchronized ObjectNode loadScenario(JsonNode req) {
        JsonNode list = req.path("guests");
        if (!list.isArray()) {
            throw new RequestException(Errno.EINVAL, "SCENARIO_LOAD needs \"guests\": an array of xl.cfg texts");
        }
        ObjectNode out = M.createObjectNode();
        out.set("boot", createPlatform(req));
        ArrayNode gs = out.putArray("guests");
        try {
            for (JsonNode g : list) {
                ObjectNode one = M.createObjectNode();
                one.set("config", g);
                gs.add(createGuest(one));
            }
        } catch (RuntimeException e) {
            dropPlatform();
            throw e;
        }
        return out;
    }

    /** Back to "no platform": destroys the guests, removes their files. */
    private void dropPlatform() {
        for (Integer domid : new ArrayList<>(guests.keySet())) {
            destroy(domid);
        }
        host.xen().interruptListener(null);
        host = null;
        libxl = null;
    }

    synchronized void destroy(int domid) {
        if (guests.remove(domid) == null) {
            throw new RequestException(Errno.ESRCH, "no guest d" + domid);
        }
        probes.remove(domid);
        libxl.destroyDomain(domid);
    }

    synchronized void pause(int domid) {
        Domain d = requireGuest(domid);
        d.pause();
    }

    synchronized void unpause(int domid) {
        Domain d = requireGuest(domid);
        if (d.isDying() || d.pauseCount() == 0) {
            throw new RequestException(Errno.EINVAL, d + " is not paused");
        }
        d.unpause();
    }

    /** SNAPSHOT: summary.json of the protocol's guests and what is pending on their vCPUs. */
    synchronized ObjectNode snapshot() {
        XenHost h = host();
        List<LibxlDomain> ds = new ArrayList<>();
        for (LibxlDomain d : libxl.domains()) {
            if (guests.containsKey(d.domid())) {
                ds.add(d);
            }
        }
        ObjectNode root = Reports.summary(libxl, ds, probes);
        ObjectNode pending = root.putObject("pending");
        for (LibxlDomain d : ds) {
            for (Vcpu v : d.domain().vcpus()) {
                ArrayNode a = pending.putArray(d.domid() + "." + v.id());
                v.pendingInterrupts().forEach(a::add);
            }
        }
        root.put("profile", h.xen().profile().name());
        return root;
    }

    /** Shutdown: every guest's RAM file goes. */
    synchronized void close() {
        ram.deleteAll();
    }

    Domain requireGuest(int domid) {
        Domain d = guests.get(domid);
        if (d == null) {
            throw new RequestException(Errno.ESRCH, "no guest d" + domid);
        }
        return d;
    }

    private void interruptPending(Vcpu vcpu, int intid) {
        int domid = vcpu.domain().domid();
        if (!guests.containsKey(domid)) {
            return; // dom0's interrupts are the model's own
        }
        for (Session s : listeners) {
            s.queueIrq(domid, vcpu.id(), intid);
        }
    }

    private ObjectNode guestJson(XenHost h, LibxlDomain ld) {
        Domain d = ld.domain();
        ObjectNode o = M.createObjectNode();
        o.put("domid", d.domid());
        o.put("name", d.name());
        o.put("vcpus", d.vcpus().size());
        o.put("profile", h.xen().profile().name());
        ArrayNode banks = o.putArray("ram");
        for (P2m.Entry e : d.p2m().entries()) {
            if (e instanceof P2m.Ram r && r.memory() instanceof MappedFileMemory m) {
                ObjectNode b = banks.addObject();
                b.put("gpa", Hex.of(r.gpa()));
                b.put("size", Hex.of(r.size()));
                b.put("path", m.file().toString());
                b.put("offset", r.memOffset());
            }
        }
        o.put("dtb", Base64.getEncoder().encodeToString(FdtWriter.write(ld.deviceTree())));
        ArrayNode ecam = o.putArray("ecam");
        for (PciHostNode n : PciHostNode.find(ld.deviceTree())) {
            ObjectNode e = ecam.addObject();
            e.put("base", Hex.of(n.cfgBase()));
            e.put("size", Hex.of(n.cfgSize()));
            e.put("busStart", n.busStart());
            e.put("busEnd", n.busEnd());
            window(e, "mem32", n.window(PciHostNode.Space.MEM32, false));
            window(e, "mem64", n.window(PciHostNode.Space.MEM64, true));
        }
        Optional<Long> its = itsBase(ld);
        if (its.isPresent()) {
            o.put("its", Hex.of(its.get()));
        } else {
            o.putNull("its");
        }
        ArrayNode devs = o.putArray("devices");
        for (PciListEntry e : libxl.pciList(d.domid())) {
            ObjectNode dev = devs.addObject();
            dev.put("machineSbdf", e.machine().toString());
            VpciDevice v = h.vpci().device(d, e.machine());
            if (v == null || v.guestSbdfRecord() == null) {
                dev.putNull("guestSbdf");
            } else {
                dev.put("guestSbdf", v.guestSbdfRecord().toString());
            }
        }
        ReferenceGuest.Probe p = probes.get(d.domid());
        if (p != null) {
            ObjectNode po = o.putObject("probe");
            po.put("functions", p.functions().size());
            po.put("configAborts", p.configAborts());
        }
        return o;
    }

    private static void window(ObjectNode e, String key, Optional<PciHostNode.Window> w) {
        if (w.isEmpty()) {
            e.putNull(key);
            return;
        }
        ObjectNode o = e.putObject(key);
        o.put("base", Hex.of(w.get().cpuBase()));
        o.put("size", Hex.of(w.get().size()));
    }

    /** The guest-physical base of the vITS node in the guest DT (compatible arm,gic-v3-its). */
    private static Optional<Long> itsBase(LibxlDomain ld) {
        Map<String, Long> found = new TreeMap<>();
        ld.deviceTree().forEachNode((path, node) -> node.property("compatible")
                .filter(c -> c.asStringList().contains("arm,gic-v3-its"))
                .flatMap(c -> node.property("reg"))
                .ifPresent(reg -> found.put(path, reg.asLong(0, 2))));
        return found.values().stream().findFirst();
    }
}
