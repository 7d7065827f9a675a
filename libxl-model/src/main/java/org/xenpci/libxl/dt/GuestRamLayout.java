package org.xenpci.libxl.dt;

import static org.xenpci.libxl.dt.GuestMemoryMap.EXT_REGION_MIN_SIZE;
import static org.xenpci.libxl.dt.GuestMemoryMap.GUEST_RAM0_SIZE;
import static org.xenpci.libxl.dt.GuestMemoryMap.GUEST_RAM_BANKS;
import static org.xenpci.libxl.dt.GuestMemoryMap.GUEST_RAM_MAX;
import static org.xenpci.libxl.dt.GuestMemoryMap.MAX_NR_EXT_REGIONS;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Where a guest's RAM goes and what is left for extended regions.
 *
 * <p>Bank split (tools/libs/guest/xg_dom_arm.c): bank 0 takes min(ram, 3 GiB), bank 1
 * the rest. Extended regions (libxl_arm.c: libxl__arch_domain_finalise_hw_description): for each bank, the unpopulated
 * tail {@code [base + ALIGN_UP_2MiB(populated), min(bank end, 2^gpaddr_bits - 1)]}, minus every
 * {@code iomem=} range, keeping pieces of at least 64 MiB, at most 256 in all.
 *
 * @param bankBytes populated bytes per bank, bank order
 */
public record GuestRamLayout(long[] bankBytes) {

    private static final long TWO_MIB = 2L << 20;

    /** Copies. */
    public GuestRamLayout {
        bankBytes = bankBytes.clone();
        if (bankBytes.length != GUEST_RAM_BANKS) {
            throw new IllegalArgumentException("expected " + GUEST_RAM_BANKS + " banks, got " + bankBytes.length);
        }
    }

    /**
     * Splits populated RAM over the banks, bank 0 first.
     *
     * @param ramBytes populated RAM, bytes (libxl: {@code max_memkb * 1024})
     * @return the layout
     * @throws IllegalArgumentException if {@code ramBytes} is not positive or exceeds GUEST_RAM_MAX
     */
    public static GuestRamLayout split(long ramBytes) {
        if (ramBytes <= 0 || ramBytes > GUEST_RAM_MAX) {
            throw new IllegalArgumentException("guest RAM 0x" + Long.toHexString(ramBytes)
                    + " bytes outside 1..GUEST_RAM_MAX (0x" + Long.toHexString(GUEST_RAM_MAX) + ")");
        }
        long bank0 = Math.min(ramBytes, GUEST_RAM0_SIZE);
        return new GuestRamLayout(new long[] {bank0, ramBytes - bank0});
    }

    /**
     * Returns the populated bytes of one bank.
     *
     * @param bank 0 or 1
     * @return bytes; 0 means libxl NOPs the bank's memory node out
     */
    public long bankSize(int bank) {
        return bankBytes[bank];
    }

    @Override
    public long[] bankBytes() {
        return bankBytes.clone();
    }

    /**
     * Computes the extended regions libxl puts after the grant table in {@code /hypervisor/reg}.
     *
     * @param gpaddrBits the domain's guest physical address width (host dependent; 40 in the
     *                   spec's worked example)
     * @param iomem      guest ranges of {@code iomem=} mappings to leave out, any order
     * @return regions in address order
     */
    public List<AddressRange> extendedRegions(int gpaddrBits, List<AddressRange> iomem) {
        if (gpaddrBits < 32 || gpaddrBits > 64) {
            throw new IllegalArgumentException("gpaddr_bits " + gpaddrBits + " outside 32..64");
        }
        long limit = gpaddrBits == 64 ? -1L : (1L << gpaddrBits) - 1;
        List<AddressRange> holes = new ArrayList<>(iomem);
        holes.sort(Comparator.comparingLong(AddressRange::start));
        List<AddressRange> out = new ArrayList<>();
        for (int i = 0; i < GUEST_RAM_BANKS; i++) {
            AddressRange bank = GuestMemoryMap.ramBank(i);
            long start = bank.start() + alignUp2M(bankBytes[i]);
            long end = Math.min(bank.end(), limit);
            if (start > end) {
                continue;
            }
            // Walk the sorted iomem ranges, emitting the gaps between them.
            long cursor = start;
            for (AddressRange h : holes) {
                if (h.end() < cursor || h.start() > end) {
                    continue;
                }
                if (h.start() > cursor) {
                    add(out, cursor, h.start() - 1);
                }
                cursor = Math.max(cursor, h.end() + 1);
                if (cursor > end) {
                    break;
                }
            }
            if (cursor <= end) {
                add(out, cursor, end);
            }
        }
        return out.size() > MAX_NR_EXT_REGIONS ? List.copyOf(out.subList(0, MAX_NR_EXT_REGIONS)) : List.copyOf(out);
    }

    private static void add(List<AddressRange> out, long start, long end) {
        if (end - start + 1 >= EXT_REGION_MIN_SIZE) {
            out.add(new AddressRange(start, end));
        }
    }

    private static long alignUp2M(long v) {
        return (v + TWO_MIB - 1) & -TWO_MIB;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GuestRamLayout l && java.util.Arrays.equals(bankBytes, l.bankBytes);
    }

    @Override
    public int hashCode() {
        return java.util.Arrays.hashCode(bankBytes);
    }

    @Override
    public String toString() {
        return "GuestRamLayout[bank0=0x" + Long.toHexString(bankBytes[0]) + ", bank1=0x"
                + Long.toHexString(bankBytes[1]) + "]";
    }
}
