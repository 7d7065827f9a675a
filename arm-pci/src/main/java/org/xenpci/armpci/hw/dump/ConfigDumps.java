package org.xenpci.armpci.hw.dump;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.xenpci.core.pci.Sbdf;

/**
 * Reads and writes config-space dumps.
 *
 * <p>Text form ({@code lspci -xxxx}; facts from pciutils 3.9.0 {@code lib/dump.c}):
 * <pre>
 * 00:02.0 Non-Volatile memory controller: Red Hat, Inc. QEMU NVM Express Controller (rev 02)
 * 00: 36 1b 10 00 07 05 10 00 02 02 08 01 00 00 00 00
 * ...
 * ff0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
 * (blank line)
 * </pre>
 * A header line is {@code BB:DD.F} or {@code DDDD:BB:DD.F} followed by a space (the rest is a
 * description and ignored). A data line is an offset of 2 or 3 hex digits, a colon, then
 * two-digit hex bytes separated by blanks; case does not matter, CRLF is accepted. A blank line
 * ends a device. Anything else, and any malformed token, is a {@link ConfigDumpException}
 * naming the 1-based line. Bytes a text does not give read 0xff (as {@code lspci -F} treats
 * them); the result is 256 bytes when every offset is below 0x100, else 4096.
 *
 * <p>Stateless; thread-safe.
 */
public final class ConfigDumps {
    private static final Pattern HEADER =
            Pattern.compile("^(?:([0-9a-fA-F]{4}):)?([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\\.([0-7]) .*$");
    private static final Pattern DATA = Pattern.compile("^([0-9a-fA-F]+):(.*)$");
    private static final Pattern BYTE = Pattern.compile("[0-9a-fA-F]{2}");
    private static final int LEGACY = 256;
    private static final int FULL = 4096;

    private ConfigDumps() {
    }

    /**
     * A binary dump ({@code /sys/bus/pci/devices/.../config}, or what {@link #toBinary} made).
     *
     * @return a copy of {@code data}
     * @throws ConfigDumpException unless exactly 256 or 4096 bytes
     */
    public static byte[] readBinary(byte[] data) {
        if (data.length != LEGACY && data.length != FULL) {
            throw new ConfigDumpException(0, "binary config dump must be 256 or 4096 bytes, not " + data.length);
        }
        return data.clone();
    }

    /** The binary form of a config image: a copy (256 or 4096 bytes, checked). */
    public static byte[] toBinary(byte[] config) {
        return readBinary(config);
    }

    /**
     * Parses the text of ONE device; a header line is optional.
     *
     * @throws ConfigDumpException for a malformed line, a second device or no data at all
     */
    public static byte[] parseLspci(String text) {
        List<Device> devices = parse(text, false, true);
        if (devices.isEmpty()) {
            throw new ConfigDumpException(0, "no config data lines");
        }
        return devices.get(0).bytes();
    }

    /**
     * Parses the text of several devices, each introduced by its header line.
     *
     * @throws ConfigDumpException for a malformed line or data before any header
     */
    public static List<LspciDump> parseLspciAll(String text) {
        List<LspciDump> out = new ArrayList<>();
        for (Device d : parse(text, true, false)) {
            out.add(new LspciDump(d.header, d.address, d.bytes()));
        }
        return out;
    }

    /**
     * The {@code lspci -xxxx} text of one function: the header line, 16 bytes per line
     * ({@code %02x:} offsets below 0x100, {@code %03x:} above), then a blank line.
     *
     * @param address printed as {@code BB:DD.F}, or {@code DDDD:BB:DD.F} for a non-zero segment
     * @param description the rest of the header line (e.g. {@code Ethernet controller: Intel ...})
     * @param config 256 or 4096 bytes
     */
    public static String formatLspci(Sbdf address, String description, byte[] config) {
        String bdf = address.segment() == 0
                ? String.format("%02x:%02x.%x", address.bus(), address.device(), address.function())
                : String.format("%04x:%02x:%02x.%x", address.segment(), address.bus(), address.device(), address.function());
        return formatLspci(bdf + " " + description, config);
    }

    /** As {@link #formatLspci(Sbdf, String, byte[])} with a ready header line. */
    public static String formatLspci(String headerLine, byte[] config) {
        readBinary(config);
        StringBuilder sb = new StringBuilder(config.length * 3 + config.length / 16 * 5 + headerLine.length() + 2);
        sb.append(headerLine).append('\n');
        for (int off = 0; off < config.length; off += 16) {
            sb.append(String.format(off < 0x100 ? "%02x:" : "%03x:", off));
            for (int i = 0; i < 16; i++) {
                sb.append(String.format(" %02x", config[off + i] & 0xff));
            }
            sb.append('\n');
        }
        return sb.append('\n').toString();
    }

    /* ---------------- parsing ---------------- */

    private static final class Device {
        final String header;
        final Sbdf address;
        final int firstLine;
        /*
         * Allocated with the first data line: a header line costs no 4 KiB image, so memory
         * stays proportional to the data the text holds, however many headers it has.
         */
        private byte[] data;
        int highest = -1;

        Device(String header, Sbdf address, int firstLine) {
            this.header = header;
            this.address = address;
            this.firstLine = firstLine;
        }

        void put(int offset, byte value) {
            if (data == null) {
                data = new byte[FULL];
                Arrays.fill(data, (byte) 0xff);
            }
            data[offset] = value;
        }

        byte[] bytes() {
            if (data == null) {
                byte[] none = new byte[LEGACY];
                Arrays.fill(none, (byte) 0xff);
                return none;
            }
            return Arrays.copyOf(data, highest < LEGACY ? LEGACY : FULL);
        }
    }

    /**
     * @param single one device expected: a second one is an error at its first line, raised
     *     there (so a text of many headers is not read to the end first)
     */
    private static List<Device> parse(String text, boolean headersRequired, boolean single) {
        List<Device> devices = new ArrayList<>();
        Device current = null;
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            int lineNo = i + 1;
            String line = lines[i].endsWith("\r") ? lines[i].substring(0, lines[i].length() - 1) : lines[i];
            if (line.isBlank()) {
                current = null;
                continue;
            }
            Matcher h = HEADER.matcher(line);
            if (h.matches()) {
                if (single && !devices.isEmpty()) {
                    throw new ConfigDumpException(lineNo, "a second device; expected one");
                }
                current = new Device(line, address(h, lineNo), lineNo);
                devices.add(current);
                continue;
            }
            Matcher d = DATA.matcher(line);
            if (!d.matches()) {
                throw new ConfigDumpException(lineNo, "neither a device header (BB:DD.F ...) nor a data line (OFF: xx ...): \""
                        + abbreviate(line) + "\"");
            }
            String off = d.group(1);
            if (off.length() < 2 || off.length() > 3) {
                throw new ConfigDumpException(lineNo, "offset \"" + off + "\" must have 2 or 3 hex digits");
            }
            if (current == null) {
                if (single && !devices.isEmpty()) {
                    throw new ConfigDumpException(lineNo, "a second device; expected one");
                }
                if (headersRequired) {
                    throw new ConfigDumpException(lineNo, "data line before any device header");
                }
                current = new Device("", Sbdf.of(0, 0, 0), lineNo);
                devices.add(current);
            }
            int offset = Integer.parseInt(off, 16);
            String rest = d.group(2).trim();
            if (rest.isEmpty()) {
                continue;
            }
            String[] tokens = rest.split("[ \t]+");
            if (offset + tokens.length > FULL) {
                throw new ConfigDumpException(lineNo, "data runs past 4096 bytes of config space (offset 0x"
                        + Integer.toHexString(offset) + ", " + tokens.length + " bytes)");
            }
            for (int t = 0; t < tokens.length; t++) {
                if (!BYTE.matcher(tokens[t]).matches()) {
                    throw new ConfigDumpException(lineNo, "token " + (t + 1) + " \"" + abbreviate(tokens[t])
                            + "\" is not a two-digit hex byte");
                }
                current.put(offset + t, (byte) Integer.parseInt(tokens[t], 16));
            }
            current.highest = Math.max(current.highest, offset + tokens.length - 1);
        }
        return devices;
    }

    private static Sbdf address(Matcher h, int lineNo) {
        int segment = h.group(1) == null ? 0 : Integer.parseInt(h.group(1), 16);
        try {
            return new Sbdf(segment, Integer.parseInt(h.group(2), 16), Integer.parseInt(h.group(3), 16),
                    Integer.parseInt(h.group(4), 16));
        } catch (IllegalArgumentException e) {
            throw new ConfigDumpException(lineNo, "bad device address in header: " + e.getMessage());
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "...";
    }
}
