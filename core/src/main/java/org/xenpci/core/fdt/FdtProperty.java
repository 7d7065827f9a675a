package org.xenpci.core.fdt;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * One device tree property: a name and an opaque byte value.
 *
 * <p>Values are stored exactly as in the blob. Numbers are big-endian 32-bit "cells"
 * (Devicetree Specification v0.4, 2.2.4.1); strings are NUL-terminated and string lists are
 * concatenations of NUL-terminated strings. The byte array is copied on the way in and out, so a
 * property is immutable and compares by content.
 *
 * @param name  property name (see {@link FdtNames#isValidPropertyName(String)})
 * @param value raw value bytes; may be empty
 */
public record FdtProperty(String name, byte[] value) {

    /**
     * Validates and copies.
     *
     * @param name  property name
     * @param value raw value bytes, copied
     * @throws FdtTreeException if the name is invalid
     */
    public FdtProperty {
        FdtNames.requirePropertyName(name);
        value = Objects.requireNonNull(value, "value").clone();
    }

    /**
     * Creates a property without a value, such as {@code interrupt-controller;}.
     *
     * @param name property name
     * @return the property
     */
    public static FdtProperty empty(String name) {
        return new FdtProperty(name, new byte[0]);
    }

    /**
     * Creates a string property (UTF-8, NUL-terminated).
     *
     * @param name property name
     * @param s    the string; must not contain NUL
     * @return the property
     */
    public static FdtProperty string(String name, String s) {
        return strings(name, s);
    }

    /**
     * Creates a string-list property such as {@code compatible = "a", "b";}.
     *
     * @param name    property name
     * @param strings the strings, none containing NUL
     * @return the property
     */
    public static FdtProperty strings(String name, String... strings) {
        var out = new ByteArrayOutputStream();
        for (String s : strings) {
            if (s.indexOf('\0') >= 0) {
                throw new FdtValueException(name, "string contains NUL: " + s);
            }
            out.writeBytes(s.getBytes(StandardCharsets.UTF_8));
            out.write(0);
        }
        return new FdtProperty(name, out.toByteArray());
    }

    /**
     * Creates a property of 32-bit cells, each stored big-endian.
     *
     * @param name  property name
     * @param cells cell values
     * @return the property
     */
    public static FdtProperty u32(String name, int... cells) {
        byte[] v = new byte[cells.length * 4];
        for (int i = 0; i < cells.length; i++) {
            putInt(v, i * 4, cells[i]);
        }
        return new FdtProperty(name, v);
    }

    /**
     * Creates a property of 64-bit numbers, each stored as two cells, most significant first.
     *
     * @param name   property name
     * @param values the numbers
     * @return the property
     */
    public static FdtProperty u64(String name, long... values) {
        byte[] v = new byte[values.length * 8];
        for (int i = 0; i < values.length; i++) {
            putInt(v, i * 8, (int) (values[i] >>> 32));
            putInt(v, i * 8 + 4, (int) values[i]);
        }
        return new FdtProperty(name, v);
    }

    /**
     * Creates a property from raw bytes, such as {@code local-mac-address = [00 11 22 33 44 55];}.
     *
     * @param name  property name
     * @param bytes the value, copied
     * @return the property
     */
    public static FdtProperty bytes(String name, byte[] bytes) {
        return new FdtProperty(name, bytes);
    }

    /**
     * Returns a copy of the raw value.
     *
     * @return the value bytes
     */
    @Override
    public byte[] value() {
        return value.clone();
    }

    /**
     * Returns the value length.
     *
     * @return length in bytes
     */
    public int length() {
        return value.length;
    }

    /**
     * Tells whether the value is empty (a boolean property).
     *
     * @return true if the value has no bytes
     */
    public boolean isEmpty() {
        return value.length == 0;
    }

    /**
     * Returns the byte at {@code index} without copying the value.
     *
     * @param index byte index
     * @return the byte
     */
    public byte byteAt(int index) {
        return value[index];
    }

    /**
     * Reads the value as one NUL-terminated string.
     *
     * @return the string without its terminator
     * @throws FdtValueException if the value is not exactly one NUL-terminated string
     */
    public String asString() {
        List<String> list = asStringList();
        if (list.size() != 1) {
            throw new FdtValueException(name, "expected one string but found " + list.size());
        }
        return list.get(0);
    }

    /**
     * Reads the value as a list of NUL-terminated strings.
     *
     * @return the strings, in order
     * @throws FdtValueException if the value is empty or its last byte is not NUL
     */
    public List<String> asStringList() {
        if (value.length == 0 || value[value.length - 1] != 0) {
            throw new FdtValueException(name, "value is not NUL-terminated (" + value.length + " bytes)");
        }
        List<String> out = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < value.length; i++) {
            if (value[i] == 0) {
                out.add(new String(value, start, i - start, StandardCharsets.UTF_8));
                start = i + 1;
            }
        }
        return List.copyOf(out);
    }

    /**
     * Reads the value as exactly one cell.
     *
     * @return the cell, as a signed int holding the unsigned 32-bit value
     * @throws FdtValueException if the value is not 4 bytes long
     */
    public int asU32() {
        if (value.length != 4) {
            throw new FdtValueException(name, "expected 4 bytes (one cell) but found " + value.length);
        }
        return getInt(value, 0);
    }

    /**
     * Reads the value as one 64-bit number in two cells, most significant cell first.
     *
     * @return the number
     * @throws FdtValueException if the value is not 8 bytes long
     */
    public long asU64() {
        if (value.length != 8) {
            throw new FdtValueException(name, "expected 8 bytes (two cells) but found " + value.length);
        }
        return asLong(0, 2);
    }

    /**
     * Reads the value as an array of cells.
     *
     * @return the cells
     * @throws FdtValueException if the length is not a multiple of 4 bytes
     */
    public int[] asCells() {
        if (value.length % 4 != 0) {
            throw new FdtValueException(name, "length " + value.length + " is not a multiple of 4 bytes");
        }
        int[] cells = new int[value.length / 4];
        for (int i = 0; i < cells.length; i++) {
            cells[i] = getInt(value, i * 4);
        }
        return cells;
    }

    /**
     * Returns the number of whole cells in the value.
     *
     * @return length in cells
     * @throws FdtValueException if the length is not a multiple of 4 bytes
     */
    public int cellCount() {
        if (value.length % 4 != 0) {
            throw new FdtValueException(name, "length " + value.length + " is not a multiple of 4 bytes");
        }
        return value.length / 4;
    }

    /**
     * Reads a number spread over consecutive cells, most significant cell first, as used by
     * {@code reg} and {@code ranges} with {@code #address-cells}/{@code #size-cells} (Devicetree Specification v0.4 2.3.5).
     *
     * @param cellIndex index of the first cell
     * @param cellCount number of cells, 0 to 2 (a zero-cell number is 0)
     * @return the number
     * @throws FdtValueException if the cells lie outside the value
     */
    public long asLong(int cellIndex, int cellCount) {
        if (cellCount < 0 || cellCount > 2) {
            throw new FdtValueException(name, "cannot read " + cellCount + " cells into 64 bits");
        }
        if (cellIndex < 0 || (long) (cellIndex + cellCount) * 4 > value.length) {
            throw new FdtValueException(name, "cells " + cellIndex + ".." + (cellIndex + cellCount - 1)
                    + " lie outside a " + value.length + "-byte value");
        }
        long v = 0;
        for (int i = 0; i < cellCount; i++) {
            v = (v << 32) | Integer.toUnsignedLong(getInt(value, (cellIndex + i) * 4));
        }
        return v;
    }

    /**
     * Returns a copy of this property with another name.
     *
     * @param newName the new name
     * @return the renamed property
     */
    public FdtProperty withName(String newName) {
        return new FdtProperty(newName, value);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FdtProperty p && name.equals(p.name) && Arrays.equals(value, p.value);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(value);
    }

    @Override
    public String toString() {
        return name + " = [" + HexFormat.ofDelimiter(" ").formatHex(value) + "]";
    }

    static int getInt(byte[] b, int off) {
        return ((b[off] & 0xff) << 24) | ((b[off + 1] & 0xff) << 16) | ((b[off + 2] & 0xff) << 8) | (b[off + 3] & 0xff);
    }

    static void putInt(byte[] b, int off, int v) {
        b[off] = (byte) (v >>> 24);
        b[off + 1] = (byte) (v >>> 16);
        b[off + 2] = (byte) (v >>> 8);
        b[off + 3] = (byte) v;
    }
}
