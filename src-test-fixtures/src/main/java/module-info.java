/**
 * Test support for xenpci: ready boards built from real host DTBs ({@code Platforms}), a JUnit 5
 * scenario API ({@code XenScenario}), a fluent facade over the trace ({@code TraceAssert}) and
 * config-read checks through the MMIO path ({@code ConfigAsserts}), and live-heap histograms
 * for memory footprint checks ({@code HeapHistogram}).
 */
module org.xenpci.fixtures {
    requires transitive org.xenpci.libxl;
    requires transitive org.junit.jupiter.api;
    requires java.management;

    exports org.xenpci.fixtures;
}
