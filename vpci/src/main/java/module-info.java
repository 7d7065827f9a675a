/** Config-space emulation (vPCI): register table, header, capabilities, MSI/MSI-X (routed through the GICv3 ITS layer), ECAM traps. */
module org.xenpci.vpci {
    requires transitive org.xenpci.armpci;

    exports org.xenpci.vpci;
}
