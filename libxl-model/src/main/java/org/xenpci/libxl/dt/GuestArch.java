package org.xenpci.libxl.dt;

/**
 * The guest's architecture as libxl's {@code arch_info} table keys it (xc_dom guest_type),
 * selecting the CPU and timer compatibles (tools/libs/light/libxl_arm.c: make_cpus_node, make_timer_node).
 */
public enum GuestArch {
    /** {@code xen-3.0-aarch64}. */
    AARCH64("arm,armv8", "arm,armv8-timer"),
    /** {@code xen-3.0-armv7l}. */
    ARMV7L("arm,cortex-a15", "arm,armv7-timer");

    private final String cpuCompatible;
    private final String timerCompatible;

    GuestArch(String cpuCompatible, String timerCompatible) {
        this.cpuCompatible = cpuCompatible;
        this.timerCompatible = timerCompatible;
    }

    /**
     * Returns the {@code compatible} of each {@code cpu@} node.
     *
     * @return e.g. {@code arm,armv8}
     */
    public String cpuCompatible() {
        return cpuCompatible;
    }

    /**
     * Returns the {@code compatible} of the {@code timer} node.
     *
     * @return e.g. {@code arm,armv8-timer}
     */
    public String timerCompatible() {
        return timerCompatible;
    }
}
