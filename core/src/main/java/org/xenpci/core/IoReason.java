package org.xenpci.core;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/**
 * The operating system's reason for a failed file operation, worded as {@code strerror} words
 * it ({@code No such file or directory}, {@code Permission denied}), for messages that follow
 * the C tools' {@code FILE: REASON} form. Java's NIO exceptions carry the reason in their type
 * and keep only the path in {@code getMessage()}; this turns them back into the words.
 */
public final class IoReason {
    private IoReason() {
    }

    /**
     * The reason {@code e} stands for: strerror's words for the NIO types that map to one errno
     * (ENOENT, EACCES, EEXIST, ENOTDIR, ENOTEMPTY), else the reason the file system gave
     * ({@link FileSystemException#getReason()}, e.g. {@code Is a directory}), else the message.
     *
     * @param e the failure
     * @return one line, never null
     */
    public static String of(IOException e) {
        if (e instanceof NoSuchFileException) {
            return "No such file or directory";
        }
        if (e instanceof AccessDeniedException) {
            return "Permission denied";
        }
        if (e instanceof FileAlreadyExistsException) {
            return "File exists";
        }
        if (e instanceof NotDirectoryException) {
            return "Not a directory";
        }
        if (e instanceof DirectoryNotEmptyException) {
            return "Directory not empty";
        }
        if (e instanceof FileSystemException && ((FileSystemException) e).getReason() != null) {
            return ((FileSystemException) e).getReason();
        }
        String m = e.getMessage();
        return m == null ? e.getClass().getSimpleName() : m;
    }
}
