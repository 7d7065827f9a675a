/**
 * The Arm guest device tree as libxl builds it ({@link org.xenpci.libxl.dt.GuestDtBuilder}) and
 * the fixed guest memory map ({@link org.xenpci.libxl.dt.GuestMemoryMap}).
 */
package org.xenpci.libxl.dt;
