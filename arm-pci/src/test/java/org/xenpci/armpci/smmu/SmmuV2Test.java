package org.xenpci.armpci.smmu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.armpci.hw.HardwareConfigException;
import org.xenpci.armpci.hw.InboundTranslation;
import org.xenpci.armpci.hw.IommuFault;
import org.xenpci.core.Domain;
import org.xenpci.core.DomainConfig;
import org.xenpci.core.Hardware;
import org.xenpci.core.PhysicalAddressSpace;
import org.xenpci.core.SparseMemory;
import org.xenpci.core.Xen;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.fdt.FdtNode;

@DisplayName("SMMUv1/v2 hardware: ID registers, stream matching, S2CR types, context banks, fault registers")
class SmmuV2Test {
    private static final long CB0 = 0x10000; // context bank space = second half of the 128 KiB frame
    private static final long GUEST_RAM = 0x4000_0000L;

    private final SmmuV2 smmu = new SmmuV2("/iommu@fd800000", 5, SmmuV2.Version.V2, 0xfd80_0000L, 0x20000, 15, 4, 2);
    private final Xen xen = Xen.builder().hardware(new Hardware(Fdt.of(org.xenpci.armpci.testkit.Trees.root().child(org.xenpci.armpci.testkit.Trees.memory(0x8000_0000L, 0x1000_0000L)).build()), new PhysicalAddressSpace()))
            .build();
    private final Domain guest = xen.createDomain(new DomainConfig("g", 1, false, false, true));

    SmmuV2Test() {
        guest.p2m().addRam(GUEST_RAM, new SparseMemory(0x10_0000));
    }

    private void w(long off, long v) {
        smmu.write(off, 4, v);
    }

    private long r(long off) {
        return smmu.read(off, 4);
    }

    private void smr(int n, int id, int mask) {
        w(SmmuV2.SMR_BASE + 4 * n, Integer.toUnsignedLong(SmmuV2.SMR_VALID | mask << 16 | id));
    }

    private void s2cr(int n, int type, int cb) {
        w(SmmuV2.S2CR_BASE + 4 * n, type << 16 | cb);
    }

    /** Context bank 0 as Xen sets it up: stage-2 CBAR with VMID 1, bound to the guest, SCTLR.M. */
    private void contextBank0() {
        w(0x1000, 1);
        smmu.bindStage2(0, guest);
        w(CB0, SmmuV2.SCTLR_M | SmmuV2.SCTLR_CFRE | SmmuV2.SCTLR_CFIE);
    }

    private void enableFaultingUnmatched() {
        w(SmmuV2.SCR0, SmmuV2.SCR0_USFCFG);
    }

    private static IommuFault fault(InboundTranslation t) {
        assertThat(t).isInstanceOf(InboundTranslation.Fault.class);
        return ((InboundTranslation.Fault) t).reason();
    }

    @Test
    @DisplayName("ID registers: SMS, NUMSIDB 15, NUMSMRG, NUMCB, NUMPAGENDXB from the 128 KiB frame; SMR fields hold only 15 ID bits")
    void idRegisters() {
        long id0 = r(SmmuV2.SIDR0);
        assertThat(id0 & SmmuV2.SIDR0_SMS).isNotZero();
        assertThat(id0 & SmmuV2.SIDR0_S2TS).isNotZero();
        assertThat((id0 >> 9) & 0xf).isEqualTo(15);
        assertThat(id0 & 0xff).isEqualTo(4);
        long id1 = r(SmmuV2.SIDR1);
        assertThat(id1 & 0xff).isEqualTo(2);
        assertThat((id1 >> 28) & 7).isEqualTo(3); // 16 pages per half = 1 << (3 + 1)
        assertThat(id1 >>> 31).as("PAGESIZE 4K").isZero();
        w(SmmuV2.SMR_BASE, 0xffffffffL);
        assertThat(r(SmmuV2.SMR_BASE)).isEqualTo(0xffff7fffL);
        assertThat(r(SmmuV2.SCR0) & SmmuV2.SCR0_CLIENTPD).as("CLIENTPD at reset").isEqualTo(1);
        assertThat(r(0x1234)).as("reserved RAZ").isZero();
    }

    @Test
    @DisplayName("an 8 MiB frame (LS1028A's MMU-500) has 64 KiB pages: sIDR1.PAGESIZE, NUMPAGENDXB 5, GR1 and context banks one 64 KiB page each")
    void sixtyFourKPages() {
        SmmuV2 big = new SmmuV2("/soc/iommu@5000000", 7, SmmuV2.Version.V2, 0x500_0000L, 0x80_0000L, 15, 4, 64);
        long id1 = big.read(SmmuV2.SIDR1, 4);
        assertThat(id1 >>> 31).as("PAGESIZE 64K").isEqualTo(1);
        assertThat((id1 >> 28) & 7).as("64 pages per half = 1 << (5 + 1)").isEqualTo(5);
        assertThat(id1 & 0xff).isEqualTo(64);
        // Xen's arm_smmu_device_cfg_probe: size = (1 << (NUMPAGENDXB + 1)) * (2 << pgshift) = the frame.
        assertThat((1L << (((id1 >>> 28) & 7) + 1)) * (2L << 16)).isEqualTo(0x80_0000L);
        // CBAR[1] lives in GR1 at base + 64 KiB, not at base + 4 KiB (which is GR0 space there).
        big.write(0x1_0000L + 4, 4, 0x3);
        assertThat(big.read(0x1_0000L + 4, 4)).isEqualTo(0x3);
        assertThat(big.read(0x1000L + 4, 4)).as("base + 4 KiB is not GR1 with 64 KiB pages").isZero();
        // Context bank 1's SCTLR at size/2 + 64 KiB.
        big.write(0x40_0000L + 0x1_0000L + SmmuV2.CB_SCTLR, 4, SmmuV2.SCTLR_M);
        assertThat(big.read(0x40_0000L + 0x1_0000L + SmmuV2.CB_SCTLR, 4) & SmmuV2.SCTLR_M).isNotZero();
        assertThat(big.read(0x40_0000L + 0x1000L + SmmuV2.CB_SCTLR, 4)).isZero();
        assertThatThrownBy(() -> new SmmuV2("/x", 0, SmmuV2.Version.V2, 0, 0x80_0000L, 15, 4, 65))
                .as("65 banks do not fit 64 pages").isInstanceOf(HardwareConfigException.class);
        assertThatThrownBy(() -> new SmmuV2("/x", 0, SmmuV2.Version.V2, 0, 0x400_0000L, 15, 4, 1))
                .as("64 MiB is beyond 256 pages of 64 KiB per half").isInstanceOf(HardwareConfigException.class);
    }

    @Test
    @DisplayName("bad geometry is a HardwareConfigException")
    void geometry() {
        assertThatThrownBy(() -> new SmmuV2("/x", 0, SmmuV2.Version.V2, 0, 0x3000, 15, 4, 1))
                .isInstanceOf(HardwareConfigException.class);
        assertThatThrownBy(() -> new SmmuV2("/x", 0, SmmuV2.Version.V2, 0, 0x20000, 16, 4, 1))
                .isInstanceOf(HardwareConfigException.class);
        assertThatThrownBy(() -> new SmmuV2("/x", 0, SmmuV2.Version.V2, 0, 0x20000, 15, 4, 17))
                .isInstanceOf(HardwareConfigException.class);
    }

    @Test
    @DisplayName("CLIENTPD bypasses everything; unmatched streams bypass with USFCFG clear and fault (sGFSR.USF) with it set")
    void clientPdAndUsfcfg() {
        assertThat(smmu.translate(0x10, 0x1234, false)).isSameAs(InboundTranslation.Window.IDENTITY);
        w(SmmuV2.SCR0, 0);
        assertThat(smmu.translate(0x10, 0x1234, false)).isSameAs(InboundTranslation.Window.IDENTITY);
        enableFaultingUnmatched();
        assertThat(fault(smmu.translate(0x10, 0x1234, true))).isEqualTo(IommuFault.BAD_STE);
        assertThat(r(SmmuV2.SGFSR)).isEqualTo(SmmuV2.SGFSR_USF);
        assertThat(smmu.read(SmmuV2.SGFAR, 8)).isEqualTo(0x1234);
        assertThat(r(SmmuV2.SGFSYNR0)).isEqualTo(SmmuV2.SGFSYNR0_WNR);
        assertThat(r(SmmuV2.SGFSYNR1)).isEqualTo(0x10);
        assertThat(fault(smmu.translate(0x8000, 0, false))).as("beyond NUMSIDB").isEqualTo(IommuFault.BAD_STREAMID);
    }

    @Test
    @DisplayName("stream matching honours MASK; two matching SMRs are a stream match conflict (sGFSR.SMCF)")
    void matchingAndConflict() {
        enableFaultingUnmatched();
        smr(0, 0x100, 0x00f); // 0x100..0x10f
        s2cr(0, SmmuV2.S2CR_TYPE_BYPASS, 0);
        assertThat(smmu.matchStream(0x10a)).isZero();
        assertThat(smmu.matchStream(0x110)).isEqualTo(-1);
        assertThat(smmu.translate(0x10a, 0x1000, false)).isSameAs(InboundTranslation.Window.IDENTITY);
        smr(1, 0x108, 0);
        assertThat(smmu.matchStream(0x108)).isEqualTo(-2);
        assertThat(fault(smmu.translate(0x108, 0x1000, false))).isEqualTo(IommuFault.STREAM_MATCH_CONFLICT);
        assertThat(r(SmmuV2.SGFSR)).isEqualTo(SmmuV2.SGFSR_SMCF);
        assertThat(smmu.translate(0x101, 0x1000, false)).as("only one match").isSameAs(InboundTranslation.Window.IDENTITY);
        w(SmmuV2.SMR_BASE + 4, 0); // SMR1 invalid again
        assertThat(smmu.matchStream(0x108)).isZero();
    }

    @Test
    @DisplayName("S2CR fault aborts (sGFSR.ICF); translate goes through the context bank's stage 2 and reuses its TLB window")
    void s2crTypes() {
        enableFaultingUnmatched();
        smr(0, 0x10, 0);
        s2cr(0, SmmuV2.S2CR_TYPE_FAULT, 0);
        assertThat(fault(smmu.translate(0x10, GUEST_RAM, false))).isEqualTo(IommuFault.STREAM_DISABLED);
        assertThat(r(SmmuV2.SGFSR) & SmmuV2.SGFSR_ICF).isNotZero();
        contextBank0();
        s2cr(0, SmmuV2.S2CR_TYPE_TRANS, 0);
        InboundTranslation t = smmu.translate(0x10, GUEST_RAM + 0x40, true);
        assertThat(t).isInstanceOf(InboundTranslation.Window.class);
        assertThat(((InboundTranslation.Window) t).inputBase()).isEqualTo(GUEST_RAM);
        assertThat(smmu.translate(0x10, GUEST_RAM + 0x80, false)).as("TLB hit").isSameAs(t);
        w(CB0, 0); // SCTLR.M clear: the context bank does not translate
        assertThat(smmu.translate(0x10, 0x1234, false)).isSameAs(InboundTranslation.Window.IDENTITY);
        s2cr(0, SmmuV2.S2CR_TYPE_TRANS, 7);
        assertThat(fault(smmu.translate(0x10, 0, false))).as("CBNDX beyond NUMCB").isEqualTo(IommuFault.BAD_STE);
    }

    @Test
    @DisplayName("a stage-2 miss is a context fault: FSR.TF, FAR, FSYNR0.WNR, CBFRSYNRA; a second sets MULTI; FSR and sGFSR are W1C")
    void contextFaultRegisters() {
        enableFaultingUnmatched();
        smr(0, 0x10, 0);
        contextBank0();
        s2cr(0, SmmuV2.S2CR_TYPE_TRANS, 0);
        assertThat(fault(smmu.translate(0x10, 0x8000_0000L, true))).isEqualTo(IommuFault.TRANSLATION);
        assertThat(r(CB0 + 0x58)).isEqualTo(SmmuV2.FSR_TF);
        assertThat(smmu.read(CB0 + 0x60, 8)).isEqualTo(0x8000_0000L);
        assertThat(r(CB0 + 0x68)).isEqualTo(SmmuV2.FSYNR0_WNR);
        assertThat(r(0x1000 + 0x400)).isEqualTo(0x10);
        smmu.translate(0x10, 0x9000_0000L, false);
        assertThat(r(CB0 + 0x58)).isEqualTo(Integer.toUnsignedLong(SmmuV2.FSR_TF | SmmuV2.FSR_MULTI));
        assertThat(smmu.read(CB0 + 0x60, 8)).as("FAR keeps the first fault").isEqualTo(0x8000_0000L);
        w(CB0 + 0x58, SmmuV2.FSR_TF);
        assertThat(r(CB0 + 0x58)).isEqualTo(Integer.toUnsignedLong(SmmuV2.FSR_MULTI));
        w(CB0 + 0x58, Integer.toUnsignedLong(SmmuV2.FSR_MULTI));
        assertThat(r(CB0 + 0x58)).isZero();
        smmu.translate(0x20, 0, false);
        assertThat(r(SmmuV2.SGFSR)).isEqualTo(SmmuV2.SGFSR_USF);
        w(SmmuV2.SGFSR, SmmuV2.SGFSR_USF);
        assertThat(r(SmmuV2.SGFSR)).isZero();
        smmu.bindStage2(0, null);
        assertThat(fault(smmu.translate(0x10, GUEST_RAM, false))).as("no tables bound").isEqualTo(IommuFault.TRANSLATION);
        w(0x1000, 1 << 16 | 1); // CBAR type stage 1: not modelled, faults
        smmu.bindStage2(0, guest);
        assertThat(fault(smmu.translate(0x10, GUEST_RAM, false))).isEqualTo(IommuFault.TRANSLATION);
    }
}
