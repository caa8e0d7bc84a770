package org.modelrunner.image;

import java.io.EOFException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * Reads a tar stream entry by entry (ustar, with GNU long names and PAX paths, as image tarballs
 * and their layers are written): enough to look inside the built image without a container engine.
 */
final class Tar {
  private Tar() {}

  /** One entry: its path without a leading {@code ./} or {@code /}, its type flag and mode. */
  record Entry(String path, char type, int mode, long size, String linkTarget) {
    boolean isDirectory() {
      return type == '5';
    }

    boolean isFile() {
      return type == '0' || type == '\0';
    }
  }

  /** What to do with each entry; {@code content} holds its bytes and need not be read. */
  interface Visitor {
    void visit(Entry entry, InputStream content) throws IOException;
  }

  /** Calls {@code visitor} for every entry of the tar stream {@code in}. */
  static void read(InputStream in, Visitor visitor) throws IOException {
    byte[] header = new byte[512];
    String longName = null;
    while (true) {
      if (!readBlock(in, header)) {
        return;
      }
      if (isZero(header)) {
        return;
      }
      char type = (char) header[156];
      long size = number(header, 124, 12);
      String name = longName != null ? longName : text(header, 0, 100);
      longName = null;
      String prefix = text(header, 345, 155);
      if (!prefix.isEmpty() && text(header, 257, 5).equals("ustar")) {
        name = prefix + "/" + name;
      }
      if (type == 'L' || type == 'x') {
        byte[] data = in.readNBytes((int) size);
        skip(in, padding(size));
        longName = type == 'L' ? text(data, 0, data.length) : paxPath(data);
        continue;
      }
      Entry entry =
          new Entry(clean(name), type, (int) number(header, 100, 8), size, text(header, 157, 100));
      Bounded content = new Bounded(in, size);
      visitor.visit(entry, content);
      skip(in, content.remaining + padding(size));
    }
  }

  private static String paxPath(byte[] data) {
    String records = new String(data, StandardCharsets.UTF_8);
    for (String record : records.split("\n")) {
      int space = record.indexOf(' ');
      if (space > 0 && record.startsWith("path=", space + 1)) {
        return record.substring(space + 1 + "path=".length());
      }
    }
    return null;
  }

  private static String clean(String name) {
    String path = name;
    while (path.startsWith("./") || path.startsWith("/")) {
      path = path.substring(path.startsWith("./") ? 2 : 1);
    }
    return path;
  }

  private static long padding(long size) {
    return (512 - size % 512) % 512;
  }

  private static boolean readBlock(InputStream in, byte[] block) throws IOException {
    int read = in.readNBytes(block, 0, block.length);
    if (read == 0) {
      return false;
    }
    if (read < block.length) {
      throw new EOFException("A tar header cut short");
    }
    return true;
  }

  private static boolean isZero(byte[] block) {
    for (byte b : block) {
      if (b != 0) {
        return false;
      }
    }
    return true;
  }

  private static void skip(InputStream in, long count) throws IOException {
    in.skipNBytes(count);
  }

  private static String text(byte[] bytes, int offset, int length) {
    int end = offset;
    while (end < offset + length && end < bytes.length && bytes[end] != 0) {
      end++;
    }
    return new String(bytes, offset, end - offset, StandardCharsets.UTF_8);
  }

  private static long number(byte[] bytes, int offset, int length) {
    if ((bytes[offset] & 0x80) != 0) { // base-256, for sizes past 8 GiB
      long value = 0;
      for (int i = offset + 1; i < offset + length; i++) {
        value = (value << 8) | (bytes[i] & 0xff);
      }
      return value;
    }
    String octal = text(bytes, offset, length).trim();
    return octal.isEmpty() ? 0 : Long.parseLong(octal, 8);
  }

  /** An entry's bytes; what the visitor leaves unread is skipped. */
  private static final class Bounded extends FilterInputStream {
    long remaining;

    Bounded(InputStream in, long size) {
      super(in);
      this.remaining = size;
    }

    @Override
    public int read() throws IOException {
      if (remaining <= 0) {
        return -1;
      }
      int b = super.read();
      if (b >= 0) {
        remaining--;
      }
      return b;
    }

    @Override
    public int read(byte[] buffer, int offset, int length) throws IOException {
      if (remaining <= 0) {
        return -1;
      }
      int read = super.read(buffer, offset, (int) Math.min(length, remaining));
      if (read > 0) {
        remaining -= read;
      }
      return read;
    }

    @Override
    public long skip(long n) throws IOException {
      long skipped = super.skip(Math.min(n, remaining));
      remaining -= skipped;
      return skipped;
    }

    @Override
    public int available() throws IOException {
      return (int) Math.min(super.available(), remaining);
    }

    @Override
    public void close() {}
  }
}
