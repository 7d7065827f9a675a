package org.xenpci.armpci.gicv3;

import org.xenpci.armpci.ArmPci;
import org.xenpci.armpci.hw.ApertureKind;
import org.xenpci.armpci.hw.DeviceCatalog;
import org.xenpci.armpci.hw.HostBridgeHardware;
import org.xenpci.armpci.hw.MsiMap;
import org.xenpci.armpci.hw.PciFunction;
import org.xenpci.armpci.its.ItsCommand;
import org.xenpci.armpci.its.ItsHardware;
import org.xenpci.armpci.its.ItsRegs;
import org.xenpci.armpci.testkit.Trees;
import org.xenpci.core.Domain;
import org.xenpci.core.Hardware;
import org.xenpci.core.PhysicalAddressSpace;
import org.xenpci.core.Profile;
import org.xenpci.core.Xen;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.fdt.FdtNode;
import org.xenpci.core.fdt.FdtProperty;

/** A QEMU-virt-like host with a GICv3 ITS at 0x8080000 (phandle 0x8004), NVMe at 00:01.0, e1000e at 00:02.0. */
final class ItsPlatform {
    static final long ITS = 0x0808_0000L;
    static final int ITS_PHANDLE = 0x8004;
    static final long ECAM = 0x40_1000_0000L;
    static final long RAM = 0x4000_0000L;
    static final long RAM_SIZE = 0x1000_0000L;

    final PciFunction nvme = DeviceCatalog.QEMU_NVME.newFunction();
    final PciFunction nic = DeviceCatalog.E1000E.newFunction();
    final ItsHardware its = new ItsHardware(ITS, 16, 16);
    final Xen xen;

    ItsPlatform(Profile profile) {
        PhysicalAddressSpace space = new PhysicalAddressSpace();
        its.attach(space);
        HostBridgeHardware hb = HostBridgeHardware.builder().ecam(ECAM, 0x1000_0000L)
                .aperture(0x1000_0000L, 0x1000_0000L, 0x2eff_0000L, ApertureKind.MEM32, false)
                .msiMap(MsiMap.single(0, ITS_PHANDLE, 0, 0x10000)).msiController(ITS_PHANDLE, its)
                .slot(1, 0, nvme).slot(2, 0, nic).build();
        hb.attach(space);
        Fdt dt = Fdt.of(FdtNode.root().property(FdtProperty.u32("#address-cells", 2))
                .property(FdtProperty.u32("#size-cells", 2))
                .child(Trees.memory(RAM, RAM_SIZE))
                .child(Trees.gicV3WithIts(ITS, ITS_PHANDLE))
                .child(Trees.msiPcie(ECAM, ITS_PHANDLE))
                .build());
        xen = Xen.builder().hardware(new Hardware(dt, space)).cmdline("pci-passthrough=on").profile(profile)
                .hardwareDomainVcpus(2).extension(new ArmPci()).extension(new GicV3Its()).build();
    }

    ItsLayer layer() {
        return xen.service(ItsLayer.class).orElseThrow();
    }

    /** A guest-side command queue writer: commands at {@code queue} (guest RAM) for the vITS at {@code vits}. */
    static final class Queue {
        private final Domain d;
        private final long vits;
        private final long queue;
        private long writer;

        Queue(Domain d, long vits, long queue) {
            this.d = d;
            this.vits = vits;
            this.queue = queue;
            d.mmioWrite(vits + ItsRegs.GITS_CBASER, 8, ItsRegs.GITS_CBASER_VALID | queue);
            d.mmioWrite(vits + ItsRegs.GITS_CTLR, 4, ItsRegs.GITS_CTLR_ENABLED);
        }

        void send(ItsCommand... cmds) {
            for (ItsCommand c : cmds) {
                d.p2m().copyToGuest(queue + writer, c.toBytes());
                writer = (writer + 32) % 4096;
            }
            d.mmioWrite(vits + ItsRegs.GITS_CWRITER, 8, writer);
        }
    }
}
