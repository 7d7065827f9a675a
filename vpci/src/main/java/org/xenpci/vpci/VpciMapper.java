package org.xenpci.vpci;

import static org.xenpci.core.pci.PciRegs.PCI_COMMAND_MEMORY;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xenpci.core.Domain;
import org.xenpci.core.Errno;
import org.xenpci.core.P2m;
import org.xenpci.core.Vcpu;
import org.xenpci.core.Xen;
import org.xenpci.core.XsmHook;

/**
 * The p2m owner's side of {@code modify_bars} (xen/drivers/vpci/header.c: apply_map, map_range): applies a {@link MapPlan} to the
 * owning domain's {@link P2m}, then runs {@code modify_decoding}. While Xen is booting the work
 * runs at once ({@code apply_map}); afterwards it is deferred to the trapping vCPU's exit path
 * ({@code defer_map} / {@code vpci_process_pending}) through {@link Vcpu#deferWork}, so the p2m
 * is updated before the guest resumes.
 *
 * <p>Unlike upstream (which can leave the p2m partly mapped, a documented FIXME), a failing map
 * is rolled back before decoding is turned off. Stateless; thread-safe.
 */
public final class VpciMapper {
    private static final Logger LOG = LoggerFactory.getLogger(VpciMapper.class);

    private VpciMapper() {
    }

    /**
     * Schedules (or, while booting or without a vCPU, performs) the p2m change.
     *
     * @param current the vCPU whose access caused it; null means "no vCPU context": apply now
     * @return 0, or the mapping error when applied at once
     */
    public static int schedule(VpciDevice dev, Vcpu current, WriteOutcome.DecodingChanged change) {
        Xen xen = dev.owner().xen();
        if (xen.systemState() == Xen.SystemState.BOOTING || current == null) {
            int rc = applyPlan(dev, change.plan());
            if (rc == 0) {
                dev.header().modifyDecoding(dev, change.cmd(), change.romOnly());
            }
            return rc;
        }
        current.deferWork(v -> {
            processPending(dev, change);
            return false;
        });
        return 0;
    }

    /**
     * {@code vpci_process_pending}: runs the deferred work under the owner's pci_lock. Work for
     * a device that lost its vPCI state, or whose owner is dying, is dropped: destruction unmaps
     * and detaches on its own, and a map applied now would land in a p2m being torn down.
     */
    static void processPending(VpciDevice dev, WriteOutcome.DecodingChanged change) {
        Domain owner = dev.owner();
        owner.pciLock().writeLock().lock();
        try {
            synchronized (dev) {
                dev.beginWrite();
                try {
                    if (!dev.attached() || owner.isDying()) {
                        return; // the device lost its vPCI (or changed owner) meanwhile: drop the work
                    }
                    // The plan is recomputed here, under the locks that also guard BAR writes, not
                    // taken from the trap: another vCPU may have moved a BAR in between (the BAR
                    // is not yet "enabled", so the write was accepted). Xen keeps the trap-time
                    // rangesets and computes the mfn from the BAR at this point
                    // (xen/drivers/vpci/header.c: map_range), so its map and its bookkeeping can
                    // disagree; here what is mapped is always what the BARs say.
                    WriteOutcome now = dev.header().modifyBars(dev, change.cmd(), change.romOnly());
                    if (!(now instanceof WriteOutcome.DecodingChanged current)) {
                        return; // refused now (page offsets differ): decoding stays as it is, as cmd_write
                    }
                    int rc = applyPlan(dev, current.plan());
                    if (rc == 0) {
                        dev.header().modifyDecoding(dev, change.cmd(), change.romOnly());
                        return;
                    }
                    // Turn decoding off entirely, even for a ROM-only change (header.c).
                    dev.header().modifyDecoding(dev, change.cmd() & ~PCI_COMMAND_MEMORY, false);
                    if (!owner.isHardwareDomain()) {
                        VpciDomain.of(owner).crash("vPCI BAR " + (change.plan().map() ? "map" : "unmap")
                                + " failed for " + dev.machineSbdf() + ": rc " + rc);
                    } else {
                        LOG.warn("{}: vPCI BAR map failed for {}: rc {}", owner, dev.machineSbdf(), rc);
                    }
                } finally {
                    dev.endWrite();
                }
            }
        } finally {
            owner.pciLock().writeLock().unlock();
        }
    }

    /**
     * Applies every range in order ({@code map_range}): XSM {@code iomem_mapping_vpci}, then
     * map/unmap. On failure the ranges already applied are undone.
     *
     * @return 0 or a negative errno (-EPERM, or the p2m's -EEXIST)
     */
    static int applyPlan(VpciDevice dev, MapPlan plan) {
        Domain owner = dev.owner();
        P2m p2m = owner.p2m();
        int done = 0;
        int rc = 0;
        for (MapPlan.Range r : plan.ranges()) {
            // TODO(core): iomem_access_permitted(d, mfn, mfn+nr-1) once core models iomem caps.
            if (!owner.xen().xsm().permits(XsmHook.IOMEM_MAPPING_VPCI, owner, owner, r.mfn())) {
                rc = Errno.EPERM.rc();
                break;
            }
            rc = plan.map() ? p2m.mapMmio(r.gfn(), r.nr(), r.mfn()) : p2m.unmapMmio(r.gfn(), r.nr());
            if (rc != 0) {
                break;
            }
            done++;
        }
        if (rc != 0 && plan.map()) {
            for (int i = 0; i < done; i++) {
                MapPlan.Range r = plan.ranges().get(i);
                p2m.unmapMmio(r.gfn(), r.nr());
            }
        }
        return rc;
    }
}
