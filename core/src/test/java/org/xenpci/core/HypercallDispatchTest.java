package org.xenpci.core;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class HypercallDispatchTest {
    private static final long ARGS = 0x40000000L;
    private Xen xen;
    private Domain guest;
    private Domain d0;
    private Domain seenTarget;

    @BeforeEach
    void boot() {
        xen = Xen.builder().hardware(TestHardware.hardware()).extension(new XenExtension() {
            @Override
            public void init(Xen x) {
                for (int cmd : new int[] {Xen.XEN_DOMCTL_ASSIGN_DEVICE, Xen.XEN_DOMCTL_TEST_ASSIGN_DEVICE}) {
                    x.registerDomctl(cmd, (caller, target, op) -> {
                        seenTarget = target;
                        return HypercallResult.ok(op.u32(16));
                    });
                }
                x.registerPhysdevOp(25, (caller, args) -> HypercallResult.ok(args[1]));
            }
        }).build();
        d0 = xen.hardwareDomain();
        guest = xen.createDomain(DomainConfig.guest("g", 1));
        guest.p2m().addRam(ARGS, new SparseMemory(0x1000));
    }

    private HypercallResult domctl(Domain caller, long cmd, int version, int domid, long payload) {
        GuestStruct op = GuestStruct.ofSize(Xen.XEN_DOMCTL_SIZE).u32(0, cmd).u32(4, version).u16(8, domid).u32(16, payload);
        caller.p2m().copyToGuest(ARGS, op.bytes());
        return xen.hypercall(caller.vcpu(0), Xen.HYPERVISOR_DOMCTL, ARGS);
    }

    @Test
    @DisplayName("unknown hypercalls and unknown physdev ops return -ENOSYS")
    void unknownOps() {
        assertThat(xen.hypercall(d0.vcpu(0), 99).errno()).isEqualTo(Errno.ENOSYS);
        assertThat(xen.hypercall(d0.vcpu(0), Xen.HYPERVISOR_PHYSDEV_OP, 15, 0).errno()).isEqualTo(Errno.ENOSYS);
        assertThat(xen.hypercall(d0.vcpu(0), Xen.HYPERVISOR_PHYSDEV_OP, 25, 7).rc()).isEqualTo(7);
    }

    @Test
    @DisplayName("the domctl envelope checks copy, interface version, target and XSM in that order (do_domctl)")
    void domctlEnvelope() {
        assertThat(xen.hypercall(guest.vcpu(0), Xen.HYPERVISOR_DOMCTL, 0x1000L).errno()).isEqualTo(Errno.EFAULT);
        assertThat(domctl(guest, 37, 0x17, 1, 0).errno()).isEqualTo(Errno.EACCES);
        assertThat(domctl(guest, 37, 0x18, 1, 0).errno()).isEqualTo(Errno.EPERM);
        assertThat(domctl(d0, 37, 0x18, 42, 0).errno()).isEqualTo(Errno.ESRCH);
        assertThat(domctl(d0, 99, 0x18, 1, 0).errno()).isEqualTo(Errno.ENOSYS);
        assertThat(domctl(d0, 37, 0x18, guest.domid(), 0x55).rc()).isEqualTo(0x55);
        assertThat(seenTarget).isSameAs(guest);
        assertThat(domctl(d0, 37, 0x18, Domain.DOMID_IO, 1).isOk()).isTrue();
        assertThat(seenTarget).isSameAs(xen.domIo());
        assertThat(domctl(d0, 45, 0x18, Domain.DOMID_INVALID, 1).isOk()).isTrue();
        assertThat(seenTarget).isNull();
        assertThat(domctl(d0, 37, 0x18, Domain.DOMID_INVALID, 1).errno()).isEqualTo(Errno.ESRCH);
        assertThat(domctl(guest, 37, 0x18, Domain.DOMID_INVALID, 1).errno()).isEqualTo(Errno.ESRCH);
        assertThat(domctl(guest, 37, 0x18, 42, 0).errno()).isEqualTo(Errno.EPERM);
        assertThat(domctl(d0, 45, 0x18, Domain.DOMID_IO, 1).errno()).isEqualTo(Errno.ESRCH);
        assertThat(domctl(d0, 99, 0x18, 42, 0).errno()).isEqualTo(Errno.ESRCH);
    }

    @Test
    @DisplayName("results fold to either branch and map back from C return codes")
    void resultFolding() {
        assertThat(HypercallResult.ofRc(-22).errno()).isEqualTo(Errno.EINVAL);
        String folded = HypercallResult.ofRc(-22).fold(ok -> "ok", f -> f.error().name());
        assertThat(folded).isEqualTo("EINVAL");
        long value = HypercallResult.ofRc(3).fold(ok -> ok.value(), f -> -1L);
        assertThat(value).isEqualTo(3L);
        assertThat(Errno.EOPNOTSUPP.rc()).isEqualTo(-95);
        assertThat(Errno.ENOSPC.rc()).isEqualTo(-28);
    }

    @Test
    @DisplayName("destroying a domain forgets it and calls extensions in reverse order")
    void destroy() {
        xen.destroyDomain(guest);
        assertThat(xen.domain(guest.domid())).isEmpty();
        assertThat(guest.state()).isEqualTo(Domain.State.DEAD);
        Domain again = xen.createDomain(DomainConfig.guest("h", 1));
        assertThat(again.domid()).isEqualTo(1);
    }
}
