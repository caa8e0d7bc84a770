package org.modelrunner.transport.grpc;

import java.math.BigInteger;
import java.util.Arrays;

/**
 * Base58 with the Bitcoin/Solana alphabet (PROTOCOL-SECURITY §0): wallet public keys travel as
 * base58 text. Each leading {@code 1} stands for one leading zero byte.
 */
final class Base58 {
  private static final String ALPHABET =
      "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
  private static final BigInteger BASE = BigInteger.valueOf(58);
  private static final int[] INDEXES = new int[128];

  static {
    Arrays.fill(INDEXES, -1);
    for (int i = 0; i < ALPHABET.length(); i++) {
      INDEXES[ALPHABET.charAt(i)] = i;
    }
  }

  private Base58() {}

  /**
   * Decodes base58 text.
   *
   * @throws IllegalArgumentException for a character outside the alphabet
   */
  static byte[] decode(String text) {
    BigInteger value = BigInteger.ZERO;
    int zeros = 0;
    while (zeros < text.length() && text.charAt(zeros) == '1') {
      zeros++;
    }
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      int digit = c < 128 ? INDEXES[c] : -1;
      if (digit < 0) {
        throw new IllegalArgumentException("Invalid base58 character '" + c + "' at position " + i);
      }
      value = value.multiply(BASE).add(BigInteger.valueOf(digit));
    }
    byte[] magnitude = value.signum() == 0 ? new byte[0] : value.toByteArray();
    int skip = magnitude.length > 0 && magnitude[0] == 0 ? 1 : 0; // BigInteger's sign byte
    byte[] out = new byte[zeros + magnitude.length - skip];
    System.arraycopy(magnitude, skip, out, zeros, magnitude.length - skip);
    return out;
  }

  /** Encodes bytes as base58 text. */
  static String encode(byte[] bytes) {
    StringBuilder text = new StringBuilder();
    BigInteger value = new BigInteger(1, bytes);
    while (value.signum() > 0) {
      BigInteger[] division = value.divideAndRemainder(BASE);
      text.append(ALPHABET.charAt(division[1].intValue()));
      value = division[0];
    }
    for (int i = 0; i < bytes.length && bytes[i] == 0; i++) {
      text.append('1');
    }
    return text.reverse().toString();
  }
}
