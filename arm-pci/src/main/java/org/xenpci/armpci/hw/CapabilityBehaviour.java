package org.xenpci.armpci.hw;

/**
 * Gives a capability found in the config data its register behaviour (the extension point
 * later MSI / MSI-X / PM models plug into). Without one, a capability's registers are read-only.
 *
 * <p>{@link #install} runs once while the function is built; it declares fields through a layout
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
}
