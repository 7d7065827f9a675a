package org.xenpci.libxl.toolstack;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * A minimal xenstore: a tree of absolute paths ({@code /libxl/pci/0000-01-00-0/domid}) holding
 * string values, enough for the entries libxl writes for PCI passthrough ({@code libxl__device_pci_add_xenstore}, tools/libs/light/libxl_pci.c).
 * No transactions, watches or permissions: the model's toolstack is the only writer.
 *
 * <p>Writing a path creates its parents with empty values, as xenstored does. Thread-safe:
 * every method is synchronized.
 */
public final class Xenstore {
    private final TreeMap<String, String> nodes = new TreeMap<>();

    /** Writes {@code value} at {@code path}, creating missing parents (empty values). */
    public synchronized void write(String path, String value) {
        check(path);
        for (int i = path.indexOf('/', 1); i > 0; i = path.indexOf('/', i + 1)) {
            nodes.putIfAbsent(path.substring(0, i), "");
        }
        nodes.put(path, value);
    }

    /** The value at {@code path}, if the node exists. */
    public synchronized Optional<String> read(String path) {
        check(path);
        return Optional.ofNullable(nodes.get(path));
    }

    /** True if the node exists. */
    public synchronized boolean exists(String path) {
        check(path);
        return nodes.containsKey(path);
    }

    /** Removes {@code path} and everything below it ({@code xs_rm}); absent paths are ignored. */
    public synchronized void rm(String path) {
        check(path);
        nodes.remove(path);
        nodes.subMap(path + "/", path + "0").clear(); // '0' follows '/' in ASCII
    }

    /** Names of the direct children of {@code path}, sorted ({@code xs_directory}); empty if none. */
    public synchronized List<String> directory(String path) {
        check(path);
        List<String> out = new ArrayList<>();
        String prefix = path.equals("/") ? "/" : path + "/";
        for (String k : nodes.subMap(prefix, prefix.substring(0, prefix.length() - 1) + "0").keySet()) {
            String rest = k.substring(prefix.length());
            if (!rest.isEmpty() && rest.indexOf('/') < 0) {
                out.add(rest);
            }
        }
        return out;
    }

    /** Every node below {@code path} (inclusive) with its value, in path order. */
    public synchronized Map<String, String> dump(String path) {
        check(path);
        TreeMap<String, String> out = new TreeMap<>();
        if (nodes.containsKey(path)) {
            out.put(path, nodes.get(path));
        }
        out.putAll(nodes.subMap(path.equals("/") ? "/" : path + "/", path.equals("/") ? "0" : path + "0"));
        return Collections.unmodifiableMap(out);
    }

    private static void check(String path) {
        if (path == null || !path.startsWith("/") || (path.length() > 1 && path.endsWith("/")) || path.contains("//")) {
            throw new IllegalArgumentException("bad xenstore path \"" + path + "\"");
        }
    }
}
