package org.xenpci.libxl.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import org.xenpci.core.fdt.DtsWriter;
import org.xenpci.core.fdt.FdtException;
import org.xenpci.core.fdt.FdtFormatException;
import org.xenpci.core.fdt.FdtReader;

/**
 * {@code xenpci dts FILE...}: decompiles each DTB as {@code dtc -I dtb -O dts} does
 * ({@link DtsWriter#decompile}), reading it with the model's own reader. A file that cannot be
 * read or parsed gives one line {@code FILE: error: REASON at offset 0xN} on stderr and the
 * command goes on with the next one (docs/cli.md).
 */
final class DtsCommand {
    private DtsCommand() {
    }

    /**
     * Runs the command.
     *
     * @param files the DTB paths as given, at least one
     * @return 0 if every file decompiled, 1 if any failed
     */
    static int run(List<String> files, PrintStream out, PrintStream err) {
        if (files.isEmpty()) {
            throw new UsageException("dts needs at least one FILE");
        }
        boolean failed = false;
        for (String file : files) {
            String dts;
            try {
                dts = DtsWriter.decompile(FdtReader.read(Files.readAllBytes(Path.of(file))));
            } catch (NoSuchFileException e) {
                err.println(file + ": error: no such file");
                failed = true;
                continue;
            } catch (IOException e) {
                err.println(file + ": error: cannot read: " + org.xenpci.core.IoReason.of(e));
                failed = true;
                continue;
            } catch (java.nio.file.InvalidPathException e) {
                err.println(file + ": error: cannot read: " + e.getMessage());
                failed = true;
                continue;
            } catch (FdtFormatException e) {
                err.println(file + ": error: " + e.detail() + " at offset 0x" + Long.toHexString(e.offset()));
                failed = true;
                continue;
            } catch (FdtException e) {
                err.println(file + ": error: " + e.getMessage());
                failed = true;
                continue;
            }
            if (files.size() > 1) {
                // A DTS comment, so each part (and a single file's output, which has none) stays valid source.
                out.println("// " + file);
            }
            out.print(dts);
        }
        return failed ? 1 : 0;
    }
}
