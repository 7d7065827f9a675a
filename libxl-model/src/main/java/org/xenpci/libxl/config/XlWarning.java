package org.xenpci.libxl.config;

/**
 * A non-fatal remark about a config file, e.g. a key the model does not interpret.
 *
 * @param fileName config source name
 * @param line     1-based line of the setting
 * @param message  the remark, e.g. {@code Unknown key `vif'}
 */
public record XlWarning(String fileName, int line, String message) {
    /**
     * Formats as {@code FILE:LINE: warning: MESSAGE}, xl's style for config warnings.
     *
     * @return the text
     */
    @Override
    public String toString() {
        return fileName + ":" + line + ": warning: " + message;
    }
}
