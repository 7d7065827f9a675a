package org.xenpci.core;

import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A typed handle on one kind of {@link Domain} extension, resolved once (a static final field
 * of the extension's owner) so that a hot path finds the extension with one array load instead
 * of a hash lookup per access ({@link Domain#extension(ExtensionSlot)}). Xen reaches such state
 * as a field of {@code struct domain} (for example {@code d->arch.vpci}); the slot is that field.
 *
 * <p>There is exactly one slot per extension type: {@link #of} returns the same slot for the
 * same class, so {@link Domain#extension(Class)} and {@link Domain#extension(ExtensionSlot)}
 * always see the same value. Thread-safe.
 *
 * @param <T> the extension's type
 */
public final class ExtensionSlot<T> {
    private static final ConcurrentHashMap<Class<?>, ExtensionSlot<?>> BY_TYPE = new ConcurrentHashMap<>();
    private static final AtomicInteger NEXT = new AtomicInteger();

    private final Class<T> type;
    private final int index;

    private ExtensionSlot(Class<T> type, int index) {
        this.type = type;
        this.index = index;
    }

    /** The slot of extensions of type {@code type} (created on first use, then always the same). */
    @SuppressWarnings("unchecked")
    public static <T> ExtensionSlot<T> of(Class<T> type) {
        Objects.requireNonNull(type, "type");
        ExtensionSlot<?> s = BY_TYPE.get(type);
        if (s == null) {
            s = BY_TYPE.computeIfAbsent(type, t -> new ExtensionSlot<>(t, NEXT.getAndIncrement()));
        }
        return (ExtensionSlot<T>) s;
    }

    /** The extension type. */
    public Class<T> type() {
        return type;
    }

    /** Position in every domain's slot table. */
    int index() {
        return index;
    }

    @Override
    public String toString() {
        return "ExtensionSlot[" + type.getSimpleName() + " #" + index + "]";
    }
}
