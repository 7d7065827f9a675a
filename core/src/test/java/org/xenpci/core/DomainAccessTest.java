package org.xenpci.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.core.trace.Events;

class DomainAccessTest {
    private Hardware hw;
    private Xen xen;
    private Domain guest;
    private final List<String> deviceLog = new ArrayList<>();

    @BeforeEach
    void boot() {
        hw = TestHardware.hardware();
        hw.addressSpace().register("dev", 0x9000000L, 0x1000, new MmioDevice() {
            @Override
            public long read(long offset, int size) {
                deviceLog.add("r" + offset + "/" + size);
                return 0x1122334455667788L;
            }

            @Override
            public void write(long offset, int size, long value) {
                deviceLog.add("w" + offset + "/" + size + "=" + Long.toHexString(value));
            }
        });
        xen = Xen.builder().hardware(hw).build();
        guest = xen.createDomain(DomainConfig.guest("g", 2));
    }

    @Test
    @DisplayName("the hardware domain boots with the host's RAM mapped 1:1")
    void hwdomRam() {
        Domain d0 = xen.hardwareDomain();
        assertThat(d0.domid()).isZero();
        assertThat(d0.isPrivileged()).isTrue();
        assertThat(d0.p2m().entries()).singleElement().satisfies(e -> {
            assertThat(e).isInstanceOf(P2m.Ram.class);
            assertThat(e.gpa()).isEqualTo(0x40000000L);
            assertThat(e.size()).isEqualTo(0x40000000L);
        });
        assertThat(d0.mmioWrite(0x40000010L, 8, 0xdeadbeefcafef00dL)).isTrue();
        assertThat(d0.mmioRead(0x40000014L, 4)).hasValue(0xdeadbeefL);
    }

    @Test
    @DisplayName("an access to an unmapped address takes a data abort and is traced")
    void unmappedAborts() {
        Vcpu v = guest.vcpu(1);
        v.mmioRead(0x10000000L, 4);
        assertThat(v.takeDataAbort()).isEqualTo(new Vcpu.DataAbort(0x10000000L, 4, false, "unmapped"));
        assertThat(v.takeDataAbort()).isNull();
        assertThat(xen.trace().events(Events.DataAbort.class))
                .containsExactly(new Events.DataAbort(guest.domid(), 1, 0x10000000L, 4, false, "unmapped"));
    }

    @Test
    @DisplayName("direct-mapped device memory reaches the hardware at the machine address, masked to the access size")
    void directMmioReachesHardware() {
        guest.p2m().mapMmio(0x23000, 1, 0x9000);
        assertThat(guest.mmioRead(0x23000010L, 2)).hasValue(0x7788);
        assertThat(guest.mmioWrite(0x23000020L, 1, 0x1ff)).isTrue();
        assertThat(deviceLog).containsExactly("r16/2", "w32/1=ff");
    }

    @Test
    @DisplayName("a handler that refuses an access makes the vCPU abort and is never called")
    void refusedAccessAborts() {
        List<String> calls = new ArrayList<>();
        guest.p2m().addTrap(0x10000000L, 0x1000, new MmioHandler() {
            @Override
            public String name() {
                return "aligned-only";
            }

            @Override
            public boolean accepts(Vcpu vcpu, long gpa, int size) {
                return (gpa & (size - 1)) == 0;
            }

            @Override
            public long read(Vcpu vcpu, long gpa, int size) {
                calls.add("read");
                return -1L;
            }

            @Override
            public void write(Vcpu vcpu, long gpa, int size, long value) {
                calls.add("write " + Long.toHexString(value));
            }
        });
        assertThat(guest.mmioRead(0x10000002L, 4)).isEmpty();
        assertThat(guest.mmioRead(0x10000004L, 2)).hasValue(0xffff);
        assertThat(guest.mmioWrite(0x10000008L, 1, 0x1234)).isTrue();
        assertThat(calls).containsExactly("read", "write 34");
    }

    @Test
    @DisplayName("work deferred by a trap handler completes before the access returns")
    void deferredWorkRunsBeforeReturn() {
        List<String> order = new ArrayList<>();
        guest.p2m().addTrap(0x10000000L, 0x1000, new MmioHandler() {
            @Override
            public String name() {
                return "defer";
            }

            @Override
            public long read(Vcpu vcpu, long gpa, int size) {
                return 0;
            }

            @Override
            public void write(Vcpu vcpu, long gpa, int size, long value) {
                int[] passes = {0};
                vcpu.deferWork(v -> {
                    order.add("pass " + passes[0]);
                    return ++passes[0] < 3; // preempted twice, like -ERESTART
                });
                order.add("handler");
            }
        });
        guest.mmioWrite(0x10000000L, 4, 1);
        assertThat(order).containsExactly("handler", "pass 0", "pass 1", "pass 2");
        assertThat(guest.vcpu(0).hasPendingWork()).isFalse();
    }

    @Test
    @DisplayName("interrupts made pending on a vCPU are listed in order and acknowledged once")
    void pendingInterrupts() {
        Vcpu v = guest.vcpu(0);
        v.inject(8193);
        v.inject(8192);
        v.inject(8193);
        assertThat(v.pendingInterrupts()).containsExactly(8192, 8193);
        assertThat(v.acknowledge(8192)).isTrue();
        assertThat(v.acknowledge(8192)).isFalse();
        assertThat(guest.vcpu(1).pendingInterrupts()).isEmpty();
    }
}
