package org.xenpci.libxl.boards;

import java.util.Objects;
import org.xenpci.core.Profile;

/**
 * What booting one board's DTB in one profile came to, as Xen would put it (docs/boards.md).
 *
 * @param dtb the DTB as named by the caller (a path relative to the kernel package's DTB directory in the sweep)
 * @param profile the profile booted
 * @param outcome the class of the result
 * @param bridges host bridges Xen registered (0 unless {@link Outcome#REGISTERED})
 * @param reason Xen's reason, never null: for {@link Outcome#SKIPPED} why each host bridge node was
 *        passed over, for {@link Outcome#REGISTERED} why any other node was (empty if none was),
 *        for {@link Outcome#REFUSED} the typed error's kind and message, for {@link Outcome#UNTYPED_ERROR}
 *        the Java exception's class and message
 */
public record BoardResult(String dtb, Profile profile, Outcome outcome, int bridges, String reason) {

    /** The classes of result. */
    public enum Outcome {
        /** The DTB has no PCI host bridge node: not part of the sweep. */
        NO_HOST_BRIDGE("no-host-bridge"),
        /** Xen booted and registered at least one host bridge. */
        REGISTERED("registered"),
        /** Xen booted, but passed over every host bridge node (no driver, disabled, probe failed). */
        SKIPPED("skipped"),
        /** Boot refused with a typed error ({@code BootException}, {@code PlatformFileException}). */
        REFUSED("refused"),
        /** Anything else escaped: a model bug. The sweep fails when it sees one. */
        UNTYPED_ERROR("untyped-error");

        private final String label;

        Outcome(String label) {
            this.label = label;
        }

        /** The name used in the TSV and in docs/boards.md. */
        public String label() {
            return label;
        }
    }

    public BoardResult {
        Objects.requireNonNull(dtb, "dtb");
        Objects.requireNonNull(profile, "profile");
        Objects.requireNonNull(outcome, "outcome");
        Objects.requireNonNull(reason, "reason");
    }

    /** Header of {@link #tsv()} lines. */
    public static final String TSV_HEADER = "dtb\tprofile\toutcome\tbridges\treason";

    /** One TSV line (no newline); tabs and newlines in the reason become spaces. */
    public String tsv() {
        return dtb + "\t" + profile.name() + "\t" + outcome.label() + "\t" + bridges + "\t"
                + reason.replace('\t', ' ').replace('\n', ' ');
    }
}
