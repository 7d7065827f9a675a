package org.xenpci.libxl.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.reflect.RecordComponent;
import java.util.List;
import org.xenpci.core.pci.Sbdf;
import org.xenpci.core.trace.TraceEvent;

/**
 * {@code trace.jsonl}: one JSON object per trace event, oldest first. Each object has
 * {@code "type"} (the event record's simple name, e.g. {@code "PdevAssigned"}),
 * {@code "category"} (its TraceCategory), then every record component by name: numbers as JSON
 * integers, booleans, strings, enums by name, SBDFs as {@code "ssss:bb:dd.f"}, anything else as
 * its {@code toString()}. Documented in docs/cli-toolstack.md.
 */
final class TraceJsonl {
    private static final ObjectMapper M = new ObjectMapper();

    private TraceJsonl() {
    }

    static String write(List<TraceEvent> events) {
        StringBuilder b = new StringBuilder();
        for (TraceEvent e : events) {
            b.append(line(e).toString()).append('\n');
        }
        return b.toString();
    }

    static ObjectNode line(TraceEvent e) {
        ObjectNode o = M.createObjectNode();
        o.put("type", e.getClass().getSimpleName());
        o.put("category", e.category().name());
        RecordComponent[] rc = e.getClass().getRecordComponents();
        if (rc == null) {
            o.put("text", e.toString());
            return o;
        }
        for (RecordComponent c : rc) {
            Object v;
            try {
                v = c.getAccessor().invoke(e);
            } catch (ReflectiveOperationException | RuntimeException ex) {
                v = "?";
            }
            String n = c.getName();
            if (v == null) {
                o.putNull(n);
            } else if (v instanceof Integer) {
                o.put(n, (Integer) v);
            } else if (v instanceof Long) {
                o.put(n, (Long) v);
            } else if (v instanceof Short || v instanceof Byte) {
                o.put(n, ((Number) v).intValue());
            } else if (v instanceof Boolean) {
                o.put(n, (Boolean) v);
            } else if (v instanceof Enum) {
                o.put(n, ((Enum<?>) v).name());
            } else if (v instanceof Sbdf) {
                o.put(n, v.toString());
            } else {
                o.put(n, v.toString());
            }
        }
        return o;
    }
}
