package org.modelrunner.transport.inprocess;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.modelrunner.spi.Argument;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.KeywordArgument;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.Status;
import org.modelrunner.spi.StatusCode;
import org.modelrunner.spi.Variant;
import org.modelrunner.spi.VariantType;

/**
 * The in-process transport's own binary framing of requests and replies: what the network would
 * carry, so that requests and replies are copied (never shared between a coordinator and a model)
 * and their sizes are known and limited. Big-endian, length-prefixed:
 *
 * <pre>
 * request  = 'Q' version:u8 kind:u8 name:string
 *            count:i32 { position:i32 variant }*      (positional arguments, in the order given)
 *            count:i32 { keyword:string variant }*    (keyword arguments)
 * reply    = 'P' version:u8 code:string message:string present:u8 [variant]
 * variant  = type:u8 length:i32 bytes
 * string   = length:i32 UTF-8 bytes
 * </pre>
 *
 * A setup's name is the base class name, a call's the method name; a reset has an empty name and no
 * arguments. Sizes are computed exactly before anything is allocated, so an oversized message is
 * refused without being built. Decoding never trusts a length: malformed input is a {@link
 * MalformedMessageException}.
 */
final class WireFormat {
  static final byte SETUP = 1;
  static final byte CALL = 2;
  static final byte RESET = 3;

  private static final byte REQUEST_MAGIC = 'Q';
  private static final byte REPLY_MAGIC = 'P';
  private static final byte VERSION = 1;

  /** Magic, version, kind, name length, positional count, keyword count. */
  private static final int REQUEST_OVERHEAD = 3 + 4 + 4 + 4;

  /** Type and length. */
  private static final int VARIANT_OVERHEAD = 1 + 4;

  /** Magic, version, code length, message length, presence. */
  private static final int REPLY_OVERHEAD = 2 + 4 + 4 + 1;

  private static final String SUCCESS_CODE = StatusCode.SUCCESS.name();
  private static final byte[] SUCCESS_BYTES = SUCCESS_CODE.getBytes(StandardCharsets.UTF_8);
  private static final Status SUCCESS_EMPTY = Status.of(StatusCode.SUCCESS, "");

  private WireFormat() {}

  /** A request's content once decoded. */
  record Request(byte kind, String name, Arguments arguments) {}

  /** Thrown for bytes that are not a well-formed message of this format. */
  static final class MalformedMessageException extends RuntimeException {
    MalformedMessageException(String message) {
      super(message);
    }

    MalformedMessageException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * Returns the exact size {@link #encodeRequest} produces, computed without encoding the values.
   */
  static long requestSize(byte[] name, Arguments arguments) {
    long size = REQUEST_OVERHEAD + (long) name.length;
    for (Argument argument : arguments.positional()) {
      size += 4 + VARIANT_OVERHEAD + argument.value().size();
    }
    for (KeywordArgument keyword : arguments.keyword()) {
      size += 4 + utf8Length(keyword.keyword()) + VARIANT_OVERHEAD + keyword.value().size();
    }
    return size;
  }

  /**
   * Encodes a request whose exact size is {@code size} (from {@link #requestSize}), which the
   * caller has checked against its limit.
   */
  static byte[] encodeRequest(byte kind, byte[] name, Arguments arguments, long size) {
    ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(size));
    out.put(REQUEST_MAGIC).put(VERSION).put(kind);
    out.putInt(name.length).put(name);
    out.putInt(arguments.positional().size());
    for (Argument argument : arguments.positional()) {
      out.putInt(argument.position());
      putVariant(out, argument.value());
    }
    out.putInt(arguments.keyword().size());
    for (KeywordArgument keyword : arguments.keyword()) {
      byte[] bytes = keyword.keyword().getBytes(StandardCharsets.UTF_8);
      out.putInt(bytes.length).put(bytes);
      putVariant(out, keyword.value());
    }
    if (out.hasRemaining()) {
      throw new IllegalStateException(
          "request size miscomputed: " + out.remaining() + " bytes left");
    }
    return out.array();
  }

  /**
   * Remembers the names decoded lately, for every runner of the process: the method a fan-out calls
   * on thousands of models is decoded once (and keeps its cached hash code for each model's method
   * look-up), and its bytes are compared with one entry that stays in the processor's cache, not
   * with one per runner. A name maps to one of a few slots by its bytes; a slot holds an immutable
   * entry, so any thread may use the cache. A cached name is the JVM's canonical string ({@link
   * String#intern}), the very object reflection gives as a method's name: a model's method table,
   * keyed by those names, finds it by identity, without comparing its bytes with the key's (each
   * model's key being a line of memory of its own to fetch, in a fan-out over thousands of isolated
   * models).
   */
  private static final class NameCache {
    private static final int SLOTS = 64; // a power of two

    /** Longer names are decoded each time: the cache holds no large arrays. */
    private static final int MAX_CACHED_BYTES = 256;

    private record Entry(byte[] encoded, String decoded) {}

    private final AtomicReferenceArray<Entry> slots = new AtomicReferenceArray<>(SLOTS);

    String decode(In in, int length) {
      int start = in.position;
      byte[] array = in.bytes;
      in.position += length;
      if (length > MAX_CACHED_BYTES) {
        return new String(array, start, length, StandardCharsets.UTF_8);
      }
      int hash = length;
      for (int i = start; i < start + length; i++) {
        hash = 31 * hash + array[i];
      }
      int slot = (hash ^ (hash >>> 16)) & (SLOTS - 1);
      Entry entry = slots.get(slot);
      if (entry != null
          && Arrays.equals(array, start, start + length, entry.encoded, 0, entry.encoded.length)) {
        return entry.decoded;
      }
      String name = new String(array, start, length, StandardCharsets.UTF_8).intern();
      slots.lazySet(slot, new Entry(Arrays.copyOfRange(array, start, start + length), name));
      return name;
    }
  }

  /** The method names of requests, decoded once for every runner of the process. */
  private static final NameCache NAMES = new NameCache();

  /**
   * Decodes a request. The variants own fresh copies of their bytes; the name is shared with the
   * requests that carried the same one lately.
   *
   * @throws MalformedMessageException if the bytes are not a well-formed request
   */
  static Request decodeRequest(byte[] message) {
    try {
      In in = new In(message);
      expectHeader(in, REQUEST_MAGIC, "request");
      byte kind = in.get();
      if (kind != SETUP && kind != CALL && kind != RESET) {
        throw new MalformedMessageException("unknown request kind " + kind);
      }
      String name = NAMES.decode(in, getLength(in));
      int positionalCount = getCount(in, 4 + VARIANT_OVERHEAD, "positional arguments");
      List<Argument> positional = new ArrayList<>(positionalCount);
      for (int i = 0; i < positionalCount; i++) {
        int position = in.getInt();
        positional.add(new Argument(position, getVariant(in)));
      }
      int keywordCount = getCount(in, 4 + VARIANT_OVERHEAD, "keyword arguments");
      List<KeywordArgument> keyword = new ArrayList<>(keywordCount);
      for (int i = 0; i < keywordCount; i++) {
        String keywordName = getString(in);
        keyword.add(new KeywordArgument(keywordName, getVariant(in)));
      }
      expectEnd(in);
      return new Request(kind, name, Arguments.of(positional, keyword));
    } catch (BufferUnderflowException e) {
      throw new MalformedMessageException("truncated request of " + message.length + " bytes", e);
    }
  }

  /** Returns the exact size {@link #encodeReply} produces. */
  static long replySize(Reply reply) {
    Status status = reply.status();
    long size = REPLY_OVERHEAD + utf8Length(status.code()) + utf8Length(status.message());
    if (reply.value().isPresent()) {
      size += VARIANT_OVERHEAD + reply.value().get().size();
    }
    return size;
  }

  /** Encodes a reply whose exact size is {@code size} (from {@link #replySize}). */
  static byte[] encodeReply(Reply reply, long size) {
    ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(size));
    out.put(REPLY_MAGIC).put(VERSION);
    putString(out, reply.status().code());
    putString(out, reply.status().message());
    if (reply.value().isPresent()) {
      out.put((byte) 1);
      putVariant(out, reply.value().get());
    } else {
      out.put((byte) 0);
    }
    if (out.hasRemaining()) {
      throw new IllegalStateException("reply size miscomputed: " + out.remaining() + " bytes left");
    }
    return out.array();
  }

  /**
   * Decodes a reply.
   *
   * @throws MalformedMessageException if the bytes are not a well-formed reply
   */
  static Reply decodeReply(byte[] message) {
    try {
      In in = new In(message);
      expectHeader(in, REPLY_MAGIC, "reply");
      String code = getString(in);
      String text = getString(in);
      Status status =
          SUCCESS_CODE.equals(code) && text.isEmpty() ? SUCCESS_EMPTY : new Status(code, text);
      byte present = in.get();
      Reply reply;
      if (present == 0) {
        reply = Reply.of(status);
      } else if (present == 1) {
        Variant value = getVariant(in);
        if (!status.isSuccess()) {
          throw new MalformedMessageException("a " + status.code() + " reply carries a value");
        }
        reply = Reply.success(value);
      } else {
        throw new MalformedMessageException("bad value presence flag " + present);
      }
      expectEnd(in);
      return reply;
    } catch (BufferUnderflowException e) {
      throw new MalformedMessageException("truncated reply of " + message.length + " bytes", e);
    }
  }

  /**
   * Returns the number of UTF-8 bytes of {@code text} (unpaired surrogates count as the 1-byte
   * '?').
   */
  static int utf8Length(String text) {
    int length = text.length();
    int bytes = length;
    for (int i = 0; i < length; i++) {
      char c = text.charAt(i);
      if (c < 0x80) {
        continue;
      }
      if (c < 0x800) {
        bytes += 1;
      } else if (Character.isHighSurrogate(c)
          && i + 1 < length
          && Character.isLowSurrogate(text.charAt(i + 1))) {
        bytes += 2; // 4 bytes for the pair of 2 chars
        i++;
      } else if (Character.isSurrogate(c)) {
        continue; // encoded as '?'
      } else {
        bytes += 2;
      }
    }
    return bytes;
  }

  private static void putVariant(ByteBuffer out, Variant value) {
    out.put((byte) value.type().number());
    out.putInt(value.size());
    out.put(value.asReadOnlyByteBuffer());
  }

  private static void putString(ByteBuffer out, String text) {
    byte[] bytes =
        text.equals(SUCCESS_CODE) ? SUCCESS_BYTES : text.getBytes(StandardCharsets.UTF_8);
    out.putInt(bytes.length).put(bytes);
  }

  private static void expectHeader(In in, byte magic, String what) {
    if (in.remaining() < 2 || in.get() != magic) {
      throw new MalformedMessageException("not an in-process " + what);
    }
    byte version = in.get();
    if (version != VERSION) {
      throw new MalformedMessageException("unsupported " + what + " version " + version);
    }
  }

  private static void expectEnd(In in) {
    if (in.hasRemaining()) {
      throw new MalformedMessageException(in.remaining() + " unexpected trailing bytes");
    }
  }

  private static int getCount(In in, int minEntrySize, String what) {
    int count = in.getInt();
    if (count < 0 || (long) count * minEntrySize > in.remaining()) {
      throw new MalformedMessageException(
          "bad number of " + what + ": " + count + " with " + in.remaining() + " bytes left");
    }
    return count;
  }

  private static int getLength(In in) {
    int length = in.getInt();
    if (length < 0 || length > in.remaining()) {
      throw new MalformedMessageException(
          "bad length " + length + " with " + in.remaining() + " bytes left");
    }
    return length;
  }

  private static String getString(In in) {
    int length = getLength(in);
    if (length == 0) {
      return "";
    }
    int start = in.position;
    in.position += length;
    if (length == SUCCESS_BYTES.length
        && Arrays.equals(in.bytes, start, start + length, SUCCESS_BYTES, 0, length)) {
      return SUCCESS_CODE; // the usual code: no new string
    }
    return new String(in.bytes, start, length, StandardCharsets.UTF_8);
  }

  private static Variant getVariant(In in) {
    int typeNumber = in.get();
    VariantType type;
    try {
      type = VariantType.forNumber(typeNumber);
    } catch (IllegalArgumentException e) {
      throw new MalformedMessageException("unknown variant type " + typeNumber, e);
    }
    int length = getLength(in);
    if (type == VariantType.NONE && length == 0) {
      return Variant.NONE;
    }
    byte[] bytes = Arrays.copyOfRange(in.bytes, in.position, in.position + length);
    in.position += length;
    return Variant.wrap(
        type, bytes); // a fresh private copy: the model's value is never the sender's
  }

  /**
   * A cursor over a message being decoded: what a {@link ByteBuffer} gave, in an object of less
   * than half its size (a request and a reply per call, whose buffers the compiler did not remove).
   * Reads past the end throw {@link BufferUnderflowException}, as the buffer's did.
   */
  private static final class In {
    private static final VarHandle INT =
        MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);

    final byte[] bytes;
    int position;

    In(byte[] bytes) {
      this.bytes = bytes;
    }

    int remaining() {
      return bytes.length - position;
    }

    boolean hasRemaining() {
      return position < bytes.length;
    }

    byte get() {
      if (position >= bytes.length) {
        throw new BufferUnderflowException();
      }
      return bytes[position++];
    }

    int getInt() {
      if (bytes.length - position < 4) {
        throw new BufferUnderflowException();
      }
      int value = (int) INT.get(bytes, position);
      position += 4;
      return value;
    }
  }
}
