/**
 * {@code xenpci serve}: the simulator protocol server (docs/simulator-protocol.md). A CPU
 * simulator in another process forwards its guest's stage-2 MMIO faults, HVCs and interrupt
 * acknowledgements over a socket or stdio; guest RAM is shared through files both map. Not
 * exported: the protocol is the contract, not these classes.
 */
package org.xenpci.libxl.serve;
