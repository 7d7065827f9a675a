package org.xenpci.armpci.hw;

/**
 * Called when a software config write changes a declared field (see
 * {@link ConfigLayout.Register#onChange}). Values are the field's bits shifted down to bit 0.
 *
 * <p>Runs on the writing thread while the {@link ConfigSpace} lock is held, after the new value
 * is stored; it must not block and should not touch other functions' config spaces. Internal
 * writes ({@link ConfigSpace#setInternal}) never call it: the model knows what it changed.
 */
@FunctionalInterface
public interface FieldListener {
    /**
     * @param oldValue the field before the write
     * @param newValue the field after the write
     */
    void onChange(int oldValue, int newValue);
}
