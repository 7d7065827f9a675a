/**
 * An NVM Express controller model for the device catalog's QEMU NVMe entry: controller
 * registers and doorbells in BAR0, admin and I/O queues, one RAM- or file-backed namespace,
 * with every queue and data access issued as the function's device DMA. Hardware only: no Xen
 * code. See docs/nvme.md.
 */
package org.xenpci.armpci.hw.nvme;
