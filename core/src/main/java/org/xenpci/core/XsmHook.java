package org.xenpci.core;

/**
 * The XSM hooks the model calls, with the default action Xen's dummy policy gives each
 * (xen/include/xsm/dummy.h).
 */
public enum XsmHook {
    /** PHYSDEVOP_pci_device_add: {@code xsm_resource_plug_pci}, XSM_PRIV. */
    RESOURCE_PLUG_PCI(XsmAction.PRIV),
    /** PHYSDEVOP_pci_device_remove: {@code xsm_resource_unplug_pci}, XSM_PRIV. */
    RESOURCE_UNPLUG_PCI(XsmAction.PRIV),
    /** PHYSDEVOP_pci_device_reset: {@code xsm_resource_setup_pci}, XSM_PRIV. */
    RESOURCE_SETUP_PCI(XsmAction.PRIV),
    /** The domctl envelope: {@code xsm_domctl}, XSM_OTHER (privileged caller for device ops). */
    DOMCTL(XsmAction.PRIV),
    /**
     * XEN_DOMCTL_assign_device / test_assign_device: the former {@code xsm_assign_device}, XSM_HOOK.
     * Xen folded it into {@code xsm_domctl} (commit eab54f074f, XSA-492), so under the dummy policy
     * only {@link #DOMCTL} decides; the model keeps this hook for policies that want the SBDF.
     */
    ASSIGN_DEVICE(XsmAction.HOOK),
    /** XEN_DOMCTL_deassign_device: the former {@code xsm_deassign_device}, XSM_HOOK (see {@link #ASSIGN_DEVICE}). */
    DEASSIGN_DEVICE(XsmAction.HOOK),
    /** vPCI BAR mapping: {@code xsm_iomem_mapping_vpci}, XSM_HOOK (split out by XSA-492). */
    IOMEM_MAPPING_VPCI(XsmAction.HOOK);

    /** The dummy policy's action classes. */
    public enum XsmAction {
        /** Always allowed. */
        HOOK,
        /** Allowed only for a privileged caller. */
        PRIV
    }

    private final XsmAction defaultAction;

    XsmHook(XsmAction defaultAction) {
        this.defaultAction = defaultAction;
    }

    public XsmAction defaultAction() {
        return defaultAction;
    }
}
