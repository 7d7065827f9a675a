/**
 * The toolstack model: xl.cfg and {@code PCI_SPEC_STRING} parsing ({@code org.xenpci.libxl.config}),
 * libxl's JSON form of a domain config ({@code org.xenpci.libxl.json}) and the guest device tree
 * builder with the guest memory map ({@code org.xenpci.libxl.dt}), reference guests
 * ({@code org.xenpci.libxl.guest}), the booted host ({@code org.xenpci.libxl.host}), the libxl
 * toolstack ({@code org.xenpci.libxl.toolstack}), the board sweep's classifier
 * ({@code org.xenpci.libxl.boards}, docs/boards.md) and the {@code xenpci} CLI ({@code org.xenpci.libxl.cli}).
 */
module org.xenpci.libxl {
    requires transitive org.xenpci.vpci;
    requires com.fasterxml.jackson.databind;

    exports org.xenpci.libxl.config;
    exports org.xenpci.libxl.dt;
    exports org.xenpci.libxl.json;
    exports org.xenpci.libxl.guest;
    exports org.xenpci.libxl.cli;
    exports org.xenpci.libxl.host;
    exports org.xenpci.libxl.toolstack;
    exports org.xenpci.libxl.audit;
    exports org.xenpci.libxl.boards;
}
