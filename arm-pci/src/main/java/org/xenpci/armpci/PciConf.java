package org.xenpci.armpci;

import org.xenpci.core.pci.Sbdf;

/**
 * Xen's host config-space accessors {@code pci_conf_read{8,16,32}} / {@code pci_conf_write{8,16,32}}
 * (xen/arch/arm/pci/pci-access.c): look up the host bridge by (segment, bus), map the address
 * through its ECAM window and perform the access on the physical bus.
 *
 * <p>Semantics reproduced from Xen: no alignment check; a segment/bus no bridge covers reads as
 * {@code PCI_ERR_VALUE} (0 upstream, see {@code Profile.pciErrValueQuirk}) and drops writes; a
 * bus outside the bridge's bus-range reads all-ones (map_bus returned NULL) and drops writes.
 * Values are zero-extended; {@code reg} is a byte offset into the function's config space.
 */
public interface PciConf {
    int read8(Sbdf sbdf, int reg);

    int read16(Sbdf sbdf, int reg);

    int read32(Sbdf sbdf, int reg);

    void write8(Sbdf sbdf, int reg, int value);

    void write16(Sbdf sbdf, int reg, int value);

    void write32(Sbdf sbdf, int reg, int value);

    /** Width-generic read: {@code size} is 1, 2 or 4 bytes. */
    default int read(Sbdf sbdf, int reg, int size) {
        switch (size) {
            case 1:
                return read8(sbdf, reg);
            case 2:
                return read16(sbdf, reg);
            case 4:
                return read32(sbdf, reg);
            default:
                throw new IllegalArgumentException("config access size must be 1, 2 or 4, not " + size);
        }
    }

    /** Width-generic write: {@code size} is 1, 2 or 4 bytes. */
    default void write(Sbdf sbdf, int reg, int size, int value) {
        switch (size) {
            case 1:
                write8(sbdf, reg, value);
                break;
            case 2:
                write16(sbdf, reg, value);
                break;
            case 4:
                write32(sbdf, reg, value);
                break;
            default:
                throw new IllegalArgumentException("config access size must be 1, 2 or 4, not " + size);
        }
    }

    /**
     * Width-generic read keyed by Xen's packed SBDF ({@code seg << 16 | bus << 8 | devfn}), for
     * hot paths that must not allocate (the hardware domain's trapped ECAM reaching devices that
     * have no vPCI state). The default converts; {@code pci_conf} over ECAM overrides it.
     */
    default int readPacked(int sbdf, int reg, int size) {
        return read(Sbdf.fromPacked(sbdf), reg, size);
    }

    /** Width-generic write keyed by Xen's packed SBDF; see {@link #readPacked}. */
    default void writePacked(int sbdf, int reg, int size, int value) {
        write(Sbdf.fromPacked(sbdf), reg, size, value);
    }

    /**
     * These accessors for one function, for a caller that accesses it again and again (vPCI's
     * pass-through registers and gaps, {@code vpci_hw_read*}): every access has the semantics of
     * {@link #read(Sbdf, int, int)} / {@link #write(Sbdf, int, int, int)} on {@code sbdf},
     * including the exceptions for a bad size. The default delegates; {@code pci_conf} over
     * ECAM resolves once what Xen works out per access (the host bridge, its ops, the ECAM
     * address) and binds the address to the device that claims it.
     */
    default FunctionConf forFunction(Sbdf sbdf) {
        java.util.Objects.requireNonNull(sbdf, "sbdf");
        return new FunctionConf() {
            @Override
            public int read(int reg, int size) {
                return PciConf.this.read(sbdf, reg, size);
            }

            @Override
            public void write(int reg, int size, int value) {
                PciConf.this.write(sbdf, reg, size, value);
            }
        };
    }

    /**
     * The config accessors of one function ({@link #forFunction}). Thread-safe, allocation-free
     * per access.
     */
    interface FunctionConf {
        /** {@code pci_conf_read} of {@code size} (1, 2 or 4) bytes at {@code reg}, zero-extended. */
        int read(int reg, int size);

        /** {@code pci_conf_write} of the low {@code size} (1, 2 or 4) bytes of {@code value} at {@code reg}. */
        void write(int reg, int size, int value);
    }
}
