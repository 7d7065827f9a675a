package org.xenpci.core;

/**
 * The behaviour profile a {@link Xen} boots with: an immutable set of named switches, each one
 * a place where xenpci's {@code full} model goes beyond upstream Xen 4.23 (or reproduces one of
 * its quirks in {@code upstream}). docs/profiles.md lists every switch.
 *
 * @param name {@code "upstream"}, {@code "full"} or a custom label
 * @param pciErrValueQuirk config reads of a segment/bus no host bridge covers return 0, as
 *        upstream's inverted {@code GENMASK} in {@code PCI_ERR_VALUE} does; off: all-ones, as
 *        the macro intends
 * @param vpciHardwareDomain trap the hardware domain's ECAM windows through vPCI instead of
 *        mapping them 1:1 ({@code has_vpci(hwdom)}; false upstream on Arm)
 * @param vpciGuest register the guest ECAM handler at GUEST_VPCI_ECAM_BASE and attach vPCI on
 *        assignment ({@code has_vpci(domU)}; false upstream on Arm)
 * @param vpciGuestIdentity a guest reads its device's IDs, class, revision, header type,
 *        subsystem IDs and interrupt pin (read-only), and sees the PCIe capability read-only;
 *        upstream has no handlers there, so they read all-ones
 * @param vpciGuestTopology honour xl's {@code vslot} and pass multi-function devices through as
 *        functions of one virtual slot; upstream: lowest free slot, function 0 only
 * @param vpciMsi emulate MSI and MSI-X capabilities and tables (upstream Arm does not build
 *        msi.c/msix.c)
 * @param guestVits give guests a virtual ITS so passed-through MSIs reach them (upstream: only
 *        the hardware domain has a vITS)
 * @param vpciGuestVirtfn give a domU vPCI for an SR-IOV virtual function: the PF's Vendor ID,
 *        the VF Device ID and BARs carved from the PF's VF BARs (upstream has no VF handling in
 *        vPCI; the model then refuses a VF for a domU with -EOPNOTSUPP); the hardware domain's
 *        vPCI (with {@code vpciHardwareDomain}) takes a VF's BARs from the PF too, so it maps
 *        them and finds the VF's MSI-X table (off: upstream's zero BARs, MSI-X masked)
 */
public record Profile(
        String name,
        boolean pciErrValueQuirk,
        boolean vpciHardwareDomain,
        boolean vpciGuest,
        boolean vpciGuestIdentity,
        boolean vpciGuestTopology,
        boolean vpciMsi,
        boolean guestVits,
        boolean vpciGuestVirtfn) {

    /** Xen 4.23 as it is: Arm vPCI compiled but off, quirks reproduced. */
    public static final Profile UPSTREAM = new Profile("upstream", true, false, false, false, false, false, false, false);

    /** The seed's design completed (default). */
    public static final Profile FULL = new Profile("full", false, true, true, true, true, true, true, true);

    public Profile {
        java.util.Objects.requireNonNull(name, "name");
    }

    /**
     * The preset with this name.
     *
     * @throws IllegalArgumentException for anything but {@code upstream} or {@code full}
     */
    public static Profile named(String name) {
        switch (name) {
            case "upstream":
                return UPSTREAM;
            case "full":
                return FULL;
            default:
                throw new IllegalArgumentException("unknown profile \"" + name + "\": expected upstream or full");
        }
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    /** Builder for custom profiles, starting from a preset. */
    public static final class Builder {
        private String name;
        private boolean pciErrValueQuirk;
        private boolean vpciHardwareDomain;
        private boolean vpciGuest;
        private boolean vpciGuestIdentity;
        private boolean vpciGuestTopology;
        private boolean vpciMsi;
        private boolean guestVits;
        private boolean vpciGuestVirtfn;

        private Builder(Profile p) {
            name = p.name;
            pciErrValueQuirk = p.pciErrValueQuirk;
            vpciHardwareDomain = p.vpciHardwareDomain;
            vpciGuest = p.vpciGuest;
            vpciGuestIdentity = p.vpciGuestIdentity;
            vpciGuestTopology = p.vpciGuestTopology;
            vpciMsi = p.vpciMsi;
            guestVits = p.guestVits;
            vpciGuestVirtfn = p.vpciGuestVirtfn;
        }

        public Builder name(String v) {
            name = v;
            return this;
        }

        public Builder pciErrValueQuirk(boolean v) {
            pciErrValueQuirk = v;
            return this;
        }

        public Builder vpciHardwareDomain(boolean v) {
            vpciHardwareDomain = v;
            return this;
        }

        public Builder vpciGuest(boolean v) {
            vpciGuest = v;
            return this;
        }

        public Builder vpciGuestIdentity(boolean v) {
            vpciGuestIdentity = v;
            return this;
        }

        public Builder vpciGuestTopology(boolean v) {
            vpciGuestTopology = v;
            return this;
        }

        public Builder vpciMsi(boolean v) {
            vpciMsi = v;
            return this;
        }

        public Builder guestVits(boolean v) {
            guestVits = v;
            return this;
        }

        public Builder vpciGuestVirtfn(boolean v) {
            vpciGuestVirtfn = v;
            return this;
        }

        public Profile build() {
            return new Profile(name, pciErrValueQuirk, vpciHardwareDomain, vpciGuest, vpciGuestIdentity,
                    vpciGuestTopology, vpciMsi, guestVits, vpciGuestVirtfn);
        }
    }
}
