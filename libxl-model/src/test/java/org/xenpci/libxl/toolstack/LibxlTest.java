package org.xenpci.libxl.toolstack;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.armpci.ArmPciLayer;
import org.xenpci.core.Domain;
import org.xenpci.core.Errno;
import org.xenpci.core.Profile;
import org.xenpci.core.pci.Sbdf;
import org.xenpci.libxl.config.LibxlError;
import org.xenpci.libxl.config.PciDefaults;
import org.xenpci.libxl.config.PciSpecParser;
import org.xenpci.libxl.config.XlConfig;
import org.xenpci.libxl.guest.ReferenceGuest;
import org.xenpci.libxl.host.DefaultPlatform;
import org.xenpci.libxl.host.XenHost;
import org.xenpci.vpci.Vpci;

@DisplayName("The libxl model assigns, lists, detaches and quarantines PCI devices through dom0's domctls")
class LibxlTest {
    static final Sbdf NVME = Sbdf.parse("0000:00:02.0");
    static final Sbdf IVSHMEM = Sbdf.parse("0000:01:00.0");
    static final Sbdf NIC = Sbdf.parse("0000:00:01.0");
    static final Sbdf HDA = Sbdf.parse("0000:00:04.0");
    static final Sbdf SERIAL = Sbdf.parse("0000:00:04.1");

    static Libxl boot(Profile p) {
        return new Libxl(XenHost.boot(DefaultPlatform.build(), p));
    }

    static XlConfig cfg(String name, String... pci) {
        StringBuilder b = new StringBuilder("name = \"" + name + "\"\nmemory = 1024\nvcpus = 2\n");
        if (pci.length > 0) {
            b.append("pci = [ ");
            for (int i = 0; i < pci.length; i++) {
                b.append(i > 0 ? ", " : "").append('"').append(pci[i]).append('"');
            }
            b.append(" ]\n");
        }
        return XlConfig.parse(b.toString(), name + ".cfg");
    }

    static Domain owner(Libxl l, Sbdf s) {
        return l.host().xen().service(ArmPciLayer.class).orElseThrow().findPdev(s).orElseThrow().owner();
    }

    /** Xenstore nodes below {@code path} that hold a value (parents created on the way are empty). */
    static java.util.Map<String, String> values(Libxl l, String path) {
        java.util.Map<String, String> out = new java.util.TreeMap<>();
        l.xenstore().dump(path).forEach((k, v) -> {
            if (!v.isEmpty()) {
                out.put(k, v);
            }
        });
        return out;
    }

    static LibxlException thrown(Runnable r) {
        try {
            r.run();
        } catch (LibxlException e) {
            return e;
        }
        throw new AssertionError("no LibxlException");
    }

    @Test
    @DisplayName("pci-assignable-add quarantines in dom_io, lists the device with its name, and remove returns it to dom0")
    void assignableAddAndRemove() {
        Libxl l = boot(Profile.FULL);
        assertThat(l.pciAssignableList()).isEmpty();

        l.pciAssignableAdd(NVME, Optional.of("disk"), true);

        assertThat(owner(l, NVME)).isSameAs(l.host().xen().domIo());
        assertThat(l.pciback().isAssigned(NVME)).isTrue();
        assertThat(l.xenstore().read("/libxl/pci/0000-00-02-0/name")).hasValue("disk");
        assertThat(l.xenstore().read("/libxl/pci/0000-00-02-0/driver_path")).hasValue("/sys/bus/pci/drivers/dom0");
        assertThat(l.pciAssignableList()).extracting(a -> a.xlLine(true)).containsExactly("0000:00:02.0 disk");
        assertThat(l.pciAssignableList()).extracting(a -> a.xlLine(false)).containsExactly("0000:00:02.0 ");

        l.pciAssignableRemove("disk", true);

        assertThat(owner(l, NVME)).isSameAs(l.host().xen().hardwareDomain());
        assertThat(l.pciback().driverPath(NVME)).hasValue("/sys/bus/pci/drivers/dom0");
        assertThat(values(l, "/libxl")).isEmpty();
        assertThat(l.pciAssignableList()).isEmpty();
        assertThat(l.log()).extracting(LibxlLogEntry::message).contains("Rebinding to driver at /sys/bus/pci/drivers/dom0");
    }

    @Test
    @DisplayName("full profile: created guest owns both devices, writes the 7.3 xenstore entries, vPCI gives 00:00.0 and 00:01.0")
    void createAssignsDevices() {
        Libxl l = boot(Profile.FULL);
        XlConfig c = cfg("g1", "0000:00:02.0", "0000:00:01.0");
        l.makeAssignable(c);
        LibxlDomain g = l.createDomain(c);

        assertThat(g.domid()).isEqualTo(1);
        assertThat(owner(l, NVME)).isSameAs(g.domain());
        assertThat(owner(l, NIC)).isSameAs(g.domain());
        assertThat(l.pciAssignableList()).isEmpty();
        String be = "/local/domain/0/backend/pci/1/0";
        assertThat(l.xenstore().dump(be)).containsEntry(be + "/num_devs", "2").containsEntry(be + "/dev-0", "0000:00:02.0")
                .containsEntry(be + "/key-1", "0000:00:01.0").containsEntry(be + "/state", "1")
                .containsEntry(be + "/domain", "g1").containsEntry(be + "/frontend", "/local/domain/1/device/pci/0")
                .containsEntry(be + "/opts-0", "msitranslate=0,power_mgmt=0,permissive=0,rdm_policy=strict")
                .doesNotContainKey(be + "/vdevfn-0");
        assertThat(l.xenstore().read("/local/domain/1/device/pci/0/backend-id")).hasValue("0");
        assertThat(l.xenstore().read("/libxl/pci/0000-00-02-0/domid")).hasValue("1");
        assertThat(l.pciList(1)).extracting(PciListEntry::xlLine).containsExactly("00.0 0000:00:02.0", "00.0 0000:00:01.0");
        Vpci vpci = l.host().vpci();
        assertThat(vpci.device(g.domain(), NVME).guestSbdfRecord()).isEqualTo(Sbdf.parse("0000:00:00.0"));
        assertThat(vpci.device(g.domain(), NIC).guestSbdfRecord()).isEqualTo(Sbdf.parse("0000:00:01.0"));
        // Permissions recorded for every assigned resource: NVMe BAR0 (16 KiB = 4 frames).
        assertThat(l.permissions()).filteredOn(p -> !p.io() && p.count() == 4).isNotEmpty();
    }

    @Test
    @DisplayName("destroying the guest detaches with force: devices back in dom_io, still assignable, xenstore cleaned")
    void destroyReturnsToQuarantine() {
        Libxl l = boot(Profile.FULL);
        XlConfig c = cfg("g1", "0000:00:02.0", "0000:01:00.0");
        l.makeAssignable(c);
        LibxlDomain g = l.createDomain(c);
        new ReferenceGuest(g.domain()).probe();

        l.destroyDomain(g.domid());

        assertThat(owner(l, NVME)).isSameAs(l.host().xen().domIo());
        assertThat(owner(l, IVSHMEM)).isSameAs(l.host().xen().domIo());
        assertThat(l.pciAssignableList()).extracting(a -> a.sbdf()).containsExactly(NVME, IVSHMEM);
        assertThat(values(l, "/local")).isEmpty();
        assertThat(l.domains()).isEmpty();
        assertThat(l.host().xen().domain(1)).isEmpty();
        assertThat(g.domain().state()).isEqualTo(Domain.State.DEAD);
    }

    @Test
    @DisplayName("a device that is not assignable fails the add with ERROR_FAIL and the creation is undone")
    void notAssignable() {
        Libxl l = boot(Profile.FULL);
        LibxlException e = thrown(() -> l.createDomain(cfg("g1", "0000:00:02.0")));

        assertThat(e.code()).isEqualTo(LibxlError.ERROR_FAIL);
        assertThat(e.libxlMessage()).isEqualTo("PCI device 0:0:2.0 is not assignable");
        assertThat(l.log()).extracting(LibxlLogEntry::message).containsSubsequence(
                "PCI device 0:0:2.0 is not assignable", "libxl__device_pci_add failed for PCI device 0:0:2.0 (rc -3)");
        assertThat(l.domains()).isEmpty();
        assertThat(l.host().xen().domains()).hasSize(1);
        assertThat(l.xenstore().dump("/")).isEmpty();
    }

    static PciSpecHelper spec = new PciSpecHelper();

    /** Parses a PCI_SPEC_STRING with Arm's defaults. */
    static final class PciSpecHelper {
        org.xenpci.libxl.config.PciSpec of(String text) {
            return PciSpecParser.parse(text, PciDefaults.ARM);
        }
    }

    static XlConfig cfgText(String text) {
        return XlConfig.parse(text, "t.cfg");
    }

    @Test
    @DisplayName("libxl__domain_config_setdefault checks: passthrough disabled with pci=, sync_pt and PoD each fail with ERROR_INVAL before any domain exists")
    void domainLevelChecks() {
        Libxl l = boot(Profile.FULL);
        LibxlException disabled = thrown(() -> l.createDomain(cfgText(
                "name=\"g\"\nmemory=64\npassthrough=\"disabled\"\npci=[\"0000:00:02.0\"]\n")));
        assertThat(disabled.code()).isEqualTo(LibxlError.ERROR_INVAL);
        assertThat(disabled.libxlMessage()).isEqualTo("passthrough disabled but devices are specified");

        LibxlException sync = thrown(() -> l.createDomain(cfgText(
                "name=\"g\"\nmemory=64\npassthrough=\"sync_pt\"\npci=[\"0000:00:02.0\"]\n")));
        assertThat(sync.code()).isEqualTo(LibxlError.ERROR_INVAL);
        assertThat(sync.libxlMessage()).isEqualTo("passthrough=\"sync_pt\" not supported on ARM");

        LibxlException pod = thrown(() -> l.createDomain(cfgText(
                "name=\"g\"\nmemory=64\nmaxmem=128\npci=[\"0000:00:02.0\"]\n")));
        assertThat(pod.code()).isEqualTo(LibxlError.ERROR_INVAL);
        assertThat(pod.libxlMessage()).isEqualTo("IOMMU required for device passthrough but not supported together with PoD");

        assertThat(l.host().xen().domains()).hasSize(1);
    }

    @Test
    @DisplayName("without an IOMMU (iommu=off) a pci= config fails with ERROR_INVAL \"passthrough not supported on this platform\"")
    void noIommu() {
        Libxl l = new Libxl(XenHost.boot(DefaultPlatform.build("pci-passthrough=on iommu=off"), Profile.FULL));
        assertThat(l.host().xen().iommuEnabled()).isFalse();

        LibxlException e = thrown(() -> l.createDomain(cfg("g", "0000:00:02.0")));

        assertThat(e.code()).isEqualTo(LibxlError.ERROR_INVAL);
        assertThat(e.libxlMessage()).isEqualTo("passthrough not supported on this platform");
        // Without pci= the same host builds the guest, with no vPCI node and no CDF_iommu.
        LibxlDomain g = l.createDomain(cfg("plain"));
        assertThat(g.domain().iommuEnabled()).isFalse();
        assertThat(g.deviceTree().node("/pcie@10000000")).isEmpty();
        assertThat(g.domain().p2m().entries()).hasSize(1);
    }

    @Test
    @DisplayName("assignable-add errors: unknown device, bad names, and a guest-owned device Xen refuses to quarantine (-EBUSY)")
    void assignableAddErrors() {
        Libxl l = boot(Profile.FULL);
        LibxlException missing = thrown(() -> l.pciAssignableAdd(Sbdf.parse("0000:07:00.0"), Optional.empty(), false));
        assertThat(missing.code()).isEqualTo(LibxlError.ERROR_FAIL);
        assertThat(missing.libxlMessage()).isEqualTo("Couldn't lstat /sys/bus/pci/devices/0000:07:00.0: No such file or directory");

        LibxlException blank = thrown(() -> l.pciAssignableAdd(NVME, Optional.of("my disk"), false));
        assertThat(blank.code()).isEqualTo(LibxlError.ERROR_FAIL);
        assertThat(blank.libxlMessage()).isEqualTo("Names may only include printable characters");
        LibxlException tooLong = thrown(() -> l.pciAssignableAdd(NVME, Optional.of("x".repeat(65)), false));
        assertThat(tooLong.libxlMessage()).isEqualTo("Name too long");
        assertThat(l.pciback().isAssigned(NVME)).isFalse();

        XlConfig c = cfg("g1", "0000:00:02.0");
        l.makeAssignable(c);
        l.createDomain(c);
        LibxlException busy = thrown(() -> l.pciAssignableAdd(NVME, Optional.empty(), false));

        assertThat(busy.code()).isEqualTo(LibxlError.ERROR_FAIL);
        assertThat(busy.libxlMessage()).isEqualTo("failed to quarantine 0000:00:02.0");
        assertThat(busy.hypercallErrno()).hasValue(Errno.EBUSY);
        assertThat(l.log().get(l.log().size() - 1).message()).isEqualTo("failed to quarantine 0000:00:02.0: EBUSY (-16)");
        assertThat(owner(l, NVME).domid()).isEqualTo(1);
    }

    @Test
    @DisplayName("assignable-remove errors: an unknown name is ERROR_NOTFOUND, a guest-owned device fails de-quarantine (-ENODEV)")
    void assignableRemoveErrors() {
        Libxl l = boot(Profile.FULL);
        assertThat(thrown(() -> l.pciAssignableRemove("nope", false)).code()).isEqualTo(LibxlError.ERROR_NOTFOUND);

        XlConfig c = cfg("g1", "0000:00:02.0");
        l.makeAssignable(c);
        l.createDomain(c);
        LibxlException e = thrown(() -> l.pciAssignableRemove(NVME, false));

        assertThat(e.code()).isEqualTo(LibxlError.ERROR_FAIL);
        assertThat(e.libxlMessage()).isEqualTo("failed to de-quarantine 0000:00:02.0");
        assertThat(e.hypercallErrno()).hasValue(Errno.ENODEV);
        assertThat(l.pciback().isAssigned(NVME)).isTrue();
    }

    @Test
    @DisplayName("pci-attach to a domain created without passthrough: xc_assign_device fails (-EOPNOTSUPP), ERROR_FAIL, owner record removed")
    void attachWithoutIommuContext() {
        Libxl l = boot(Profile.FULL);
        LibxlDomain g = l.createDomain(cfg("plain"));
        l.pciAssignableAdd(NVME, Optional.empty(), true);

        LibxlException e = thrown(() -> l.pciAttach(g.domid(), spec.of("0000:00:02.0")));

        assertThat(e.code()).isEqualTo(LibxlError.ERROR_FAIL);
        assertThat(e.libxlMessage()).isEqualTo("xc_assign_device failed");
        assertThat(e.hypercallErrno()).hasValue(Errno.EOPNOTSUPP);
        assertThat(l.log()).extracting(LibxlLogEntry::message).containsSubsequence(
                "xc_assign_device failed: EOPNOTSUPP (-95)", "libxl__device_pci_add failed for PCI device 0:0:2.0 (rc -3)");
        assertThat(l.xenstore().exists("/libxl/pci/0000-00-02-0/domid")).isFalse();
        assertThat(l.pciAssignableList()).extracting(AssignableDevice::sbdf).containsExactly(NVME);
        assertThat(owner(l, NVME)).isSameAs(l.host().xen().domIo());
        assertThat(l.pciList(g.domid())).isEmpty();
    }

    @Test
    @DisplayName("pci-attach after creation sets backend state 7, appends to the saved config; detach shifts the entries down")
    void hotplugAttachDetach() {
        Libxl l = boot(Profile.FULL);
        XlConfig c = cfg("g1", "0000:00:02.0");
        l.makeAssignable(c);
        LibxlDomain g = l.createDomain(c);
        l.pciAssignableAdd(NIC, Optional.of("nic"), true);

        l.pciAttach(g.domid(), spec.of("name=nic"));

        String be = "/local/domain/0/backend/pci/1/0";
        assertThat(l.xenstore().read(be + "/state")).hasValue("7");
        assertThat(l.xenstore().read(be + "/num_devs")).hasValue("2");
        assertThat(l.xenstore().read(be + "/name-1")).hasValue("nic");
        assertThat(g.savedPciDevices()).hasSize(2);
        assertThat(owner(l, NIC)).isSameAs(g.domain());

        l.pciDetach(g.domid(), spec.of("0000:00:02.0"), false);

        assertThat(l.xenstore().read(be + "/num_devs")).hasValue("1");
        assertThat(l.xenstore().read(be + "/dev-0")).hasValue("0000:00:01.0");
        assertThat(l.xenstore().exists(be + "/dev-1")).isFalse();
        assertThat(owner(l, NVME)).isSameAs(l.host().xen().domIo());
        assertThat(l.pciAssignableList()).extracting(AssignableDevice::sbdf).containsExactly(NVME);
    }

    @Test
    @DisplayName("detach errors: not attached is ERROR_INVAL, no backend is ERROR_FAIL without a message, force still deassigns")
    void detachErrors() {
        Libxl l = boot(Profile.FULL);
        LibxlDomain plain = l.createDomain(cfg("plain"));
        LibxlException noBackend = thrown(() -> l.pciDetach(plain.domid(), spec.of("0000:00:02.0"), false));
        assertThat(noBackend.code()).isEqualTo(LibxlError.ERROR_FAIL);
        assertThat(noBackend.libxlMessage()).isEmpty();

        XlConfig c = cfg("g2", "0000:00:02.0");
        l.makeAssignable(c);
        LibxlDomain g = l.createDomain(c);
        LibxlException notAttached = thrown(() -> l.pciDetach(g.domid(), spec.of("0000:00:01.0"), false));
        assertThat(notAttached.code()).isEqualTo(LibxlError.ERROR_INVAL);
        assertThat(notAttached.libxlMessage()).isEqualTo("PCI device not attached to this domain");

        l.pciDetach(g.domid(), spec.of("0000:00:01.0"), true); // force: reported as success
        assertThat(l.log()).extracting(LibxlLogEntry::message).contains("xc_deassign_device failed: ENODEV (-19)");
        assertThat(owner(l, NVME)).isSameAs(g.domain());
    }

    @Test
    @DisplayName("a name-only spec whose name is unknown fails with ERROR_NOTFOUND and libxl's named-device message")
    void unknownName() {
        Libxl l = boot(Profile.FULL);
        LibxlException e = thrown(() -> l.createDomain(cfg("g", "name=ghost")));
        assertThat(e.code()).isEqualTo(LibxlError.ERROR_NOTFOUND);
        assertThat(l.log()).extracting(LibxlLogEntry::message)
                .containsExactly("libxl__device_pci_add failed for PCI device 'ghost' (rc -23)");
    }

    @Test
    @DisplayName("'*' needs a v-slot (ERROR_INVAL) and every function bound to pciback (ERROR_FAIL)")
    void wildcardChecks() {
        Libxl l = boot(Profile.FULL);
        l.pciAssignableAdd(HDA, Optional.empty(), true);
        LibxlException noSlot = thrown(() -> l.createDomain(cfg("g", "0000:00:04.*")));
        assertThat(noSlot.code()).isEqualTo(LibxlError.ERROR_INVAL);
        assertThat(noSlot.libxlMessage()).isEqualTo("Must specify a v-slot for multi-function devices");

        LibxlException unbound = thrown(() -> l.createDomain(cfg("g", "0000:00:04.*@3")));
        assertThat(unbound.code()).isEqualTo(LibxlError.ERROR_FAIL);
        assertThat(unbound.libxlMessage()).isEqualTo("0000:00:04.1 is not assigned to pciback driver");
        assertThat(l.xenstore().exists("/libxl/pci/0000-00-04-0/domid")).isFalse();
    }

    @Test
    @DisplayName("upstream '*' reproduces the regression: only the highest function (04.1) is assigned, function 0 gets the owner record")
    void wildcardUpstream() {
        Libxl l = boot(Profile.UPSTREAM);
        XlConfig c = cfg("g", "0000:00:04.*@3");
        l.makeAssignable(c);
        LibxlDomain g = l.createDomain(c);

        assertThat(owner(l, SERIAL)).isSameAs(g.domain());
        assertThat(owner(l, HDA)).isSameAs(l.host().xen().domIo());
        assertThat(l.xenstore().read("/libxl/pci/0000-00-04-0/domid")).hasValue("1");
        assertThat(l.xenstore().exists("/libxl/pci/0000-00-04-1/domid")).isFalse();
        assertThat(l.pciList(g.domid())).extracting(PciListEntry::xlLine).containsExactly("03.1 0000:00:04.1");
        // The upstream listing quirk: 04.1 is assigned yet still "assignable" (no domid record).
        assertThat(l.pciAssignableList()).extracting(AssignableDevice::sbdf).containsExactly(SERIAL);
    }

    @Test
    @DisplayName("full '*' assigns every function into the requested virtual slot; the guest sees 00:03.0 and 00:03.1")
    void wildcardFull() {
        Libxl l = boot(Profile.FULL);
        XlConfig c = cfg("g", "0000:00:04.*@3");
        l.makeAssignable(c);
        LibxlDomain g = l.createDomain(c);

        assertThat(owner(l, HDA)).isSameAs(g.domain());
        assertThat(owner(l, SERIAL)).isSameAs(g.domain());
        assertThat(l.pciList(g.domid())).extracting(PciListEntry::xlLine).containsExactly("03.1 0000:00:04.1", "03.0 0000:00:04.0");
        assertThat(l.pciAssignableList()).isEmpty();
        ReferenceGuest.Probe p = new ReferenceGuest(g.domain()).probe();
        assertThat(p.functions()).extracting(f -> f.sbdf().toString()).containsExactly("0000:00:03.0", "0000:00:03.1");

        l.destroyDomain(g.domid());
        assertThat(l.pciAssignableList()).extracting(AssignableDevice::sbdf).containsExactly(HDA, SERIAL);
        assertThat(owner(l, SERIAL)).isSameAs(l.host().xen().domIo());
    }

    @Test
    @DisplayName("full profile honours a single device's vslot through the vPCI hint: 0000:00:02.0@5 appears at guest 00:05.0")
    void vslotHonoured() {
        Libxl l = boot(Profile.FULL);
        XlConfig c = cfg("g", "0000:00:02.0@5");
        l.makeAssignable(c);
        LibxlDomain g = l.createDomain(c);

        assertThat(l.host().vpci().device(g.domain(), NVME).guestSbdfRecord()).isEqualTo(Sbdf.parse("0000:00:05.0"));
        assertThat(l.pciList(g.domid())).extracting(PciListEntry::xlLine).containsExactly("05.0 0000:00:02.0");
    }
}
