package org.xenpci.armpci.hw;

/**
 * Gives a capability found in the config data its register behaviour (the extension point
 * later MSI / MSI-X / PM models plug into). Without one, a capability's registers are read-only.
 *
 * <p>{@link #install} runs once while the function is built; {@link #reset} at every function
 * reset; it declares fields through a layout
 * whose offsets are relative to the capability header and may overlay regions of BAR memory
 * (an MSI-X table) through {@link PciFunction#overlay}.
 */
@FunctionalInterface
public interface CapabilityBehaviour {
    /**
     * @param function the function that owns the capability
     * @param capability where it was found
     * @param layout a layout based at {@code capability.offset()}
     */
    void install(PciFunction function, Capability capability, ConfigLayout layout);

    /**
     * The function is being reset (FLR, or a PM D3hot to D0 soft reset): put the capability's
     * state back to its power-on values. Runs with the function's config-space lock held,
     * after every software-writable config bit has been restored from the power-on image, so
     * only state outside config space (an MSI-X table) and bits the image does not say (an
     * enable a dump left set) need attention here. It must not block.
     */
    default void reset() {
    }
}
