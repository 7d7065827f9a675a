package org.xenpci.core.trace;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The trace stream of one {@code Xen} instance.
 *
 * <p>Which categories are on by default is {@link #standard()}'s choice: everything but the
 * per-access {@link #HOT_PATH} categories.
 *
 * <p>Producers must guard construction with {@link #enabled(TraceCategory)} so that a disabled
 * category costs one array load and nothing is allocated. Thread-safe: events from concurrent
 * vCPUs are appended under a lock; {@link #events()} returns a snapshot.
 */
public final class Trace {
    private final boolean[] enabled = new boolean[TraceCategory.values().length];
    private final List<TraceEvent> recorded = new ArrayList<>();
    private final List<Consumer<TraceEvent>> listeners = new CopyOnWriteArrayList<>();
    private volatile boolean recording = true;

    /**
     * The hot categories, one event per guest access or per interrupt: {@link
     * TraceCategory#TRAP} and {@link TraceCategory#CONFIG} (the config-access path) and
     * {@link TraceCategory#MSI} (each MSI message's translation and LPI). {@link #standard()}
     * leaves them off.
     */
    public static final Set<TraceCategory> HOT_PATH =
            Collections.unmodifiableSet(EnumSet.of(TraceCategory.TRAP, TraceCategory.CONFIG, TraceCategory.MSI));

    /**
     * The trace {@code XenHost.boot(platform, profile)}, {@code Xen.builder()} and the CLI's
     * measuring commands give: every category on except the {@link #HOT_PATH} ones, with
     * in-memory recording on. Why: an event per config access means an allocation per access
     * and a record kept forever (a guest polling a status register grows the heap without
     * bound), and Xen's own per-access tracing (xentrace) is off unless asked for too. Turn
     * them on with {@link #enable} or build the trace with {@link #Trace()} when a test or a
     * debugging session wants every access.
     */
    public static Trace standard() {
        return new Trace(EnumSet.complementOf(EnumSet.copyOf(HOT_PATH)));
    }

    /** A trace with every category enabled, the hot-path ones too, and in-memory recording on. */
    public Trace() {
        this(EnumSet.allOf(TraceCategory.class));
    }

    /** A trace with only the given categories enabled. */
    public Trace(Set<TraceCategory> categories) {
        for (TraceCategory c : categories) {
            enabled[c.ordinal()] = true;
        }
    }

    /** True when events of this category are wanted. Cheap: call before building an event. */
    public boolean enabled(TraceCategory category) {
        return enabled[category.ordinal()];
    }

    /** Turns a category on or off. */
    public synchronized void enable(TraceCategory category, boolean on) {
        enabled[category.ordinal()] = on;
    }

    /** Stops keeping events in memory (listeners still get them). For long runs and benchmarks. */
    public void recording(boolean on) {
        this.recording = on;
    }

    /** Adds a listener called synchronously for each event, on the producing thread. */
    public void subscribe(Consumer<TraceEvent> listener) {
        listeners.add(listener);
    }

    /** Records an event if its category is enabled. */
    public void emit(TraceEvent event) {
        if (!enabled(event.category())) {
            return;
        }
        if (recording) {
            synchronized (recorded) {
                recorded.add(event);
            }
        }
        for (Consumer<TraceEvent> l : listeners) {
            l.accept(event);
        }
    }

    /** A snapshot of the recorded events, oldest first. */
    public List<TraceEvent> events() {
        synchronized (recorded) {
            return List.copyOf(recorded);
        }
    }

    /** Recorded events of one type, oldest first. */
    public <T extends TraceEvent> List<T> events(Class<T> type) {
        List<T> out = new ArrayList<>();
        for (TraceEvent e : events()) {
            if (type.isInstance(e)) {
                out.add(type.cast(e));
            }
        }
        return out;
    }

    /** Forgets what has been recorded so far. */
    public void clear() {
        synchronized (recorded) {
            recorded.clear();
        }
    }
}
