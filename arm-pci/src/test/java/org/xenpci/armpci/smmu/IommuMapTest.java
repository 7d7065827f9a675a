package org.xenpci.armpci.smmu;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.core.Errno;

@DisplayName("iommu-map / iommu-map-mask resolution (dt_map_id semantics)")
class IommuMapTest {
    private static final int SMMU = 0x8004;
    private static final int OTHER = 0x8005;

    @Test
    @DisplayName("an identity map gives stream ID = RID")
    void identity() {
        assertThat(IommuMap.mapId(0x0010, new int[] {0, SMMU, 0, 0x10000}, null))
                .isEqualTo(new IommuMap.Mapped(SMMU, 0x10));
    }

    @Test
    @DisplayName("the first entry covering the RID wins and offsets from its rid-base")
    void multipleEntries() {
        int[] map = {0x0000, SMMU, 0x100, 0x100, 0x0100, OTHER, 0x8000, 0x100};

        assertThat(IommuMap.mapId(0x00ff, map, null)).isEqualTo(new IommuMap.Mapped(SMMU, 0x1ff));
        assertThat(IommuMap.mapId(0x0100, map, null)).isEqualTo(new IommuMap.Mapped(OTHER, 0x8000));
        assertThat(IommuMap.mapId(0x0123, map, null)).isEqualTo(new IommuMap.Mapped(OTHER, 0x8023));
        assertThat(IommuMap.mapId(0x0200, map, null)).isInstanceOf(IommuMap.NotBehindIommu.class);
    }

    @Test
    @DisplayName("iommu-map-mask is applied to the RID before matching: functions share one stream ID")
    void mask() {
        int[] map = {0, SMMU, 0x400, 0x10000};
        int[] mask = {0xfff8};

        assertThat(IommuMap.mapId(0x0011, map, mask)).isEqualTo(new IommuMap.Mapped(SMMU, 0x410));
        assertThat(IommuMap.mapId(0x0017, map, mask)).isEqualTo(new IommuMap.Mapped(SMMU, 0x410));
        assertThat(IommuMap.mapId(0x0018, map, mask)).isEqualTo(new IommuMap.Mapped(SMMU, 0x418));
    }

    @Test
    @DisplayName("no iommu-map means not behind an IOMMU")
    void absent() {
        assertThat(IommuMap.mapId(0x10, null, null)).isEqualTo(new IommuMap.NotBehindIommu("no iommu-map"));
    }

    @Test
    @DisplayName("a map that is not whole 4-cell entries is -EINVAL; a rid-base outside the mask -EFAULT")
    void malformed() {
        assertThat(((IommuMap.Malformed) IommuMap.mapId(0, new int[] {0, SMMU, 0}, null)).errno()).isEqualTo(Errno.EINVAL);
        assertThat(((IommuMap.Malformed) IommuMap.mapId(0, new int[] {0x100, SMMU, 0, 0x10}, new int[] {0xff})).errno())
                .isEqualTo(Errno.EFAULT);
    }

    @Test
    @DisplayName("output IDs are u32: iommu-base + offset wraps at 2^32")
    void u32Arithmetic() {
        assertThat(IommuMap.mapId(0x2, new int[] {0, SMMU, 0xffffffff, 0x10}, null))
                .isEqualTo(new IommuMap.Mapped(SMMU, 0x1));
    }
}
