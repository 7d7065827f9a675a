package org.xenpci.libxl.toolstack;

/**
 * One message libxl logged ({@code LOG}/{@code LOGD}/{@code LOGE}), in libxl's words.
 *
 * @param level "error", "warn" or "info"
 * @param domid the domain the message concerns, or -1 ({@code LOG} without a domain)
 * @param message the text, without libxl's "libxl: error: file:line:function:" prefix
 */
public record LibxlLogEntry(String level, int domid, String message) {
}
