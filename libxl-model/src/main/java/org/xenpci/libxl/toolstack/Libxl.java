package org.xenpci.libxl.toolstack;

import static org.xenpci.libxl.config.LibxlError.ERROR_FAIL;
import static org.xenpci.libxl.config.LibxlError.ERROR_INVAL;
import static org.xenpci.libxl.config.LibxlError.ERROR_NOMEM;
import static org.xenpci.libxl.config.LibxlError.ERROR_NOTFOUND;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xenpci.armpci.ArmPciLayer;
import org.xenpci.armpci.Domctl;
import org.xenpci.armpci.DomctlCalls;
import org.xenpci.armpci.smmu.IommuPlacement;
import org.xenpci.core.Domain;
import org.xenpci.core.DomainConfig;
import org.xenpci.core.Errno;
import org.xenpci.core.HypercallResult;
import org.xenpci.core.Vcpu;
import org.xenpci.core.Xen;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.fdt.FdtProperty;
import org.xenpci.core.pci.Sbdf;
import org.xenpci.core.trace.TraceCategory;
import org.xenpci.libxl.config.GicVersion;
import org.xenpci.libxl.config.PassthroughMode;
import org.xenpci.libxl.config.PciSpec;
import org.xenpci.libxl.config.RdmReservePolicy;
import org.xenpci.libxl.config.XlConfig;
import org.xenpci.libxl.dt.GuestDtBuilder;
import org.xenpci.libxl.dt.GuestMemoryMap;
import org.xenpci.libxl.dt.GuestRamLayout;
import org.xenpci.libxl.dt.RngSeedSource;
import org.xenpci.libxl.dt.VpciNodeExtras;
import org.xenpci.libxl.dt.VpciNodeExtrasSource;
import org.xenpci.libxl.guest.EcamPort;
import org.xenpci.libxl.guest.HardwareDomainGuest;
import org.xenpci.libxl.guest.PciHostNode;
import org.xenpci.libxl.guest.ProbedFunction;
import org.xenpci.libxl.host.XenHost;
import org.xenpci.vpci.Vpci;

/**
 * The libxl toolstack model running in dom0 (tools/libs/light/libxl_create.c, libxl_pci.c): builds domains from an {@link XlConfig}, makes PCI functions
 * assignable (pciback + quarantine in DOMID_IO), attaches and detaches them, destroys
 * domains. Every hypercall goes through the hardware domain's vCPU 0 with its arguments laid
 * out in dom0's RAM ({@link DomctlCalls}), as the real toolstack's do through privcmd.
 *
 * <p>State libxl keeps lives where libxl keeps it: a {@link Xenstore} ({@code /libxl/pci/...},
 * the PCI backend/frontend directories) and dom0's sysfs binding ({@link Pciback}). Failures
 * throw {@link LibxlException} with libxl's code and message; the messages are also appended
 * to {@link #log()}.
 *
 * <p>Decisions where upstream has a bug or the model has a gap (docs/cli-toolstack.md):
 * <ul>
 * <li>{@code BB:DD.*}: with {@code Profile.vpciGuestTopology} off ({@code upstream}) only the
 *     highest present function is assigned, as upstream libxl since 2019 (a known regression);
 *     with it on ({@code full}) every present function is assigned, highest first, into the one
 *     virtual slot given by {@code vslot}, and each gets its {@code /libxl/pci/<bdf>/domid}.</li>
 * <li>{@code vslot} reaches vPCI through {@link Vpci#requestVirtualSlot} right before the assign
 *     domctl (Xen's ABI has no field for it).</li>
 * <li>iomem/ioport permission (libxl_pci.c: pci_add_dm_done, xc_domain_iomem_permission) is recorded ({@link #permissions()}), not
 *     issued: the model has no {@code XEN_DOMCTL_iomem_permission} yet.</li>
 * <li>The device reset ({@code libxl__device_pci_reset} in the add and remove flows of libxl_pci.c, before
 *     {@code xc_deassign_device} as in {@code pci_remove_detached}) is carried out by dom0
 *     ({@link Pciback#reset}: {@code pci_reset_function} through dom0's ECAM window, then
 *     xen-pciback's disable sequence) and recorded with its method ({@link #resets()}).
 *     Upstream Linux's pciback has no {@code do_flr}, so libxl takes the sysfs {@code reset}
 *     path; a function without a reset method is logged as libxl logs the missing file.</li>
 * </ul>
 *
 * <p>Thread-safety: every public operation is synchronized on this object, as libxl serialises
 * device operations with its per-domain lock.
 */
public final class Libxl {
    private static final Logger LOG = LoggerFactory.getLogger(Libxl.class);

    private static final String SYSFS_PCI_DEV = "/sys/bus/pci/devices";
    /** Backend / xenstore state values (xen/include/public/io/xenbus.h). */
    private static final int XENBUS_INITIALISING = 1;
    private static final int XENBUS_RECONFIGURING = 7;
    /** Longest assignable-device name libxl accepts. */
    static final int MAX_NAME_LEN = 64;

    private final XenHost host;
    private final Xen xen;
    private final Vcpu vcpu;
    private final long scratch;
    private final Xenstore xs = new Xenstore();
    private final Pciback pciback;
    /** sysfs {@code resource} of each dom0 function: BAR0..5 and the ROM at index 6. */
    private final Map<Sbdf, List<Resource>> resources = new HashMap<>();
    private final Map<Integer, LibxlDomain> domains = new TreeMap<>();
    private final List<LibxlLogEntry> log = new ArrayList<>();
    private final List<PermissionGrant> permissions = new ArrayList<>();
    private final List<FunctionReset> resets = new ArrayList<>();
    private RngSeedSource rngSeed = RngSeedSource.seeded(0);
    private VpciNodeExtrasSource extrasOverride;
    private GuestRamFactory ramFactory = GuestRamFactory.SPARSE;

    /** One line of sysfs {@code resource}: CPU address range of a BAR. */
    record Resource(int index, boolean io, long start, long size) {
    }

    /**
     * A toolstack for a booted host. Reads dom0's view (its enumeration) for sysfs: which
     * functions exist and where their BARs are.
     */
    public Libxl(XenHost host) {
        this.host = Objects.requireNonNull(host, "host");
        this.xen = host.xen();
        this.vcpu = xen.hardwareDomain().vcpu(0);
        // The last page of dom0's first RAM bank holds hypercall arguments (as dom0's enumeration).
        this.scratch = HardwareDomainGuest.scratchPage(vcpu);
        Map<Sbdf, String> drivers = new TreeMap<>();
        HardwareDomainGuest.Enumeration e = host.enumeration();
        Map<Integer, PciHostNode> nodeBySegment = new HashMap<>();
        Map<Integer, EcamPort> configWindows = new HashMap<>();
        int auto = 0;
        for (PciHostNode n : e.hostBridges()) {
            int segment = n.domain() >= 0 ? n.domain() : auto++;
            nodeBySegment.put(segment, n);
            configWindows.put(segment, new EcamPort(vcpu, n.cfgBase(), n.cfgSize(), n.busStart()));
        }
        for (HardwareDomainGuest.Reported r : e.functions()) {
            ProbedFunction f = r.function();
            drivers.put(f.sbdf(), "/sys/bus/pci/drivers/" + (f.isBridge() ? "pcieport" : "dom0"));
            resources.put(f.sbdf(), sysfsResources(f, nodeBySegment.get(f.sbdf().segment())));
        }
        this.pciback = new Pciback(drivers, configWindows);
    }

    /** Sets where guest {@code rng-seed} bytes come from (default {@code RngSeedSource.seeded(0)}). */
    public synchronized Libxl rngSeed(RngSeedSource source) {
        this.rngSeed = Objects.requireNonNull(source, "source");
        return this;
    }

    /**
     * Overrides the {@link VpciNodeExtrasSource} service lookup (tests, embedders); null restores
     * the lookup.
     */
    public synchronized Libxl vpciNodeExtrasSource(VpciNodeExtrasSource source) {
        this.extrasOverride = source;
        return this;
    }

    /**
     * Sets what backs the RAM banks of the domains created from now on (default
     * {@link GuestRamFactory#SPARSE}).
     */
    public synchronized Libxl ramFactory(GuestRamFactory factory) {
        this.ramFactory = Objects.requireNonNull(factory, "factory");
        return this;
    }

    public XenHost host() {
        return host;
    }

    /** The toolstack's xenstore. */
    public Xenstore xenstore() {
        return xs;
    }

    /** Dom0's pciback binding. */
    public Pciback pciback() {
        return pciback;
    }

    /** Every message libxl logged, oldest first. */
    public synchronized List<LibxlLogEntry> log() {
        return List.copyOf(log);
    }

    /** Every iomem/ioport permission change the toolstack recorded, oldest first. */
    public synchronized List<PermissionGrant> permissions() {
        return List.copyOf(permissions);
    }

    /**
     * Every {@code libxl__device_pci_reset}, oldest first: which function, and the method dom0
     * reset it with ({@link ResetMethod#NONE}: it had none and only got pciback's disable).
     */
    public synchronized List<FunctionReset> resets() {
        return List.copyOf(resets);
    }

    /** Domains this toolstack created and has not destroyed, by domid. */
    public synchronized List<LibxlDomain> domains() {
        return List.copyOf(domains.values());
    }

    /** A live domain by domid. */
    public synchronized Optional<LibxlDomain> domain(int domid) {
        return Optional.ofNullable(domains.get(domid));
    }

    /** A live domain by name ({@code libxl_name_to_domid}). */
    public synchronized Optional<LibxlDomain> domainByName(String name) {
        return domains.values().stream().filter(d -> d.name().equals(name)).findFirst();
    }

    // ---------------------------------------------------------------------------------------
    // Domain build (libxl_create.c: libxl__domain_config_setdefault, initiate_domain_create)
    // ---------------------------------------------------------------------------------------

    /**
     * {@code libxl_domain_create_new}: validates the config ({@code libxl__domain_config_setdefault}), creates the domain
     * (CDF_iommu unless passthrough is disabled), gives it its RAM banks (GuestRamLayout,
     * memory from the {@link #ramFactory} at the guest addresses), builds and sets its device tree, then attaches the
     * {@code pci=} devices in config order ({@code libxl__device_pci_add}; DT first, devices after: libxl_arm.c make_vpci_node). A failure
     * after the domain exists destroys it again, as libxl does, and returns its devices.
     *
     * @throws LibxlException ERROR_INVAL for the config checks, ERROR_FAIL/ERROR_NOTFOUND for
     *         device attach failures
     */
    public synchronized LibxlDomain createDomain(XlConfig config) {
        try (ToolstackStep step = new ToolstackStep("xl create " + config.name())) {
            Objects.requireNonNull(config, "config");
            String name = config.name().orElseThrow(() -> fail(ERROR_INVAL, -1, "Domain name must be specified."));
            if (domainByName(name).isPresent()) {
                throw fail(ERROR_INVAL, -1, "Domain with name \"" + name + "\" already exists.");
            }
            PassthroughMode pt = passthroughSetdefault(config);
            int vcpus = config.maxVcpusResolved();
            if (vcpus > GuestMemoryMap.GUEST_MAX_VCPUS) {
                throw fail(ERROR_FAIL, -1, "domain creation fail: max_vcpus " + vcpus + " > GUEST_MAX_VCPUS");
            }
            GuestRamLayout ram;
            try {
                ram = GuestRamLayout.split(config.maxMemkbResolved() * 1024);
            } catch (IllegalArgumentException e) {
                throw fail(ERROR_FAIL, -1, "guest memory: " + e.getMessage());
            }
            Domain d = xen.createDomain(new DomainConfig(name, vcpus, false, false, pt != PassthroughMode.DISABLED));
            LOG.debug("libxl: created {} (passthrough {})", d, pt.libxlName());
            try {
                for (int bank = 0; bank < GuestMemoryMap.GUEST_RAM_BANKS; bank++) {
                    if (ram.bankSize(bank) != 0) {
                        long gpa = GuestMemoryMap.ramBank(bank).start();
                        org.xenpci.core.BackingMemory mem;
                        try {
                            mem = ramFactory.create(d, bank, gpa, ram.bankSize(bank));
                        } catch (RuntimeException e) {
                            throw fail(ERROR_NOMEM, d.domid(), "guest memory bank " + bank + ": " + e.getMessage());
                        }
                        d.p2m().addRam(gpa, mem);
                    }
                }
                Fdt dt = GuestDtBuilder.forConfig(config).hostGicVersion(hostGicVersion()).rngSeed(rngSeed)
                        .vpciExtras(vpciNodeExtrasFromXen(d))
                        // xenpci's one deliberate difference from libxl's DT: every guest.dtb passes dtc
                        // with zero warnings (docs/cli-toolstack.md).
                        .hypervisorUnitAddress(true).build();
                d.deviceTree(dt);
                LibxlDomain ld = new LibxlDomain(config, d, dt);
                domains.put(d.domid(), ld);
                for (PciSpec p : config.pciDevices()) {
                    pciAdd(ld, p, true);
                }
                return ld;
            } catch (RuntimeException e) {
                LOG.debug("libxl: creating {} failed, destroying it: {}", name, e.getMessage());
                destroy(d);
                throw e;
            }
        }
    }

    /**
     * The checks of libxl__domain_config_setdefault and libxl__arch_passthrough_mode_setdefault
     * in libxl's order; returns the resolved mode (Arm: enabled becomes share_pt).
     */
    private PassthroughMode passthroughSetdefault(XlConfig config) {
        boolean needPt = !config.pciDevices().isEmpty();
        PassthroughMode pt = config.passthrough();
        if (pt == PassthroughMode.DEFAULT) {
            pt = needPt ? PassthroughMode.ENABLED : PassthroughMode.DISABLED;
        }
        // physinfo.cap_hvm_directio: an IOMMU driver is active.
        if (pt != PassthroughMode.DISABLED && !xen.iommuEnabled()) {
            throw fail(ERROR_INVAL, -1, "passthrough not supported on this platform");
        }
        if (pt == PassthroughMode.DISABLED && needPt) {
            throw fail(ERROR_INVAL, -1, "passthrough disabled but devices are specified");
        }
        if (pt == PassthroughMode.SYNC_PT) {
            throw fail(ERROR_INVAL, -1, "passthrough=\"sync_pt\" not supported on ARM");
        }
        if (pt == PassthroughMode.ENABLED) {
            pt = PassthroughMode.SHARE_PT;
        }
        // Every non-PV type counts as PoD when maxmem > memory.
        boolean pod = config.maxmemMib().isPresent() && config.memoryMib().isPresent()
                && config.maxmemMib().getAsLong() > config.memoryMib().getAsLong();
        if (pt != PassthroughMode.DISABLED && pod) {
            throw fail(ERROR_INVAL, -1, "IOMMU required for device passthrough but not supported together with PoD");
        }
        return pt;
    }

    /**
     * The hook for the vPCI node's additions: an explicit {@link #vpciNodeExtrasSource}, else a
     * {@link VpciNodeExtrasSource} service published on the booted Xen when the profile gives
     * guests a vITS ({@code guestVits}), else {@link VpciNodeExtras#NONE} (upstream's node).
     */
    private VpciNodeExtras vpciNodeExtrasFromXen(Domain guest) {
        VpciNodeExtrasSource src = extrasOverride;
        if (src == null && xen.profile().guestVits()) {
            src = xen.service(VpciNodeExtrasSource.class).orElse(null);
        }
        return src == null ? VpciNodeExtras.NONE : Objects.requireNonNull(src.extrasFor(guest), "extras");
    }

    /** The host's GIC version, for gic_version = "native": from the host DT's GIC node. */
    private GicVersion hostGicVersion() {
        boolean[] v3 = new boolean[1];
        xen.hardware().deviceTree().forEachNode((path, node) -> node.property("compatible")
                .map(FdtProperty::asStringList).filter(c -> c.contains("arm,gic-v3")).ifPresent(c -> v3[0] = true));
        return v3[0] ? GicVersion.V3 : GicVersion.V2;
    }

    /**
     * {@code libxl_domain_destroy}: detaches every PCI device with force (each goes back to
     * DOMID_IO through XEN_DOMCTL_deassign_device, the quarantine rule of xen/common/domctl.c), removes the
     * domain's xenstore directories, then destroys the domain in Xen.
     *
     * @throws LibxlException ERROR_INVAL if this toolstack has no such domain
     */
    public synchronized void destroyDomain(int domid) {
        try (ToolstackStep step = new ToolstackStep("xl destroy " + domid)) {
            LibxlDomain ld = domains.get(domid);
            if (ld == null) {
                throw fail(ERROR_INVAL, domid, "non-existant domain " + domid);
            }
            destroy(ld.domain());
        }
    }

    private void destroy(Domain d) {
        // libxl__destroy_domid pauses the domain (xc_domain_pause) before it destroys its
        // devices: no vCPU runs while they are taken away. The domctl is not modelled as a
        // hypercall; the pause is Xen's domain_pause, nestable, and stays until the domain is gone.
        if (!d.isDying()) {
            d.pause();
        }
        // libxl__device_pci_destroy_all: every backend entry, force.
        for (PciListEntry e : pciList(d.domid())) {
            PciSpec spec = new PciSpec(e.machine().function(), e.machine().device(), e.machine().bus(),
                    e.machine().segment(), e.vdevfn() & ~7, 1, false, false, false, false, RdmReservePolicy.STRICT,
                    Optional.empty(), true, false);
            pciRemove(d, spec, true);
        }
        xs.rm("/local/domain/" + d.domid());
        xs.rm("/local/domain/0/backend/pci/" + d.domid());
        domains.remove(d.domid());
        if (!d.isDying()) {
            xen.destroyDomain(d);
        }
        ramFactory.release(d);
    }

    // ---------------------------------------------------------------------------------------
    // Assignable devices (libxl_device_pci_assignable_add/remove/list, libxl_pci.c)
    // ---------------------------------------------------------------------------------------

    /**
     * {@code libxl_device_pci_assignable_add}: binds the function to pciback (remembering its
     * driver when {@code rebind}), records its name, then quarantines it
     * ({@code xc_assign_device(DOMID_IO, sbdf, XEN_DOMCTL_DEV_RDM_RELAXED)}), even when it was
     * already bound to pciback.
     *
     * @param name an assignable-device name (at most 64 printable, non-blank characters), or empty
     * @throws LibxlException ERROR_FAIL: bad name, no such sysfs device, quarantine refused by Xen
     */
    public synchronized void pciAssignableAdd(Sbdf sbdf, Optional<String> name, boolean rebind) {
        try (ToolstackStep step = new ToolstackStep("xl pci-assignable-add " + sbdf)) {
            int rc = 0;
            try {
                assignableAdd(sbdf, name, rebind);
            } catch (LibxlException e) {
                rc = e.code();
                throw e;
            } finally {
                event(Domain.DOMID_IO, "pci-assignable-add", sbdf, rc);
            }
        }
    }

    private void assignableAdd(Sbdf sbdf, Optional<String> name, boolean rebind) {
        if (name.isPresent()) {
            String n = name.get();
            if (n.length() > MAX_NAME_LEN) {
                throw fail(ERROR_FAIL, -1, "Name too long");
            }
            for (int i = 0; i < n.length(); i++) {
                char c = n.charAt(i);
                if (c <= 0x20 || c >= 0x7f) { // !isgraph in the C locale
                    throw fail(ERROR_FAIL, -1, "Names may only include printable characters");
                }
            }
        }
        if (!pciback.exists(sbdf)) {
            throw fail(ERROR_FAIL, -1, "Couldn't lstat " + SYSFS_PCI_DEV + "/" + sbdf + ": No such file or directory");
        }
        if (!pciback.isAssigned(sbdf)) {
            Optional<String> old = pciback.driverPath(sbdf);
            if (old.isPresent() && rebind) {
                xs.write(pciPath(sbdf) + "/driver_path", old.get());
            } else if (!rebind) {
                xs.rm(pciPath(sbdf) + "/driver_path");
            }
            pciback.bind(sbdf, Pciback.PCIBACK_DRIVER);
            // pciback's probe (drivers/xen/xen-pciback/pci_stub.c: pcistub_init_device) saves the
            // state, resets the function (FLR, D3, ...), restores it and disables it
            // (xen_pcibk_reset_device): the device enters quarantine not mastering, MSI/MSI-X off.
            pciback.reset(sbdf);
        }
        if (name.isPresent()) {
            xs.write(pciPath(sbdf) + "/name", name.get());
        } else {
            xs.rm(pciPath(sbdf) + "/name");
        }
        HypercallResult r = DomctlCalls.assignDevice(vcpu, scratch, Domain.DOMID_IO, sbdf, Domctl.DEV_RDM_RELAXED);
        if (!r.isOk()) {
            throw fail(ERROR_FAIL, -1, "failed to quarantine " + sbdf + noIommuCause(sbdf, r), r);
        }
        LOG.debug("libxl: {} assignable (quarantined in dom_io)", sbdf);
    }

    /**
     * {@code libxl_device_pci_assignable_remove} for a BDF: de-quarantines
     * ({@code xc_deassign_device(DOMID_IO)}, the device returns to dom0), unbinds it from
     * pciback, rebinds the original driver when {@code rebind} and one was recorded, drops the
     * name.
     *
     * @throws LibxlException ERROR_FAIL when Xen refuses the de-quarantine (e.g. a guest owns it)
     */
    public synchronized void pciAssignableRemove(Sbdf sbdf, boolean rebind) {
        try (ToolstackStep step = new ToolstackStep("xl pci-assignable-remove " + sbdf)) {
            int rc = 0;
            try {
                assignableRemove(sbdf, rebind);
            } catch (LibxlException e) {
                rc = e.code();
                throw e;
            } finally {
                event(Domain.DOMID_IO, "pci-assignable-remove", sbdf, rc);
            }
        }
    }

    /**
     * {@code libxl_device_pci_assignable_remove} for a name ({@code xl pci-assignable-remove NAME}).
     *
     * @throws LibxlException ERROR_NOTFOUND if no assignable device has that name
     */
    public synchronized void pciAssignableRemove(String name, boolean rebind) {
        try (ToolstackStep step = new ToolstackStep("xl pci-assignable-remove " + name)) {
            pciAssignableRemove(name2bdf(name).orElseThrow(() -> fail(ERROR_NOTFOUND, -1, "")), rebind);
        }
    }

    private void assignableRemove(Sbdf sbdf, boolean rebind) {
        HypercallResult r = DomctlCalls.deassignDevice(vcpu, scratch, Domain.DOMID_IO, sbdf);
        if (!r.isOk()) {
            throw fail(ERROR_FAIL, -1, "failed to de-quarantine " + sbdf, r);
        }
        if (pciback.isAssigned(sbdf)) {
            pciback.bind(sbdf, "");
        } else {
            log("warn", -1, "Not bound to pciback");
        }
        Optional<String> driver = xs.read(pciPath(sbdf) + "/driver_path");
        if (driver.isPresent()) {
            if (rebind) {
                log("info", -1, "Rebinding to driver at " + driver.get());
                pciback.bind(sbdf, driver.get());
            }
            xs.rm(pciPath(sbdf) + "/driver_path");
        } else if (rebind) {
            log("warn", -1, "Couldn't find path for original driver; not rebinding");
        }
        xs.rm(pciPath(sbdf) + "/name");
    }

    /**
     * {@code libxl_device_pci_assignable_list}: functions bound to pciback without a
     * {@code /libxl/pci/<bdf>/domid}, in address order, with their names.
     */
    public synchronized List<AssignableDevice> pciAssignableList() {
        List<AssignableDevice> out = new ArrayList<>();
        for (Sbdf s : pciback.assigned()) {
            if (!xs.exists(pciPath(s) + "/domid")) {
                out.add(new AssignableDevice(s, xs.read(pciPath(s) + "/name")));
            }
        }
        return out;
    }

    /**
     * What {@code xl create} needs before it can attach a config's devices: every function a
     * {@code pci=} entry names by BDF (each present function of the slot for {@code *}) that is
     * not yet bound to pciback is made assignable ({@code pci-assignable-add} without a name,
     * rebind on). Name-only entries are left alone: they must already be assignable.
     */
    public synchronized void makeAssignable(XlConfig config) {
        try (ToolstackStep step = new ToolstackStep("make assignable " + config.name())) {
            for (PciSpec p : config.pciDevices()) {
                if (!p.bdfGiven()) {
                    continue;
                }
                List<Sbdf> fns = p.allFunctions() ? presentFunctions(p.sbdf()) : List.of(p.sbdf());
                for (Sbdf s : fns) {
                    if (!pciback.isAssigned(s)) {
                        pciAssignableAdd(s, Optional.empty(), true);
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Attach / detach (libxl__device_pci_add, libxl_device_pci_remove/destroy, libxl_pci.c)
    // ---------------------------------------------------------------------------------------

    /**
     * {@code libxl_device_pci_add} ({@code xl pci-attach}) to a running domain.
     *
     * @throws LibxlException ERROR_INVAL if there is no such domain, else as for creation
     */
    public synchronized void pciAttach(int domid, PciSpec spec) {
        try (ToolstackStep step = new ToolstackStep("xl pci-attach " + domid + " " + spec.sbdf())) {
            LibxlDomain ld = domains.get(domid);
            if (ld == null) {
                throw fail(ERROR_INVAL, domid, "non-existant domain " + domid);
            }
            pciAdd(ld, spec, false);
            ld.appendSavedPci(spec);
        }
    }

    /**
     * {@code libxl_device_pci_remove} ({@code force = false}) / {@code libxl_device_pci_destroy}
     * ({@code force = true}, {@code xl pci-detach -f}).
     *
     * @throws LibxlException ERROR_INVAL "PCI device not attached to this domain", ERROR_FAIL
     *         for a domain without a PCI backend, ERROR_NOTFOUND for an unknown name (force
     *         ignores the first two)
     */
    public synchronized void pciDetach(int domid, PciSpec spec, boolean force) {
        try (ToolstackStep step = new ToolstackStep("xl pci-detach " + domid + " " + spec.sbdf())) {
            LibxlDomain ld = domains.get(domid);
            if (ld == null) {
                throw fail(ERROR_INVAL, domid, "non-existant domain " + domid);
            }
            pciRemove(ld.domain(), spec, force);
        }
    }

    /**
     * {@code libxl_device_pci_list}: the domain's PCI backend entries in index order; empty when
     * the domain has no PCI backend.
     */
    public synchronized List<PciListEntry> pciList(int domid) {
        String be = backendPath(domid);
        int num = xs.read(be + "/num_devs").map(Integer::parseInt).orElse(0);
        List<PciListEntry> out = new ArrayList<>();
        for (int i = 0; i < num; i++) {
            Optional<String> dev = xs.read(be + "/dev-" + i);
            if (dev.isEmpty()) {
                continue;
            }
            int vdevfn = xs.read(be + "/vdevfn-" + i).map(v -> Integer.parseInt(v, 16)).orElse(0);
            out.add(new PciListEntry(vdevfn, Sbdf.parse(dev.get())));
        }
        return out;
    }

    /** The add flow of {@code libxl__device_pci_add} for one {@code pci=} entry. */
    private void pciAdd(LibxlDomain ld, PciSpec spec, boolean starting) {
        int domid = ld.domid();
        // Step 12 removes /libxl/pci/<bdf>/domid for whatever BDF the request holds on failure.
        Sbdf current = spec.sbdf();
        String what = spec.bdfGiven() ? hexBdf(current) : "'" + spec.name().orElse("") + "'";
        try {
            // 1. name -> BDF.
            if (spec.nameGiven() && !spec.bdfGiven()) {
                current = name2bdf(spec.name().get()).orElseThrow(() -> new LibxlException(ERROR_NOTFOUND, ""));
            }
            Sbdf bdf = current;
            // 2. test_assign is HVM only; Arm guests are PVH. 3. setdefault: invalid -> strict.
            RdmReservePolicy rdm = spec.rdmPolicy() == RdmReservePolicy.INVALID ? RdmReservePolicy.STRICT : spec.rdmPolicy();
            // 4. seize.
            if (spec.seize() && !pciback.isAssigned(bdf)) {
                assignableAdd(bdf, Optional.empty(), true);
            }
            // 5. must be assignable.
            if (pciAssignableList().stream().noneMatch(a -> a.sbdf().equals(bdf))) {
                throw fail(ERROR_FAIL, domid, "PCI device " + hexBdf(bdf) + " is not assignable");
            }
            // 6. owner record; 7. reset (dom0: sysfs reset, then pciback's disable).
            xs.write(pciPath(bdf) + "/domid", Integer.toString(domid));
            reset(bdf);
            // 8. functions.
            List<Integer> functions = new ArrayList<>();
            int vslot = spec.vslot();
            if (spec.allFunctions()) {
                if (vslot == 0) {
                    throw fail(ERROR_INVAL, domid, "Must specify a v-slot for multi-function devices");
                }
                int mask = multifunctionCheck(bdf);
                for (int fn = 7; fn >= 0; fn--) {
                    if ((mask & (1 << fn)) != 0) {
                        functions.add(fn);
                        if (!xen.profile().vpciGuestTopology()) {
                            break; // upstream: only the highest present function (commit 11db56f9a6)
                        }
                    }
                }
            } else {
                functions.add(bdf.function());
            }
            for (int fn : functions) {
                current = new Sbdf(bdf.segment(), bdf.bus(), bdf.device(), fn);
                int vdevfn = spec.allFunctions() ? vslot << 3 | fn : spec.vdevfn();
                if (spec.allFunctions() && xen.profile().vpciGuestTopology()) {
                    xs.write(pciPath(current) + "/domid", Integer.toString(domid));
                }
                addDmDone(ld, current, vdevfn, rdm, spec, starting);
            }
            event(domid, "pci-add", bdf, 0);
        } catch (LibxlException e) {
            xs.rm(pciPath(current) + "/domid");
            log("error", domid, "libxl__device_pci_add failed for PCI device " + what + " (rc " + e.code() + ")");
            event(domid, "pci-add", current, e.code());
            throw e;
        }
    }

    /** {@code pci_add_dm_done}: permissions, the assign domctl, the backend entries. */
    private void addDmDone(LibxlDomain ld, Sbdf fn, int vdevfn, RdmReservePolicy rdm, PciSpec spec, boolean starting) {
        int domid = ld.domid();
        List<Resource> res = resources.get(fn);
        if (res == null) {
            throw fail(ERROR_FAIL, domid, "Couldn't open " + SYSFS_PCI_DEV + "/" + fn + "/resource");
        }
        for (Resource r : res) {
            grant(domid, fn, r, true);
        }
        int flag = rdm == RdmReservePolicy.RELAXED ? Domctl.DEV_RDM_RELAXED : 0;
        if (vdevfn >> 3 != 0) {
            xen.service(Vpci.class).ifPresent(v -> v.requestVirtualSlot(ld.domain(), fn, vdevfn >> 3));
        }
        HypercallResult r = DomctlCalls.assignDevice(vcpu, scratch, domid, fn, flag);
        // libxl tolerates ENOSYS for non-HVM guests (Arm guests are PVH).
        if (!r.isOk() && r.errno() != Errno.ENOSYS) {
            throw fail(ERROR_FAIL, domid, "xc_assign_device failed" + noIommuCause(fn, r), r);
        }
        addXenstore(ld, fn, vdevfn, spec, starting);
        LOG.debug("libxl: {} assigned to d{} (vdevfn 0x{})", fn, domid, Integer.toHexString(vdevfn));
    }

    /** {@code libxl__device_pci_add_xenstore}. */
    private void addXenstore(LibxlDomain ld, Sbdf fn, int vdevfn, PciSpec spec, boolean starting) {
        int domid = ld.domid();
        String be = backendPath(domid);
        String fe = frontendPath(domid);
        int num = xs.read(be + "/num_devs").map(Integer::parseInt).orElse(0);
        if (num == 0) {
            // libxl__create_pci_backend
            xs.write(be + "/frontend", fe);
            xs.write(be + "/frontend-id", Integer.toString(domid));
            xs.write(be + "/online", "1");
            xs.write(be + "/state", Integer.toString(XENBUS_INITIALISING));
            xs.write(be + "/domain", ld.name());
            xs.write(fe + "/backend", be);
            xs.write(fe + "/backend-id", "0");
            xs.write(fe + "/state", Integer.toString(XENBUS_INITIALISING));
        } else if (!starting) {
            xs.write(be + "/state", Integer.toString(XENBUS_RECONFIGURING));
        }
        xs.write(be + "/key-" + num, fn.toString());
        xs.write(be + "/dev-" + num, fn.toString());
        if (vdevfn != 0) {
            xs.write(be + "/vdevfn-" + num, Integer.toHexString(vdevfn));
        }
        spec.name().ifPresent(n -> xs.write(be + "/name-" + num, n));
        xs.write(be + "/opts-" + num, "msitranslate=" + (spec.msitranslate() ? 1 : 0) + ",power_mgmt="
                + (spec.powerMgmt() ? 1 : 0) + ",permissive=" + (spec.permissive() ? 1 : 0) + ",rdm_policy="
                + (spec.rdmPolicy() == RdmReservePolicy.INVALID ? "strict" : spec.rdmPolicy().libxlName()));
        xs.write(be + "/state-" + num, Integer.toString(XENBUS_INITIALISING));
        xs.write(be + "/num_devs", Integer.toString(num + 1));
    }

    /** The remove flow of {@code libxl__device_pci_remove_common}. */
    private void pciRemove(Domain d, PciSpec spec, boolean force) {
        int domid = d.domid();
        Sbdf bdf = spec.sbdf();
        if (spec.nameGiven() && !spec.bdfGiven()) {
            bdf = name2bdf(spec.name().get()).orElseThrow(() -> new LibxlException(ERROR_NOTFOUND, ""));
        }
        String op = force ? "pci-destroy" : "pci-remove";
        boolean ok = true;
        LibxlException first = null;
        List<Integer> functions = new ArrayList<>();
        if (spec.allFunctions()) {
            int mask;
            try {
                mask = multifunctionCheck(bdf);
            } catch (LibxlException e) {
                event(domid, op, bdf, e.code());
                throw e;
            }
            for (int fn = 7; fn >= 0; fn--) {
                if ((mask & (1 << fn)) != 0) {
                    functions.add(fn);
                }
            }
        } else {
            functions.add(bdf.function());
        }
        Sbdf last = bdf;
        for (int fn : functions) {
            Sbdf s = new Sbdf(bdf.segment(), bdf.bus(), bdf.device(), fn);
            last = s;
            // Must be in the domain's backend list.
            boolean hasBackend = xs.exists(backendPath(domid) + "/num_devs");
            int index = backendIndex(domid, s);
            if (index < 0) {
                LibxlException e = hasBackend
                        ? fail(ERROR_INVAL, domid, "PCI device not attached to this domain")
                        : new LibxlException(ERROR_FAIL, "");
                if (!force) {
                    event(domid, op, s, e.code());
                    throw e;
                }
                ok = false;
                first = first == null ? e : first;
            }
            List<Resource> res = resources.getOrDefault(s, List.of());
            for (Resource r : res) {
                grant(domid, s, r, false);
            }
            // Reset only when the request's guest vfunc is 0 (a single-function detach always resets).
            int vfunc = spec.allFunctions() ? fn : 0;
            if (vfunc == 0) {
                reset(s); // pci_remove_detached: the reset comes before xc_deassign_device
            }
            HypercallResult r = DomctlCalls.deassignDevice(vcpu, scratch, domid, s);
            if (!r.isOk()) {
                log("error", domid, "xc_deassign_device failed: " + errnoText(r));
                ok = false;
            }
            if (index >= 0) {
                removeXenstore(domid, index);
            }
            if (spec.allFunctions() && xen.profile().vpciGuestTopology() && ok) {
                xs.rm(pciPath(s) + "/domid");
            }
            event(domid, op, s, 0);
        }
        if (ok || force) {
            xs.rm(pciPath(last) + "/domid");
        }
        if (!force && first != null) {
            throw first;
        }
    }

    /** {@code libxl__device_pci_remove_xenstore}: drop entry {@code i}, shift later ones down. */
    private void removeXenstore(int domid, int i) {
        String be = backendPath(domid);
        int num = xs.read(be + "/num_devs").map(Integer::parseInt).orElse(0);
        if (num <= 1) {
            // The last device: the backend and frontend go with it.
            xs.rm(be);
            xs.rm(frontendPath(domid));
            return;
        }
        String[] keys = {"state-", "key-", "dev-", "vdevfn-", "opts-", "name-"};
        for (String k : keys) {
            xs.rm(be + "/" + k + i);
        }
        for (int j = i + 1; j < num; j++) {
            for (String k : keys) {
                Optional<String> v = xs.read(be + "/" + k + j);
                xs.rm(be + "/" + k + j);
                if (v.isPresent()) {
                    xs.write(be + "/" + k + (j - 1), v.get());
                }
            }
        }
        xs.write(be + "/num_devs", Integer.toString(num - 1));
    }

    private int backendIndex(int domid, Sbdf s) {
        String be = backendPath(domid);
        int num = xs.read(be + "/num_devs").map(Integer::parseInt).orElse(0);
        for (int i = 0; i < num; i++) {
            if (xs.read(be + "/dev-" + i).map(v -> v.equals(s.toString())).orElse(false)) {
                return i;
            }
        }
        return -1;
    }

    /**
     * {@code pci_multifunction_check}: the mask of present functions of the slot; every one must
     * be bound to pciback.
     */
    private int multifunctionCheck(Sbdf bdf) {
        int mask = 0;
        for (Sbdf s : presentFunctions(bdf)) {
            if (!pciback.isAssigned(s)) {
                throw fail(ERROR_FAIL, -1, s + " is not assigned to pciback driver");
            }
            mask |= 1 << s.function();
        }
        return mask;
    }

    /** Functions dom0 has in the slot of {@code bdf}, ascending. */
    private List<Sbdf> presentFunctions(Sbdf bdf) {
        List<Sbdf> out = new ArrayList<>();
        for (Sbdf s : pciback.devices()) {
            if (s.segment() == bdf.segment() && s.bus() == bdf.bus() && s.device() == bdf.device()) {
                out.add(s);
            }
        }
        return out;
    }

    /** {@code name2bdf}: scans {@code /libxl/pci/*}/name. */
    private Optional<Sbdf> name2bdf(String name) {
        for (String entry : xs.directory("/libxl/pci")) {
            if (xs.read("/libxl/pci/" + entry + "/name").map(name::equals).orElse(false)) {
                String[] p = entry.split("-");
                return Optional.of(new Sbdf(Integer.parseInt(p[0], 16), Integer.parseInt(p[1], 16),
                        Integer.parseInt(p[2], 16), Integer.parseInt(p[3], 16)));
            }
        }
        return Optional.empty();
    }

    /**
     * {@code libxl__device_pci_reset}: pciback has no {@code do_flr} (upstream Linux), so the
     * sysfs {@code reset} file; when dom0 has no reset method for the function the file is
     * absent and libxl logs it (LOG(ERROR), no domid). A failure is only logged, as upstream.
     */
    private void reset(Sbdf s) {
        ResetMethod m = pciback.reset(s);
        resets.add(new FunctionReset(s, m));
        if (m == ResetMethod.NONE) {
            log("error", -1, "The kernel doesn't support reset from sysfs for PCI device " + s);
        }
    }

    private void grant(int domid, Sbdf fn, Resource r, boolean allow) {
        long first = r.io() ? r.start() : r.start() >>> 12;
        long count = r.io() ? r.size() : (r.size() + 4095) >>> 12;
        permissions.add(new PermissionGrant(domid, r.io(), first, count, allow));
        if (xen.trace().enabled(TraceCategory.DEVICE)) {
            xen.trace().emit(new ToolstackEvents.Permission(domid, fn, r.io(), first, count, allow));
        }
    }

    private void event(int domid, String op, Sbdf sbdf, int rc) {
        if (xen.trace().enabled(TraceCategory.DEVICE)) {
            xen.trace().emit(new ToolstackEvents.DeviceOp(domid, op, sbdf, rc));
        }
    }

    private static List<Resource> sysfsResources(ProbedFunction f, PciHostNode node) {
        List<Resource> out = new ArrayList<>();
        for (ProbedFunction.ProbedBar b : f.bars()) {
            if (b.address() == 0 && !b.type().equals("io")) {
                continue; // unassigned: start 0, skipped by libxl
            }
            boolean io = b.type().equals("io");
            long start = node == null ? b.address() : toCpu(node, b.address(), io);
            if (start != 0) {
                out.add(new Resource(b.type().equals("rom") ? 6 : b.index(), io, start, b.size()));
            }
        }
        return out;
    }

    /** A bus address to the CPU address sysfs reports, through the node's {@code ranges}. */
    private static long toCpu(PciHostNode node, long busAddr, boolean io) {
        for (PciHostNode.Window w : node.windows()) {
            boolean wio = w.space() == PciHostNode.Space.IO;
            if (wio == io && busAddr >= w.pciBase() && busAddr - w.pciBase() < w.size()) {
                return busAddr - w.pciBase() + w.cpuBase();
            }
        }
        return busAddr;
    }

    /** {@code /libxl/pci/DDDD-BB-DD-F}. */
    static String pciPath(Sbdf s) {
        return String.format("/libxl/pci/%04x-%02x-%02x-%01x", s.segment(), s.bus(), s.device(), s.function());
    }

    static String backendPath(int domid) {
        return "/local/domain/0/backend/pci/" + domid + "/0";
    }

    static String frontendPath(int domid) {
        return "/local/domain/" + domid + "/device/pci/0";
    }

    /** libxl's {@code %x:%x:%x.%x} form of a BDF in messages. */
    static String hexBdf(Sbdf s) {
        return Integer.toHexString(s.segment()) + ":" + Integer.toHexString(s.bus()) + ":"
                + Integer.toHexString(s.device()) + "." + Integer.toHexString(s.function());
    }

    /**
     * When Xen refused an assignment because no IOMMU it drives translates the device, the
     * cause and the fix, as ": 0000:01:00.0 is behind no IOMMU that Xen drives (...): ...";
     * otherwise "". Derived from the host DT and Xen's state ({@link IommuPlacement}), only for
     * the two refusals that mean it: -EOPNOTSUPP while Xen has no IOMMU at all (not a domain
     * created without passthrough), -ENODEV with an IOMMU on (the driver has no fwspec for the
     * device), and -EBUSY for a pdev left without owner because its add_device failed. libxl's own message and error code stay as they are.
     */
    private String noIommuCause(Sbdf sbdf, HypercallResult r) {
        boolean noIommu = r.errno() == Errno.EOPNOTSUPP && !xen.iommuEnabled();
        boolean noFwspec = r.errno() == Errno.ENODEV && xen.iommuEnabled();
        // pci_add_device leaves a pdev whose iommu_add_device failed with no owner
        // (pdev->domain = NULL), so device_assigned answers -EBUSY for it.
        boolean dropped = r.errno() == Errno.EBUSY && xen.iommuEnabled() && xen.service(ArmPciLayer.class)
                .flatMap(l -> l.pdevs().find(sbdf)).map(p -> p.owner() == null).orElse(false);
        if (!noIommu && !noFwspec && !dropped) {
            return "";
        }
        IommuPlacement p = IommuPlacement.of(xen, sbdf);
        return p instanceof IommuPlacement.NotBehind ? ": " + p.explanation() : "";
    }

    private static String errnoText(HypercallResult r) {
        Errno e = r.errno();
        return e == null ? "rc " + r.rc() : e.name() + " (" + r.rc() + ")";
    }

    private void log(String level, int domid, String message) {
        log.add(new LibxlLogEntry(level, domid, message));
        if (level.equals("error")) {
            LOG.warn("libxl: {}{}", domid < 0 ? "" : "Domain " + domid + ":", message);
        } else {
            LOG.debug("libxl: {}{}", domid < 0 ? "" : "Domain " + domid + ":", message);
        }
    }

    private LibxlException fail(int code, int domid, String message) {
        log("error", domid, message);
        return new LibxlException(code, message);
    }

    /** A failure after a hypercall: libxl's LOGE/LOGED appends the errno text. */
    private LibxlException fail(int code, int domid, String message, HypercallResult r) {
        log("error", domid, message + ": " + errnoText(r));
        return new LibxlException(code, message, r.errno());
    }
    /**
     * One public toolstack operation: opening and closing it tell Xen's observer (an isolation
     * auditor) that the operation starts and is over, whether it succeeded or threw. If the observer throws while the
     * operation's own exception propagates, that one stays primary and the observer's is
     * suppressed (try-with-resources).
     */
    private final class ToolstackStep implements AutoCloseable {
        private final String what;

        ToolstackStep(String what) {
            this.what = what;
            xen.toolstackStepStarted(what);
        }

        @Override
        public void close() {
            xen.toolstackStepDone(what);
        }
    }
}
