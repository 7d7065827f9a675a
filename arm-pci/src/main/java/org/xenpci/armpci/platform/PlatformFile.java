package org.xenpci.armpci.platform;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.xenpci.core.Hex;
import org.xenpci.core.IoReason;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.fdt.FdtException;
import org.xenpci.core.fdt.FdtReader;
import org.xenpci.core.fdt.FdtWriter;
import org.xenpci.core.pci.Sbdf;

/**
 * A platform file: the host device tree, the Xen command line and the PCI functions on the
 * board. The format is a contract other tools write (docs/platform-file.md):
 *
 * <pre>
 * { "hostDtb": "board.dtb",
 *   "memory": [ { "base": "0x40000000", "size": "0x40000000" } ],
 *   "cmdline": "pci-passthrough=on",
 *   "devices": [ { "sbdf": "0000:00:02.0", "config": "nvme.cfg",
 *                  "bars": [ { "index": 0, "size": "0x4000" } ], "romSize": "0x40000" } ] }
 * </pre>
 *
 * Paths are relative to the platform file. Parsing is strict: an unknown or malformed field is
 * a {@link PlatformFileException} naming file, field and value.
 *
 * @param source where it was read from (for messages)
 * @param hostDtb the host DTB bytes as the bootloader hands them to Xen: the file's blob, with the
 *     {@code memory} banks written into it (see {@link MemoryBanks}) when the file gives them
 * @param cmdline the Xen command line
 * @param devices the functions, in file order
 */
public record PlatformFile(String source, byte[] hostDtb, String cmdline, List<DeviceEntry> devices) {

    /** Command line used when the file gives none: platform files describe passthrough setups. */
    public static final String DEFAULT_CMDLINE = "pci-passthrough=on";

    public PlatformFile {
        devices = List.copyOf(devices);
    }

    /**
     * One function on the board.
     *
     * @param sbdf where the function sits (a non-root bus means: behind the bridge whose config
     *        data routes that bus)
     * @param configSource the config file name as written
     * @param config its raw bytes (binary 256/4096-byte dump or {@code lspci -xxxx} text)
     * @param barSizes BAR index to size in bytes; BARs not listed are unimplemented
     * @param romSize expansion ROM size in bytes, 0 for none
     */
    public record DeviceEntry(Sbdf sbdf, String configSource, byte[] config, Map<Integer, Long> barSizes, long romSize) {
        public DeviceEntry {
            barSizes = Map.copyOf(barSizes);
        }
    }

    private static final Set<String> TOP = Set.of("hostDtb", "memory", "cmdline", "devices", "description");
    private static final Set<String> BANK = Set.of("base", "size");
    /** Xen's page size: its allocator takes whole pages (Hardware refuses a DT bank that is not aligned). */
    private static final long PAGE = 0x1000;
    private static final Set<String> DEVICE = Set.of("sbdf", "config", "bars", "romSize", "description");
    private static final Set<String> BAR = Set.of("index", "size");

    /** Reads and validates a platform file; referenced files are read relative to it. */
    public static PlatformFile load(Path file) {
        String name = file.toString();
        byte[] json;
        try {
            json = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new PlatformFileException(name, "", null, "cannot read: " + IoReason.of(e), e);
        }
        Path dir = file.toAbsolutePath().getParent();
        return parse(name, json, rel -> {
            Path p = dir.resolve(rel);
            if (!Files.exists(p)) {
                return null;
            }
            try {
                return Files.readAllBytes(p);
            } catch (IOException e) {
                // Present but unreadable: say why, naming the file.
                throw new PlatformFileException(name, "", rel, "cannot read " + p + ": " + IoReason.of(e), e);
            }
        });
    }

    /**
     * Resolves a file name the platform file references to its bytes: null if there is no such
     * file; a file that exists but cannot be read throws a {@link PlatformFileException}.
     */
    @FunctionalInterface
    public interface Resolver {
        byte[] read(String relativePath);
    }

    /**
     * Jackson's reason on one line, without its source description ({@code [Source: ...]},
     * which names nothing useful here and may be redacted), followed by the position Jackson
     * reports, e.g. {@code Unexpected end-of-input: expected close marker for Object at line 3,
     * column 1}.
     */
    static String jsonError(JsonProcessingException e) {
        String m = e.getOriginalMessage() == null ? e.getClass().getSimpleName() : e.getOriginalMessage();
        // Jackson nests "(start marker at [Source: ...; line: L, column: C])" in some messages.
        m = m.replaceAll("\\s*\\(start marker at \\[Source:[^\\]]*\\]\\)", "")
                .replaceAll("\\s*at \\[Source:[^\\]]*\\]", "")
                .replaceAll("\\s+", " ").strip();
        com.fasterxml.jackson.core.JsonLocation at = e.getLocation();
        if (at != null && at.getLineNr() > 0) {
            m += " at line " + at.getLineNr() + ", column " + at.getColumnNr();
        }
        return m;
    }

    /** Parses platform JSON; {@code resolver} supplies referenced files. */
    public static PlatformFile parse(String source, byte[] json, Resolver resolver) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(json);
        } catch (JsonProcessingException e) {
            throw new PlatformFileException(source, "", null, "not valid JSON: " + jsonError(e), e);
        } catch (IOException e) {
            throw new PlatformFileException(source, "", null, "cannot parse: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new PlatformFileException(source, "", null, "top level must be a JSON object");
        }
        onlyKnown(source, "", root, TOP);
        String dtbName = text(source, "/hostDtb", root.get("hostDtb"), true);
        byte[] dtb = resolver.read(dtbName);
        if (dtb == null) {
            throw new PlatformFileException(source, "/hostDtb", dtbName, "file not found");
        }
        Fdt fdt;
        try {
            // Checked here, where the file name is known, so the error can name it as the value.
            fdt = FdtReader.read(dtb);
        } catch (FdtException e) {
            throw new PlatformFileException(source, "/hostDtb", dtbName, "malformed DTB: " + e.getMessage(), e);
        }
        if (root.has("memory")) {
            // What the bootloader does before starting Xen: the blob Xen gets has these banks.
            dtb = FdtWriter.write(memoryBanks(source, root.get("memory"), fdt).applyTo(fdt));
        }
        String cmdline = root.has("cmdline") ? text(source, "/cmdline", root.get("cmdline"), false) : DEFAULT_CMDLINE;
        List<DeviceEntry> devices = new ArrayList<>();
        JsonNode list = root.get("devices");
        if (list != null) {
            if (!list.isArray()) {
                throw new PlatformFileException(source, "/devices", list.toString(), "must be an array");
            }
            Set<Sbdf> seen = new HashSet<>();
            for (int i = 0; i < list.size(); i++) {
                DeviceEntry d = device(source, "/devices/" + i, list.get(i), resolver);
                if (!seen.add(d.sbdf())) {
                    throw new PlatformFileException(source, "/devices/" + i + "/sbdf", d.sbdf().toString(), "listed twice");
                }
                devices.add(d);
            }
        }
        return new PlatformFile(source, dtb, cmdline, devices);
    }

    /** The {@code memory} field: non-empty, each bank page-aligned, non-zero, not wrapping, disjoint, and fitting the root's cells. */
    private static MemoryBanks memoryBanks(String src, JsonNode list, Fdt fdt) {
        if (!list.isArray()) {
            throw new PlatformFileException(src, "/memory", list.toString(), "must be an array");
        }
        if (list.isEmpty()) {
            throw new PlatformFileException(src, "/memory", list.toString(), "must list at least one bank (Xen panics \"No memory bank\")");
        }
        int ac = MemoryBanks.addressCells(fdt);
        int sc = MemoryBanks.sizeCells(fdt);
        if (ac < 1 || ac > 2 || sc < 1 || sc > 2) {
            throw new PlatformFileException(src, "/memory", list.toString(), "the host DT's root has #address-cells = <" + ac
                    + "> and #size-cells = <" + sc + ">; memory banks need 1 or 2 of each");
        }
        List<MemoryBanks.Bank> banks = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            String at = "/memory/" + i;
            JsonNode n = list.get(i);
            if (!n.isObject()) {
                throw new PlatformFileException(src, at, n.toString(), "must be an object");
            }
            onlyKnown(src, at, n, BANK);
            long base = number(src, at + "/base", n.get("base"));
            long size = number(src, at + "/size", n.get("size"));
            String baseText = n.get("base").asText();
            String sizeText = n.get("size").asText();
            if (size == 0) {
                throw new PlatformFileException(src, at + "/size", sizeText, "must not be 0");
            }
            if ((base & (PAGE - 1)) != 0) {
                throw new PlatformFileException(src, at + "/base", baseText, "must be 4 KiB-aligned (Xen allocates whole pages)");
            }
            if ((size & (PAGE - 1)) != 0) {
                throw new PlatformFileException(src, at + "/size", sizeText, "must be a multiple of 4 KiB (Xen allocates whole pages)");
            }
            if (Long.compareUnsigned(base + size - 1, base) < 0) {
                throw new PlatformFileException(src, at + "/size", sizeText, "bank at " + Hex.of(base) + " wraps past the top of the address space");
            }
            if (ac == 1 && Long.compareUnsigned(base + size - 1, 0xffff_ffffL) > 0) {
                throw new PlatformFileException(src, at + "/base", baseText,
                        "bank reaches beyond 4 GiB, which the host DT's #address-cells = <1> cannot express");
            }
            if (sc == 1 && Long.compareUnsigned(size, 0xffff_ffffL) > 0) {
                throw new PlatformFileException(src, at + "/size", sizeText,
                        "does not fit the host DT's #size-cells = <1>; split the bank");
            }
            banks.add(new MemoryBanks.Bank(base, size));
        }
        int[] overlap = MemoryBanks.firstOverlap(banks);
        if (overlap != null) {
            throw new PlatformFileException(src, "/memory/" + overlap[1], list.get(overlap[1]).toString(),
                    "overlaps /memory/" + overlap[0] + " (" + banks.get(overlap[0]) + ")");
        }
        return new MemoryBanks(banks);
    }

    private static DeviceEntry device(String src, String at, JsonNode n, Resolver resolver) {
        if (n == null || !n.isObject()) {
            throw new PlatformFileException(src, at, String.valueOf(n), "must be an object");
        }
        onlyKnown(src, at, n, DEVICE);
        String sbdfText = text(src, at + "/sbdf", n.get("sbdf"), true);
        Sbdf sbdf;
        try {
            sbdf = Sbdf.parse(sbdfText);
        } catch (IllegalArgumentException e) {
            throw new PlatformFileException(src, at + "/sbdf", sbdfText, e.getMessage(), e);
        }
        String cfgName = text(src, at + "/config", n.get("config"), true);
        byte[] cfg = resolver.read(cfgName);
        if (cfg == null) {
            throw new PlatformFileException(src, at + "/config", cfgName, "file not found");
        }
        java.util.TreeMap<Integer, Long> bars = new java.util.TreeMap<>();
        JsonNode barList = n.get("bars");
        if (barList != null) {
            if (!barList.isArray()) {
                throw new PlatformFileException(src, at + "/bars", barList.toString(), "must be an array");
            }
            for (int b = 0; b < barList.size(); b++) {
                String bat = at + "/bars/" + b;
                JsonNode bar = barList.get(b);
                if (!bar.isObject()) {
                    throw new PlatformFileException(src, bat, bar.toString(), "must be an object");
                }
                onlyKnown(src, bat, bar, BAR);
                JsonNode idx = bar.get("index");
                if (idx == null || !idx.isInt() || idx.asInt() < 0 || idx.asInt() > 5) {
                    throw new PlatformFileException(src, bat + "/index", String.valueOf(idx), "must be an integer 0..5");
                }
                long size = number(src, bat + "/size", bar.get("size"));
                if (size <= 0 || Long.bitCount(size) != 1) {
                    throw new PlatformFileException(src, bat + "/size", bar.get("size").asText(), "must be a power of two");
                }
                if (bars.put(idx.asInt(), size) != null) {
                    throw new PlatformFileException(src, bat + "/index", idx.toString(), "BAR listed twice");
                }
            }
        }
        long rom = 0;
        if (n.has("romSize")) {
            rom = number(src, at + "/romSize", n.get("romSize"));
            if (rom != 0 && (Long.bitCount(rom) != 1 || rom < 0x800 || rom > 0x80000000L)) {
                throw new PlatformFileException(src, at + "/romSize", n.get("romSize").asText(),
                        "must be 0 or a power of two from 0x800 to 0x80000000");
            }
        }
        return new DeviceEntry(sbdf, cfgName, cfg, bars, rom);
    }

    private static void onlyKnown(String src, String at, JsonNode obj, Set<String> known) {
        for (Iterator<String> it = obj.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!known.contains(f)) {
                throw new PlatformFileException(src, at + "/" + f, obj.get(f).toString(), "unknown field");
            }
        }
    }

    private static String text(String src, String at, JsonNode n, boolean required) {
        if (n == null) {
            if (required) {
                throw new PlatformFileException(src, at, null, "missing");
            }
            return "";
        }
        if (!n.isTextual()) {
            throw new PlatformFileException(src, at, n.toString(), "must be a string");
        }
        return n.asText();
    }

    /** A size: a JSON integer, or a string in hex ({@code "0x4000"}) or decimal. */
    private static long number(String src, String at, JsonNode n) {
        if (n == null) {
            throw new PlatformFileException(src, at, null, "missing");
        }
        if (n.isIntegralNumber() && n.canConvertToLong()) {
            return n.asLong();
        }
        if (n.isTextual()) {
            try {
                return Hex.parse(n.asText());
            } catch (NumberFormatException e) {
                throw new PlatformFileException(src, at, n.asText(), "not a number", e);
            }
        }
        throw new PlatformFileException(src, at, n.toString(), "must be a number or a hex string");
    }
}
