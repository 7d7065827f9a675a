/**
 * The toolstack model: xl.cfg and {@code PCI_SPEC_STRING} parsing ({@code org.xenpci.libxl.config}),
 * libxl's JSON form of a domain config ({@code org.xenpci.libxl.json}) and the guest device tree
 * builder with the guest memory map ({@code org.xenpci.libxl.dt}), reference guests
 * ({@code org.xenpci.libxl.guest}), the booted host ({@code org.xenpci.libxl.host}), the libxl
 * toolstack ({@code org.xenpci.libxl.toolstack}) and the isolation auditor
 * ({@code org.xenpci.libxl.audit}, docs/security.md). The {@code xenpci} CLI
 * ({@code org.xenpci.libxl.cli}, docs/cli.md) and the board sweep's classifier
 * ({@code org.xenpci.libxl.boards}, docs/boards.md) live here too but are not exported: they
 * are the command-line tool, not the library.
 */
@SuppressWarnings("module") // org.xenpci.fixtures (the qualified exports below) is built after this module
module org.xenpci.libxl {
    requires transitive org.xenpci.vpci;
    // LibxlJson hands out Jackson trees (ObjectNode): part of the API, so transitive.
    requires transitive com.fasterxml.jackson.databind;
    // xenpci bench: the JVM's per-thread allocation counter (com.sun.management.ThreadMXBean).
    requires jdk.management;

    // The library API.
    exports org.xenpci.libxl.config;
    exports org.xenpci.libxl.dt;
    exports org.xenpci.libxl.json;
    exports org.xenpci.libxl.guest;
    exports org.xenpci.libxl.host;
    exports org.xenpci.libxl.toolstack;
    exports org.xenpci.libxl.audit;

    // The CLI's implementation (run as java -jar xenpci.jar, on the class path) and the board
    // sweep it drives are not API. The fixtures module's tests run the CLI in process (CliRun)
    // and check the classifier (BoardClassifierTest), so they alone may read them.
    exports org.xenpci.libxl.cli to org.xenpci.fixtures;
    exports org.xenpci.libxl.boards to org.xenpci.fixtures;
    // The simulator server (xenpci serve): DocExamplesTest runs the docs' Python examples against it.
    exports org.xenpci.libxl.serve to org.xenpci.fixtures;
}
