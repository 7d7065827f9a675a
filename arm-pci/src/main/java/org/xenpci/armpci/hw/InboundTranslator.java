package org.xenpci.armpci.hw;

/**
 * An IOMMU as a host bridge's inbound side sees it: every memory request a function issues
 * (DMA) carries the stream ID the bridge's {@code iommu-map} gives its requester ID and is
 * translated here before it reaches memory. The SMMUv3 model implements it; an SMMUv1/v2 model
 * would too (stream ID to context bank instead of stream table entry). The host bridge never
 * calls a hypervisor's IOMMU driver: this is the hardware's own translation, configured by
 * whatever software programmed the IOMMU.
 *
 * <p>Implementations are called concurrently from any function's thread, never throw for any
 * input, and should return a cached {@link InboundTranslation.Window} on the success path so
 * that DMA does not allocate.
 */
public interface InboundTranslator {
    /**
     * Translates one inbound request of stream {@code streamId} at input address {@code address}.
     * A fault is recorded by the IOMMU (its event queue / fault registers) before it returns.
     *
     * @param write true for a memory write, false for a read (recorded with a fault)
     * @return the window covering {@code address}, or the fault; never null
     */
    InboundTranslation translate(int streamId, long address, boolean write);
}
