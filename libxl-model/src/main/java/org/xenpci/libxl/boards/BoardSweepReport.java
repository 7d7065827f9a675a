package org.xenpci.libxl.boards;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.xenpci.core.Profile;

/**
 * The markdown part of docs/boards.md made from a sweep's {@link BoardResult}s: the number of
 * boards per outcome and profile, then the boards of each outcome grouped by Xen's reason.
 * Boards without a host bridge node are counted, not listed.
 */
public final class BoardSweepReport {
    /** An absolute DT path at the start of a reason or after a space or bracket: board-specific, not part of the reason. */
    private static final Pattern NODE_PATH = Pattern.compile("(?<=^|[\\s(:])/[^\\s:,)]*");
    private static final Pattern OFFSET = Pattern.compile("at offset 0x[0-9a-f]+");
    private static final List<Profile> PROFILES = List.of(Profile.UPSTREAM, Profile.FULL);

    private BoardSweepReport() {
    }

    /**
     * The reason with what differs from board to board taken out (node paths, blob offsets), so
     * boards that fail for the same reason fall into one group.
     */
    public static String groupKey(BoardResult r) {
        String s = NODE_PATH.matcher(r.reason()).replaceAll("NODE");
        return OFFSET.matcher(s).replaceAll("at offset N");
    }

    /** The counts table and the per-reason lists (markdown, ending in a newline). */
    public static String markdown(List<BoardResult> results) {
        StringBuilder md = new StringBuilder();
        Map<Profile, Map<BoardResult.Outcome, Integer>> counts = new LinkedHashMap<>();
        for (Profile p : PROFILES) {
            counts.put(p, new EnumMap<>(BoardResult.Outcome.class));
        }
        for (BoardResult r : results) {
            counts.computeIfAbsent(r.profile(), p -> new EnumMap<>(BoardResult.Outcome.class)).merge(r.outcome(), 1, Integer::sum);
        }
        md.append("| outcome |");
        counts.keySet().forEach(p -> md.append(" `").append(p.name()).append("` |"));
        md.append("\n|---|");
        counts.keySet().forEach(p -> md.append("---:|"));
        md.append('\n');
        for (BoardResult.Outcome o : BoardResult.Outcome.values()) {
            md.append("| ").append(o.label()).append(" |");
            for (Map<BoardResult.Outcome, Integer> c : counts.values()) {
                md.append(' ').append(c.getOrDefault(o, 0)).append(" |");
            }
            md.append('\n');
        }
        md.append("| **booted (all but no-host-bridge)** |");
        for (Map<BoardResult.Outcome, Integer> c : counts.values()) {
            int n = 0;
            for (Map.Entry<BoardResult.Outcome, Integer> e : c.entrySet()) {
                n += e.getKey() == BoardResult.Outcome.NO_HOST_BRIDGE ? 0 : e.getValue();
            }
            md.append(' ').append(n).append(" |");
        }
        md.append('\n');

        for (BoardResult.Outcome o : BoardResult.Outcome.values()) {
            if (o == BoardResult.Outcome.NO_HOST_BRIDGE) {
                continue;
            }
            // group key -> dtb -> profiles with that outcome and key
            Map<String, Map<String, Set<String>>> groups = new TreeMap<>();
            Map<String, Integer> bridges = new LinkedHashMap<>();
            for (BoardResult r : results) {
                if (r.outcome() == o) {
                    groups.computeIfAbsent(groupKey(r), k -> new TreeMap<>())
                            .computeIfAbsent(r.dtb(), k -> new LinkedHashSet<>()).add(r.profile().name());
                    bridges.put(r.dtb(), r.bridges());
                }
            }
            if (groups.isEmpty()) {
                continue;
            }
            md.append("\n### ").append(o.label()).append("\n");
            for (Map.Entry<String, Map<String, Set<String>>> g : groups.entrySet()) {
                md.append("\n**").append(g.getKey().isEmpty() ? "every host bridge node registered" : escape(g.getKey()))
                        .append("** (").append(g.getValue().size()).append(")\n\n");
                List<String> items = new ArrayList<>();
                for (Map.Entry<String, Set<String>> b : g.getValue().entrySet()) {
                    String item = "`" + b.getKey() + "`";
                    if (o == BoardResult.Outcome.REGISTERED) {
                        item += " " + bridges.get(b.getKey());
                    }
                    if (b.getValue().size() < counts.size()) {
                        item += " (" + String.join(", ", b.getValue()) + " only)";
                    }
                    items.add(item);
                }
                md.append(String.join(", ", items)).append('\n');
            }
        }
        return md.toString();
    }

    private static String escape(String s) {
        return s.replace("*", "\\*").replace("_", "\\_").replace("<", "&lt;");
    }
}
