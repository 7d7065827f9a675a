package org.xenpci.libxl.scenario;

import static org.xenpci.core.pci.PciRegs.*;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.xenpci.armpci.DomctlCalls;
import org.xenpci.armpci.PhysdevCalls;
import org.xenpci.armpci.gicv3.GicV3Its;
import org.xenpci.armpci.hw.DmaResult;
import org.xenpci.armpci.hw.PciFunction;
import org.xenpci.armpci.hw.SignalResult;
import org.xenpci.armpci.its.ItsCommand;
import org.xenpci.armpci.its.ItsRegs;
import org.xenpci.armpci.platform.Platform;
import org.xenpci.core.Domain;
import org.xenpci.core.Profile;
import org.xenpci.core.Vcpu;
import org.xenpci.core.Xen;
import org.xenpci.core.pci.Sbdf;
import org.xenpci.core.trace.Trace;
import org.xenpci.core.trace.TraceCategory;
import org.xenpci.libxl.audit.IsolationAuditor;
import org.xenpci.libxl.audit.UpstreamFinding;
import org.xenpci.libxl.config.PciSpecParser;
import org.xenpci.libxl.host.DefaultPlatform;
import org.xenpci.libxl.host.XenHost;
import org.xenpci.libxl.toolstack.Libxl;
import org.xenpci.libxl.toolstack.LibxlException;

/**
 * A seeded adversarial storm against the default platform: guest "storm" (4 vCPUs, the NVMe and
 * the e1000e) attacks with config accesses of every size, alignment and offset, BAR sizing and
 * relocation to hostile addresses, COMMAND toggles, MSI/MSI-X programming, vITS commands naming
 * foreign devices, raw vITS register writes, accesses to other slots and buses, and hypercalls;
 * its devices signal and DMA; the toolstack detaches, re-attaches, destroys and re-creates it;
 * guest "watch" (the HD audio controller, MSI through its vITS) is the bystander. An
 * {@link IsolationAuditor} in enforce mode checks every invariant after every step, so the first
 * breach throws from the step that caused it (docs/security.md).
 *
 * <p>Single-threaded by design: the auditor attributes each change to one step.
 */
final class IsolationStorm {
    static final Sbdf NVME = Sbdf.of(0, 2, 0);
    static final Sbdf NIC = Sbdf.of(0, 1, 0);
    static final Sbdf HDA = Sbdf.of(0, 4, 0);
    static final long CFG = 0x10000000L;
    static final long MEM = 0x23000000L;
    static final long RAM = 0x40000000L;
    static final long VITS = GicV3Its.GUEST_GICV3_ITS_BASE;
    static final long VITS_DOORBELL = VITS + ItsRegs.GITS_TRANSLATER;
    /** The storm's own command queue and ITTs, far from what the reference guest used. */
    static final long QUEUE = RAM + 0x0800_0000L;
    static final long SCRATCH = RAM + 0x0900_0000L;
    static final int[] INTERESTING = {PCI_COMMAND, PCI_STATUS, PCI_BASE_ADDRESS_0, PCI_BASE_ADDRESS_0 + 4,
        PCI_BASE_ADDRESS_0 + 8, PCI_BASE_ADDRESS_0 + 12, PCI_BASE_ADDRESS_0 + 16, PCI_BASE_ADDRESS_0 + 20, PCI_ROM_ADDRESS,
        PCI_CAPABILITY_LIST, PCI_HEADER_TYPE, PCI_INTERRUPT_LINE, 0x3c, 0x100, 0x104};

    /** What a run did. */
    record Result(long accesses, long steps, long audited, long toolstackOps, long dmaFaults, long dmaLanded,
            long bystanderMsis, List<UpstreamFinding> findings) {
    }

    private final Profile profile;
    private final Random rnd;
    private final XenHost host;
    private final Libxl libxl;
    private final IsolationAuditor auditor;
    private final PciFunction nvme;
    private final PciFunction nic;
    private final PciFunction hda;
    private final int hdaMsi;
    private Domain storm;
    private Domain watch;
    private final List<Integer> msixCaps = new ArrayList<>();
    private long accesses;
    private long steps;
    private long toolstackOps;
    private long dmaFaults;
    private long dmaLanded;
    private long bystanderMsis;

    IsolationStorm(Profile profile, long seed) {
        this.profile = profile;
        this.rnd = new Random(seed);
        Platform p = DefaultPlatform.build();
        // Quiet trace: the storm is about state, and a full trace of 10^7 steps would not fit.
        this.host = XenHost.boot(p, profile, Boolean.getBoolean("xenpci.storm.trace") ? new Trace()
                : new Trace(java.util.EnumSet.of(TraceCategory.DEVICE)));
        this.libxl = new Libxl(host);
        this.nvme = p.function(NVME).orElseThrow();
        this.nic = p.function(NIC).orElseThrow();
        this.hda = p.function(HDA).orElseThrow();
        this.hdaMsi = hda.capability(PCI_CAP_ID_MSI, false).orElseThrow().offset();
        msixCaps.add(nvme.capability(PCI_CAP_ID_MSIX, false).orElseThrow().offset());
        msixCaps.add(nic.capability(PCI_CAP_ID_MSIX, false).orElseThrow().offset());
        this.watch = create("watch", 1, "0000:00:04.0");
        this.storm = createStorm();
        watchSetsUpMsi();
        this.auditor = new IsolationAuditor(host).enforce();
    }

    IsolationAuditor auditor() {
        return auditor;
    }

    XenHost host() {
        return host;
    }

    private Domain create(String name, int vcpus, String... pci) {
        return TestGuests.create(libxl, name, vcpus, pci);
    }

    private Domain createStorm() {
        return TestGuests.createProbed(libxl, "storm", 4, "0000:00:02.0", "0000:00:01.0");
    }

    /** The bystander's driver: MAPD RID 0 (32 events), MAPC 0, event 0 -> LPI 8192 on vCPU 0, MSI on. */
    private void watchSetsUpMsi() {
        vitsCommands(watch, ItsCommand.mapd(0, 5, QUEUE + 0x10000, true), ItsCommand.mapc(0, 0, true),
                ItsCommand.mapti(0, 0, 8192, 0), ItsCommand.sync(0));
        Vcpu v = watch.vcpu(0);
        v.mmioWrite(CFG + PCI_COMMAND, 2, PCI_COMMAND_MASTER);
        v.mmioWrite(CFG + hdaMsi + PCI_MSI_ADDRESS_LO, 4, VITS_DOORBELL);
        v.mmioWrite(CFG + hdaMsi + PCI_MSI_ADDRESS_HI, 4, 0);
        v.mmioWrite(CFG + hdaMsi + PCI_MSI_DATA_64, 2, 0);
        v.mmioWrite(CFG + hdaMsi + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
    }

    /** Issues commands on {@code d}'s vITS from a fresh queue (robust to the storm clobbering its registers). */
    private void vitsCommands(Domain d, ItsCommand... cmds) {
        Vcpu v = d.vcpu(rnd.nextInt(d.vcpus().size()));
        access(v, VITS + ItsRegs.GITS_CTLR, 4, true, 0);
        access(v, VITS + ItsRegs.GITS_CBASER, 8, true, ItsRegs.GITS_CBASER_VALID | QUEUE);
        access(v, VITS + ItsRegs.GITS_CWRITER, 8, true, 0);
        access(v, VITS + ItsRegs.GITS_CTLR, 4, true, ItsRegs.GITS_CTLR_ENABLED);
        long at = 0;
        for (ItsCommand c : cmds) {
            byte[] b = c.toBytes();
            for (int i = 0; i < 4; i++) {
                access(v, QUEUE + at + 8L * i, 8, true, le(b, 8 * i));
            }
            at += ItsRegs.ITS_CMD_SIZE;
        }
        access(v, VITS + ItsRegs.GITS_CWRITER, 8, true, at);
    }

    private static long le(byte[] b, int off) {
        long v = 0;
        for (int i = 7; i >= 0; i--) {
            v = v << 8 | (b[off + i] & 0xff);
        }
        return v;
    }

    private long access(Vcpu v, long gpa, int size, boolean write, long value) {
        accesses++;
        steps++;
        if (write) {
            v.mmioWrite(gpa, size, value);
            v.takeDataAbort();
            return 0;
        }
        long r = v.mmioRead(gpa, size);
        v.takeDataAbort();
        return r;
    }

    /** Runs until at least {@code targetAccesses} guest accesses were made. */
    Result run(long targetAccesses) {
        while (accesses < targetAccesses) {
            step();
        }
        bystanderStillWorks();
        auditor.check("end of storm");
        return new Result(accesses, steps, auditor.steps(), toolstackOps, dmaFaults, dmaLanded, bystanderMsis,
                auditor.upstreamFindings());
    }

    private void step() {
        int k = rnd.nextInt(1000);
        Vcpu v = storm.vcpu(rnd.nextInt(storm.vcpus().size()));
        if (k < 400) {
            configAccess(v);
        } else if (k < 600) {
            int size = 1 << rnd.nextInt(4);
            long off = rnd.nextInt(4) == 0 ? rnd.nextInt(0x100000) : rnd.nextInt(0x60000);
            access(v, MEM + off, size, rnd.nextBoolean(), rnd.nextLong());
        } else if (k < 700) {
            msix(v);
        } else if (k < 780) {
            vitsStorm();
        } else if (k < 830) {
            int size = 1 << rnd.nextInt(4);
            access(v, VITS + rnd.nextInt(0x20000), size, rnd.nextBoolean(), hostile());
        } else if (k < 880) {
            device();
        } else if (k < 920) {
            bystander();
        } else if (k < 970) {
            hypercall(v);
        } else if (k < 995) {
            access(v, RAM + rnd.nextInt(0x40000000) & ~7L, 8, rnd.nextBoolean(), rnd.nextLong());
        } else {
            toolstack();
        }
    }

    /** A hostile value: addresses that matter to someone, all-ones, sizing, random. */
    private long hostile() {
        switch (rnd.nextInt(12)) {
            case 0:
                return 0xffffffffL;
            case 1:
                return CFG + rnd.nextInt(0x10000);
            case 2:
                return VITS_DOORBELL;
            case 3:
                return 0x08080000L + ItsRegs.GITS_TRANSLATER; // the host ITS doorbell
            case 4:
                return RAM + rnd.nextInt(0x40000000);
            case 5:
                return MEM + 0x20000L * rnd.nextInt(8);
            case 6:
                return nvme.barAddress(0) + rnd.nextInt(0x4000); // a machine address
            case 7:
                return 0x40000000L + rnd.nextInt(0x1000000); // dom0's RAM, machine view
            case 8:
                return 0;
            case 9:
                return rnd.nextInt(0x10000);
            default:
                return rnd.nextLong();
        }
    }

    private void configAccess(Vcpu v) {
        int dev = rnd.nextInt(10) < 8 ? rnd.nextInt(2) : rnd.nextInt(32);
        int fn = rnd.nextInt(10) < 9 ? 0 : rnd.nextInt(8);
        int bus = rnd.nextInt(20) == 0 ? 1 + rnd.nextInt(255) : 0;
        int reg;
        int r = rnd.nextInt(10);
        if (r < 5) {
            reg = INTERESTING[rnd.nextInt(INTERESTING.length)];
        } else if (r < 7) {
            int cap = msixCaps.get(rnd.nextInt(msixCaps.size()));
            reg = cap + rnd.nextInt(12);
        } else {
            reg = rnd.nextInt(0x1000);
        }
        int size = 1 << rnd.nextInt(4);
        long at = CFG + ((long) bus << 20) + ((long) ((dev << 3) | fn) << 12) + reg;
        boolean write = rnd.nextInt(10) < 6;
        long value;
        if (reg == PCI_COMMAND) {
            value = rnd.nextInt(4) == 0 ? rnd.nextInt(0x10000) : (rnd.nextBoolean() ? PCI_COMMAND_MEMORY : 0)
                    | (rnd.nextBoolean() ? PCI_COMMAND_MASTER : 0);
        } else {
            value = hostile();
        }
        access(v, at, size, write, value);
    }

    /** MSI-X: control toggles and table entries through the trapped table page (wherever the BAR is). */
    private void msix(Vcpu v) {
        int dev = rnd.nextInt(2);
        PciFunction f = dev == 0 ? nvme : nic;
        int cap = msixCaps.get(dev == 0 ? 0 : 1);
        long cfg = CFG + ((long) (dev << 3) << 12);
        if (rnd.nextInt(4) == 0) {
            int ctl = (rnd.nextBoolean() ? PCI_MSIX_FLAGS_ENABLE : 0) | (rnd.nextInt(3) == 0 ? PCI_MSIX_FLAGS_MASKALL : 0);
            access(v, cfg + cap + PCI_MSIX_FLAGS, 2, true, ctl);
            return;
        }
        int table = f.config().read(cap + PCI_MSIX_TABLE, 4);
        int bir = table & PCI_MSIX_BIR_MASK;
        long barLo = access(v, cfg + PCI_BASE_ADDRESS_0 + 4 * bir, 4, false, 0) & ~0xfL;
        int entries = (f.config().read(cap + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_QSIZE) + 1;
        long entry = barLo + (table & ~PCI_MSIX_BIR_MASK) + 16L * rnd.nextInt(entries);
        switch (rnd.nextInt(4)) {
            case 0:
                access(v, entry, 8, true, rnd.nextBoolean() ? VITS_DOORBELL : hostile());
                break;
            case 1:
                access(v, entry + PCI_MSIX_ENTRY_DATA, 4, true, rnd.nextInt(64));
                break;
            default:
                access(v, entry + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, true, rnd.nextInt(3) == 0 ? 1 : 0);
        }
    }

    private void vitsStorm() {
        int n = 1 + rnd.nextInt(4);
        ItsCommand[] cmds = new ItsCommand[n];
        for (int i = 0; i < n; i++) {
            int devid = switch (rnd.nextInt(6)) {
                case 0 -> 0;
                case 1 -> 8;
                case 2 -> 0x10; // slot 2: nobody's on the storm's bus
                case 3 -> rnd.nextInt(0x10000); // anything, the host DeviceIDs included
                default -> rnd.nextInt(16);
            };
            int event = rnd.nextInt(40);
            cmds[i] = switch (rnd.nextInt(9)) {
                case 0 -> ItsCommand.mapd(devid, 1 + rnd.nextInt(12), QUEUE + 0x10000 + 0x1000L * rnd.nextInt(16),
                        rnd.nextInt(4) != 0);
                case 1 -> ItsCommand.mapti(devid, event, 8192 + rnd.nextInt(256), rnd.nextInt(5));
                case 2 -> ItsCommand.mapc(rnd.nextInt(6), rnd.nextInt(5), rnd.nextBoolean());
                case 3 -> ItsCommand.event(ItsRegs.GITS_CMD_INT, devid, event);
                case 4 -> ItsCommand.event(ItsRegs.GITS_CMD_DISCARD, devid, event);
                case 5 -> ItsCommand.movi(devid, event, rnd.nextInt(5));
                case 6 -> ItsCommand.mapi(devid, event, rnd.nextInt(5));
                case 7 -> new ItsCommand(rnd.nextLong(), rnd.nextLong(), rnd.nextLong(), rnd.nextLong());
                default -> ItsCommand.sync(0);
            };
        }
        vitsCommands(storm, cmds);
    }

    /** The storm's devices act on their own: MSI vectors and DMA at hostile addresses. */
    private void device() {
        PciFunction f = rnd.nextBoolean() ? nvme : nic;
        if (rnd.nextBoolean()) {
            f.signal(rnd.nextInt(8));
            auditor.check("signal by " + (f == nvme ? NVME : NIC));
            for (Vcpu x : storm.vcpus()) {
                for (int lpi : x.pendingInterrupts()) {
                    x.acknowledge(lpi);
                }
            }
            auditor.check("storm acknowledged its LPIs");
            return;
        }
        long addr = hostile();
        DmaResult r = rnd.nextBoolean() ? f.dmaWrite(addr, 8, rnd.nextLong()) : f.dmaRead(addr, 8);
        if (r instanceof DmaResult.Fault) {
            dmaFaults++;
        } else {
            dmaLanded++;
        }
        auditor.check("DMA by " + (f == nvme ? NVME : NIC) + " at " + Long.toHexString(addr));
    }

    /** The bystander keeps working: its MSI lands on its vCPU 0 as LPI 8192 (when its profile routes guest MSIs). */
    private void bystander() {
        if (rnd.nextBoolean()) {
            access(watch.vcpu(0), CFG + rnd.nextInt(0x100) & ~3, 4, false, 0);
            return;
        }
        bystanderStillWorks();
    }

    private void bystanderStillWorks() {
        SignalResult s = hda.signal(0);
        auditor.check("bystander's device signalled");
        if (profile.vpciMsi() && s == SignalResult.SENT) {
            if (!watch.vcpu(0).acknowledge(8192)) {
                throw new AssertionError("the bystander's MSI did not land after " + steps + " steps");
            }
            bystanderMsis++;
            auditor.check("bystander acknowledged");
        } else if (profile.vpciMsi()) {
            throw new AssertionError("the bystander's device could not signal (" + s + ") after " + steps + " steps");
        }
    }

    private void hypercall(Vcpu v) {
        steps++;
        Sbdf target = Sbdf.of(0, rnd.nextInt(32), rnd.nextInt(8));
        switch (rnd.nextInt(5)) {
            case 0 -> PhysdevCalls.pciDeviceAdd(v, SCRATCH, target, rnd.nextInt(8));
            case 1 -> PhysdevCalls.pciDeviceRemove(v, SCRATCH, target);
            case 2 -> PhysdevCalls.pciDeviceReset(v, SCRATCH, target, rnd.nextInt(4));
            case 3 -> DomctlCalls.assignDevice(v, SCRATCH, rnd.nextBoolean() ? storm.domid() : Domain.DOMID_IO, rnd.nextBoolean() ? NIC : target, 0);
            default -> host.xen().hypercall(v, Xen.HYPERVISOR_PHYSDEV_OP, rnd.nextInt(40), SCRATCH + rnd.nextInt(0x100));
        }
    }

    /** The toolstack: detach and re-attach the e1000e, or destroy and re-create the storm guest. */
    private void toolstack() {
        toolstackOps++;
        steps++;
        if (rnd.nextBoolean()) {
            try {
                libxl.pciDetach(storm.domid(), PciSpecParser.parse(NIC.toString()), false);
                libxl.pciAttach(storm.domid(), PciSpecParser.parse(NIC.toString()));
            } catch (LibxlException e) {
                // A detach can fail if the guest crashed itself (e.g. mapped a BAR over its ECAM
                // window): the destroy below then cleans up.
                destroyAndRecreate();
            }
        } else {
            destroyAndRecreate();
        }
    }

    private void destroyAndRecreate() {
        libxl.destroyDomain(storm.domid());
        storm = createStorm();
    }
}
