package org.xenpci.libxl.config;

import java.util.Objects;
import java.util.Optional;

/**
 * A {@code PCI_SPEC_STRING} was rejected. Carries libxl's error code, as
 * {@code xlu_pci_parse_spec_string} returns it ({@link LibxlError#ERROR_INVAL} -6 for every
 * syntax problem, {@link LibxlError#ERROR_FAIL} -3 for an unknown {@code rdm_policy}), and the
 * line xl prints to its report stream, when it prints one.
 */
public final class PciSpecException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String spec;
    private final int code;
    private final String xlMessage;

    /**
     * Creates the exception.
     *
     * @param spec      the rejected string
     * @param code      libxl error code (-6 or -3)
     * @param xlMessage what xl prints (without newline), or null when xl prints nothing
     * @param detail    the model's explanation, for humans
     */
    public PciSpecException(String spec, int code, String xlMessage, String detail) {
        super("unable to parse PCI_SPEC_STRING `" + spec + "': " + LibxlError.name(code) + " (" + code + "), "
                + (xlMessage != null ? xlMessage : detail));
        this.spec = Objects.requireNonNull(spec, "spec");
        this.code = code;
        this.xlMessage = xlMessage;
    }

    /**
     * Returns the string that was rejected.
     *
     * @return the spec text
     */
    public String spec() {
        return spec;
    }

    /**
     * Returns libxl's error code; xl exits with {@code -code}.
     *
     * @return {@link LibxlError#ERROR_INVAL} or {@link LibxlError#ERROR_FAIL}
     */
    public int code() {
        return code;
    }

    /**
     * Returns the message xl's parser prints for this error, e.g.
     * {@code Unknown PCI_SPEC_STRING option: foo} or {@code Unknown RDM policy: loose}.
     *
     * @return the message, or empty when the real parser fails silently
     */
    public Optional<String> xlMessage() {
        return Optional.ofNullable(xlMessage);
    }
}
