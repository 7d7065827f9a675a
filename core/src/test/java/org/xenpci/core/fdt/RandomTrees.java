package org.xenpci.core.fdt;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * Seeded generator of valid random trees for property-style tests. Names are drawn so that
 * dtc's string-table tail sharing is exercised ({@code cells} after {@code #address-cells}), and
 * values cover every rendering shape: empty, strings (with escapes), cells, odd-length bytes.
 */
final class RandomTrees {
    private static final String[] PROPERTY_NAMES = {
        "compatible", "#address-cells", "#size-cells", "cells", "address-cells", "size-cells", "reg", "status",
        "model", "ells", "s", "linux,code", "clock-frequency", "x", "vendor,prop", "a.b_c+d?e#f",
    };
    private static final String NODE_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,._+-";

    private final Random random;

    RandomTrees(long seed) {
        this.random = new Random(seed);
    }

    Fdt tree() {
        List<MemReserve> reserves = new ArrayList<>();
        int n = random.nextInt(4);
        for (int i = 0; i < n; i++) {
            // size 0 would end the list for dtc and libfdt, which stop at the first zero size
            reserves.add(new MemReserve(random.nextLong(), random.nextLong() | 1));
        }
        return new Fdt(node("", 0), reserves, random.nextInt(3) == 0 ? random.nextInt() : 0);
    }

    /**
     * A random tree in which some nodes are clock providers (explicit {@code phandle} and
     * {@code #clock-cells}) and others consume them through {@code clocks}, so the DTS writer's
     * labels and references are exercised.
     */
    Fdt treeWithPhandles() {
        Fdt fdt = tree();
        List<String> paths = new ArrayList<>(fdt.paths().subList(1, fdt.paths().size()));
        if (paths.size() < 2) {
            return fdt;
        }
        int providers = 1 + random.nextInt(Math.min(4, paths.size() - 1));
        int[] phandles = new int[providers];
        int[] argCounts = new int[providers];
        for (int i = 0; i < providers; i++) {
            String path = paths.remove(random.nextInt(paths.size()));
            phandles[i] = 1 + random.nextInt(0x10000);
            for (int j = 0; j < i; j++) {
                if (phandles[j] == phandles[i]) {
                    phandles[i]++;
                    j = -1;
                }
            }
            argCounts[i] = random.nextInt(3);
            FdtNode n = fdt.node(path).orElseThrow();
            fdt = fdt.with(path, n.toBuilder()
                    .setProperty(FdtProperty.u32("#clock-cells", argCounts[i]))
                    .setProperty(FdtProperty.u32("phandle", phandles[i]))
                    .build());
        }
        for (String path : paths) {
            if (random.nextBoolean()) {
                continue;
            }
            List<Integer> cells = new ArrayList<>();
            int entries = 1 + random.nextInt(3);
            for (int e = 0; e < entries; e++) {
                int p = random.nextInt(providers);
                cells.add(phandles[p]);
                for (int a = 0; a < argCounts[p]; a++) {
                    cells.add(random.nextInt(64));
                }
            }
            FdtNode n = fdt.node(path).orElseThrow();
            fdt = fdt.with(path, n.toBuilder()
                    .setProperty(FdtProperty.u32("clocks", cells.stream().mapToInt(Integer::intValue).toArray()))
                    .build());
        }
        return fdt;
    }

    private FdtNode node(String name, int depth) {
        FdtNode.Builder b = name.isEmpty() ? FdtNode.root() : FdtNode.builder(name);
        Set<String> propNames = new HashSet<>();
        int props = random.nextInt(7);
        for (int i = 0; i < props; i++) {
            String pn = random.nextInt(4) == 0 ? randomName(12, "abcdefghijklmnopqrstuvwxyz0123456789,._+?#-")
                    : PROPERTY_NAMES[random.nextInt(PROPERTY_NAMES.length)];
            if (propNames.add(pn)) {
                b.property(new FdtProperty(pn, value()));
            }
        }
        if (depth < 4) {
            Set<String> childNames = new HashSet<>();
            int children = random.nextInt(depth == 0 ? 5 : 4);
            for (int i = 0; i < children; i++) {
                String cn = randomName(10, NODE_CHARS);
                if (random.nextBoolean()) {
                    cn += "@" + Integer.toHexString(random.nextInt(0x100000));
                }
                if (childNames.add(cn)) {
                    b.child(node(cn, depth + 1));
                }
            }
        }
        return b.build();
    }

    private String randomName(int maxLen, String alphabet) {
        int len = 1 + random.nextInt(maxLen);
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < len; i++) {
            s.append(alphabet.charAt(random.nextInt(alphabet.length())));
        }
        return s.toString();
    }

    private byte[] value() {
        switch (random.nextInt(6)) {
            case 0:
                return new byte[0];
            case 1: {
                int count = 1 + random.nextInt(3);
                StringBuilder s = new StringBuilder();
                for (int i = 0; i < count; i++) {
                    s.append(randomName(8, "abcdefghijkl mnop,\"\\\t\n-=;<>[]{}/&")).append('\0');
                }
                return s.toString().getBytes(StandardCharsets.ISO_8859_1);
            }
            case 2: {
                int[] cells = new int[1 + random.nextInt(6)];
                for (int i = 0; i < cells.length; i++) {
                    cells[i] = random.nextBoolean() ? random.nextInt(16) : random.nextInt();
                }
                return FdtProperty.u32("x", cells).value();
            }
            default: {
                byte[] v = new byte[random.nextInt(11)];
                random.nextBytes(v);
                return v;
            }
        }
    }
}
