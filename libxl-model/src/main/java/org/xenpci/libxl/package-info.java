/** The toolstack model and the xenpci CLI. */
package org.xenpci.libxl;
