package org.xenpci.libxl.config;

import java.util.Objects;
import java.util.Optional;
import org.xenpci.core.pci.Sbdf;

/**
 * One parsed {@code PCI_SPEC_STRING}: the fields of libxl's {@code libxl_device_pci}
 * (tools/libs/light/libxl_types.idl) as xl leaves them after
 * {@code xlu_pci_parse_spec_string}, plus which of BDF and name the string gave.
 *
 * <p>Exactly one of {@link #bdfGiven()} and {@link #nameGiven()} is true for a value produced by
 * {@link PciSpecParser}. When only a name was given, the BDF fields are 0 and
 * {@link #vfuncMask()} is 0; libxl resolves the name later.
 *
 * @param func         host function, 0..7 (0 for the {@code *} wildcard)
 * @param dev          host device (slot), 0..0x1f
 * @param bus          host bus, 0..0xff
 * @param domain       host PCI segment, 0..0xffff
 * @param vdevfn       requested guest devfn, {@code vslot << 3}; 0 when no vslot was given
 * @param vfuncMask    1 for an explicit function, {@link #FUNC_ALL} for {@code *}, 0 name-only;
 *                     an unsigned 32-bit value held in an int
 * @param msitranslate QEMU-only flag
 * @param powerMgmt    QEMU-only flag ({@code power_mgmt})
 * @param permissive   pciback permissive flag
 * @param seize        make the device assignable automatically
 * @param rdmPolicy    reserved-device-memory policy
 * @param name         assignable-device name, if a {@code name=} key was given (may be empty)
 * @param bdfGiven     a BDF was given, positionally or with {@code bdf=}
 * @param nameGiven    a {@code name=} key was given
 */
public record PciSpec(int func, int dev, int bus, int domain, int vdevfn, int vfuncMask,
                      boolean msitranslate, boolean powerMgmt, boolean permissive, boolean seize,
                      RdmReservePolicy rdmPolicy, Optional<String> name,
                      boolean bdfGiven, boolean nameGiven) {

    /** {@code LIBXL_PCI_FUNC_ALL}: the vfunc_mask of a {@code *} function, 0xffffffff. */
    public static final int FUNC_ALL = 0xffffffff;

    /**
     * Validates the ranges libxl's field types and the parser guarantee.
     *
     * @throws IllegalArgumentException naming the bad field
     */
    public PciSpec {
        check("func", func, 7);
        check("dev", dev, 0x1f);
        check("bus", bus, 0xff);
        check("domain", domain, 0xffff);
        check("vdevfn", vdevfn, 0xff);
        Objects.requireNonNull(rdmPolicy, "rdmPolicy");
        Objects.requireNonNull(name, "name");
        if (nameGiven != name.isPresent()) {
            throw new IllegalArgumentException("nameGiven must match the presence of name");
        }
    }

    private static void check(String what, int v, int max) {
        if (v < 0 || v > max) {
            throw new IllegalArgumentException("PciSpec " + what + " 0x" + Integer.toHexString(v)
                    + " out of range 0..0x" + Integer.toHexString(max));
        }
    }

    /**
     * Returns the host address as an {@link Sbdf}.
     *
     * @return segment:bus:device.function (function 0 for {@code *}, all zero for name-only)
     */
    public Sbdf sbdf() {
        return new Sbdf(domain, bus, dev, func);
    }

    /**
     * Returns the machine SBDF libxl passes to {@code XEN_DOMCTL_assign_device}
     * ({@code pci_encode_bdf}, tools/libs/light/libxl_pci.c): {@code domain << 16 | bus << 8 | dev << 3 | func}.
     *
     * @return the packed value
     */
    public int machineSbdf() {
        return domain << 16 | bus << 8 | dev << 3 | func;
    }

    /**
     * Tells whether the function was given as {@code *}.
     *
     * @return true if {@link #vfuncMask()} is {@link #FUNC_ALL}
     */
    public boolean allFunctions() {
        return vfuncMask == FUNC_ALL;
    }

    /**
     * Returns the requested guest slot, {@code vdevfn >> 3}.
     *
     * @return 0..0x1f
     */
    public int vslot() {
        return vdevfn >> 3;
    }

    /**
     * Returns the BDF in xl's canonical text form {@code dddd:bb:dd.f} (lower-case hex), as used
     * for xenstore {@code dev-N} entries.
     *
     * @return the text; the function is {@code *} for the wildcard
     */
    public String bdfText() {
        return String.format("%04x:%02x:%02x.%s", domain, bus, dev,
                allFunctions() ? "*" : Integer.toHexString(func));
    }
}
