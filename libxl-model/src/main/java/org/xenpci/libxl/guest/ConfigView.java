package org.xenpci.libxl.guest;

import java.util.ArrayList;
import java.util.List;
import org.xenpci.core.Domain;
import org.xenpci.core.pci.PciRegs;
import org.xenpci.core.pci.Sbdf;

/**
 * A read-only look at every PCI function a domain can see through the host bridge nodes of its
 * own device tree, as {@code lspci -xxxx} inside that domain would print it: config loads
 * only (4 bytes at a time), no writes, no side effects on the model.
 */
public final class ConfigView {
    private ConfigView() {
    }

    /** One function as the domain sees it: its address in the domain's numbering and 4096 bytes. */
    public record Function(Sbdf sbdf, byte[] config) {
        public Function {
            config = config.clone();
        }

        @Override
        public byte[] config() {
            return config.clone();
        }

        /** Little-endian field of the config image. */
        public int read(int reg, int width) {
            int v = 0;
            for (int i = 0; i < width; i++) {
                v |= (config[reg + i] & 0xff) << (8 * i);
            }
            return v;
        }
    }

    /** Scans every bus of every host bridge node in the domain's device tree. */
    public static List<Function> of(Domain domain) {
        List<Function> out = new ArrayList<>();
        int autoDomain = 0;
        for (PciHostNode node : PciHostNode.find(domain.deviceTree())) {
            int segment = node.domain() >= 0 ? node.domain() : autoDomain++;
            // A DesignWare bridge driven directly has its iATU region 0 reprogrammed, as Linux would.
            ConfigPort port = HardwareDomainGuest.port(domain.vcpu(0), node);
            int lastBus = Math.min(node.busEnd(), port.busEnd());
            for (int bus = node.busStart(); bus <= lastBus; bus++) {
                for (int dev = 0; dev < 32; dev++) {
                    int vendor = port.read(bus, dev << 3, PciRegs.PCI_VENDOR_ID, 2);
                    if (vendor == 0xffff || vendor == 0) {
                        continue;
                    }
                    boolean multi = (port.read(bus, dev << 3, PciRegs.PCI_HEADER_TYPE, 1) & PciRegs.PCI_HEADER_TYPE_MFD) != 0;
                    for (int fn = 0; fn < (multi ? 8 : 1); fn++) {
                        int devfn = dev << 3 | fn;
                        if (fn > 0 && port.read(bus, devfn, PciRegs.PCI_VENDOR_ID, 2) == 0xffff) {
                            continue;
                        }
                        byte[] cfg = new byte[PciRegs.PCI_CFG_SPACE_EXP_SIZE];
                        for (int reg = 0; reg < cfg.length; reg += 4) {
                            int v = port.read(bus, devfn, reg, 4);
                            cfg[reg] = (byte) v;
                            cfg[reg + 1] = (byte) (v >> 8);
                            cfg[reg + 2] = (byte) (v >> 16);
                            cfg[reg + 3] = (byte) (v >> 24);
                        }
                        out.add(new Function(Sbdf.ofDevfn(segment, bus, devfn), cfg));
                    }
                }
            }
        }
        return out;
    }
}
