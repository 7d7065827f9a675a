package org.xenpci.armpci;

import org.xenpci.core.Errno;

/**
 * The host bridge probe that stopped Xen's DT walk ({@code dt_pci_init} returns any error other
 * than -ENODEV/-EBADF and later nodes are never probed). Xen ignores the initcall's result and
 * boots on with the bridges registered so far; so does the model, keeping this record.
 *
 * @param nodePath the node whose probe failed
 * @param errno what Xen's probe returned (-ENOMEM for every {@code gen_pci_init} failure)
 * @param reason the real cause, which Xen's return code hides
 */
public record ProbeFailure(String nodePath, Errno errno, String reason) {
}
