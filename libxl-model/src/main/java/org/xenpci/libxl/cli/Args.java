package org.xenpci.libxl.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A small, strict option parser: {@code --name value}, {@code --name=value}, boolean
 * {@code --flag}, short aliases, and positional arguments. Unknown options are usage errors.
 */
final class Args {
    private final Map<String, String> options = new LinkedHashMap<>();
    private final List<String> positional = new ArrayList<>();
    private final Map<String, List<String>> repeated = new LinkedHashMap<>();
    private Set<String> repeatable = Set.of();

    private Args() {
    }

    /**
     * @param valued options that take a value (long names without dashes)
     * @param flags options that do not
     * @param aliases short name (e.g. "n") to long name
     */
    static Args parse(List<String> argv, Set<String> valued, Set<String> flags, Map<String, String> aliases) {
        return parse(argv, valued, flags, aliases, Set.of());
    }

    /** As above; options in {@code repeatable} (a subset of {@code valued}) may be given many times. */
    static Args parse(List<String> argv, Set<String> valued, Set<String> flags, Map<String, String> aliases,
            Set<String> repeatable) {
        Args a = new Args();
        a.repeatable = repeatable;
        for (int i = 0; i < argv.size(); i++) {
            String arg = argv.get(i);
            if (arg.startsWith("--") && arg.length() > 2) {
                String name = arg.substring(2);
                String value = null;
                int eq = name.indexOf('=');
                if (eq >= 0) {
                    value = name.substring(eq + 1);
                    name = name.substring(0, eq);
                }
                if (valued.contains(name)) {
                    if (value == null) {
                        if (i + 1 >= argv.size()) {
                            throw new UsageException("option --" + name + " needs a value");
                        }
                        value = argv.get(++i);
                    }
                    a.put(name, value);
                } else if (flags.contains(name) && value == null) {
                    a.put(name, "true");
                } else {
                    throw new UsageException("unknown option --" + name);
                }
            } else if (arg.startsWith("-") && arg.length() == 2 && aliases.containsKey(arg.substring(1))) {
                String name = aliases.get(arg.substring(1));
                if (valued.contains(name)) {
                    if (i + 1 >= argv.size()) {
                        throw new UsageException("option " + arg + " needs a value");
                    }
                    a.put(name, argv.get(++i));
                } else {
                    a.put(name, "true");
                }
            } else if (arg.startsWith("-") && arg.length() > 1) {
                throw new UsageException("unknown option " + arg);
            } else {
                a.positional.add(arg);
            }
        }
        return a;
    }

    private void put(String name, String value) {
        if (repeatable.contains(name)) {
            repeated.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
            return;
        }
        if (options.put(name, value) != null) {
            throw new UsageException("option --" + name + " given twice");
        }
    }

    String get(String name) {
        return options.get(name);
    }

    /** Every value of a repeatable option, in command-line order. */
    List<String> all(String name) {
        return repeated.getOrDefault(name, List.of());
    }

    boolean flag(String name) {
        return options.containsKey(name);
    }

    List<String> positional() {
        return positional;
    }
}
