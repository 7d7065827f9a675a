package org.xenpci.armpci.hw;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xenpci.core.Hex;

/**
 * A fluent declaration of config registers and their fields (Renode's register DSL): each field
 * gets an {@link AccessMode} that sets the {@link ConfigSpace} masks, optionally a
 * {@link FieldListener}, or a tag for bits that are known but not modelled.
 *
 * <pre>{@code
 * layout.word(0x04, "COMMAND")
 *       .field(1, "MEMORY", AccessMode.RW).onChange((o, n) -> decodeChanged(n))
 *       .tagged(3, 1, "SPECIAL");
 * }</pre>
 *
 * <p>Register offsets are bytes relative to the layout's base (0 for the header, the capability
 * offset for {@link #at}); field bits are relative to the register. Fields must not overlap a
 * field declared earlier in the same dword. Undeclared bits stay read-only.
 *
 * <p>Not thread-safe: declare while the function is built, before it is reachable on a bus.
 */
public final class ConfigLayout {
    private static final Logger LOG = LoggerFactory.getLogger(ConfigLayout.class);

    private final ConfigSpace space;
    private final int base;
    private final List<Field> declared;

    /** A layout declaring registers of {@code space} at absolute offsets. */
    public ConfigLayout(ConfigSpace space) {
        this(space, 0, new ArrayList<>());
    }

    private ConfigLayout(ConfigSpace space, int base, List<Field> declared) {
        this.space = Objects.requireNonNull(space, "space");
        this.base = base;
        this.declared = declared;
    }

    /** The same layout with register offsets relative to {@code offset} (e.g. a capability). */
    public ConfigLayout at(int offset) {
        return new ConfigLayout(space, offset, declared);
    }

    /** The config space being declared. */
    public ConfigSpace space() {
        return space;
    }

    /** Declares the 8-bit register at byte {@code offset}. */
    public Register byteRegister(int offset, String name) {
        return new Register(base + offset, 1, name);
    }

    /** Declares the 16-bit register at byte {@code offset} (2-byte aligned). */
    public Register word(int offset, String name) {
        return new Register(base + offset, 2, name);
    }

    /** Declares the 32-bit register at byte {@code offset} (4-byte aligned). */
    public Register dword(int offset, String name) {
        return new Register(base + offset, 4, name);
    }

    /** The fields declared so far through this layout (and its {@link #at} views). */
    public List<String> fieldNames() {
        List<String> names = new ArrayList<>();
        for (Field f : declared) {
            names.add(f.name);
        }
        return names;
    }

    /** One register being declared; methods return {@code this} for chaining. */
    public final class Register {
        private final int offset;
        private final int size;
        private final String name;
        private Field last;

        private Register(int offset, int size, String name) {
            if (offset < 0 || offset + size > ConfigSpace.SIZE || offset % size != 0) {
                throw new IllegalArgumentException("register " + name + " at " + Hex.of(offset)
                        + " must be " + size + "-byte aligned inside the config space");
            }
            this.offset = offset;
            this.size = size;
            this.name = Objects.requireNonNull(name, "name");
        }

        /** A one-bit field at {@code bit}. */
        public Register field(int bit, String fieldName, AccessMode mode) {
            return field(bit, 1, fieldName, mode);
        }

        /** A field of {@code width} bits starting at {@code lowBit}. */
        public Register field(int lowBit, int width, String fieldName, AccessMode mode) {
            last = add(lowBit, width, fieldName, Objects.requireNonNull(mode, "mode"), false);
            return this;
        }

        /** Every bit of the register as one field. */
        public Register all(AccessMode mode) {
            return field(0, size * 8, name, mode);
        }

        /**
         * Known but unmodelled bits: read-only to software, and the first software write that
         * tries to change them logs a WARN once (per field).
         */
        public Register tagged(int lowBit, int width, String fieldName) {
            last = add(lowBit, width, fieldName, AccessMode.RO, true);
            return this;
        }

        /** The whole register tagged (see {@link #tagged(int, int, String)}). */
        public Register tagged(String fieldName) {
            return tagged(0, size * 8, fieldName);
        }

        /** Calls {@code listener} when a software write changes the field declared last. */
        public Register onChange(FieldListener listener) {
            if (last == null || last.tagged) {
                throw new IllegalStateException("onChange needs a modelled field declared before it in " + name);
            }
            last.listener = Objects.requireNonNull(listener, "listener");
            space.watch(last);
            return this;
        }

        /** Sets the register's initial value through the internal path. */
        public Register reset(int value) {
            space.setInternal(offset, size, value);
            return this;
        }

        private Field add(int lowBit, int width, String fieldName, AccessMode mode, boolean tagged) {
            if (width < 1 || lowBit < 0 || lowBit + width > size * 8) {
                throw new IllegalArgumentException("field " + name + "." + fieldName + " bits " + lowBit + "+" + width
                        + " outside a " + size + "-byte register");
            }
            int shift = lowBit + (offset & 3) * 8;
            int mask = (width == 32 ? -1 : (1 << width) - 1) << shift;
            int dword = offset >> 2;
            for (Field f : declared) {
                if (f.dword == dword && (f.mask & mask) != 0) {
                    throw new IllegalArgumentException("field " + name + "." + fieldName + " overlaps " + f.name);
                }
            }
            Field field = new Field(name + "." + fieldName, dword, mask, shift, mode, tagged);
            declared.add(field);
            space.declare(field);
            return field;
        }
    }

    /** A declared field: where it sits in its dword, and what software writes do to it. */
    static final class Field {
        final String name;
        final int dword;
        final int mask;
        final int shift;
        final AccessMode mode;
        final boolean tagged;
        private volatile FieldListener listener;
        /** Racy by design: two vCPUs may both log; harmless. */
        private volatile boolean logged;

        Field(String name, int dword, int mask, int shift, AccessMode mode, boolean tagged) {
            this.name = name;
            this.dword = dword;
            this.mask = mask;
            this.shift = shift;
            this.mode = mode;
            this.tagged = tagged;
        }

        FieldListener listener() {
            return listener;
        }

        void logOnce(int writtenDword) {
            if (!logged) {
                logged = true;
                LOG.warn("software write to unmodelled config field {} at {} (value {}) ignored",
                        name, Hex.of(dword * 4), Hex.of((writtenDword & mask) >>> shift));
            }
        }
    }
}
