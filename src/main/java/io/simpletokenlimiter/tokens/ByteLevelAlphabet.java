package io.simpletokenlimiter.tokens;

import java.util.Arrays;

/**
 * GPT-2's byte-to-unicode mapping, which byte-level BPE vocabularies ({@code tokenizer.json}) use
 * to write arbitrary bytes as printable characters: printable Latin-1 bytes stand for themselves,
 * the other 68 bytes are shifted to U+0100 and up, in byte order.
 */
final class ByteLevelAlphabet {

  private static final char[] CHAR_OF_BYTE = new char[256];
  private static final int[] BYTE_OF_CHAR = new int[256 + 68];

  static {
    Arrays.fill(BYTE_OF_CHAR, -1);
    int shifted = 0;
    for (int b = 0; b < 256; b++) {
      boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      char c = printable ? (char) b : (char) (256 + shifted++);
      CHAR_OF_BYTE[b] = c;
      BYTE_OF_CHAR[c] = b;
    }
  }

  private ByteLevelAlphabet() {}

  /**
   * The bytes a vocabulary entry stands for.
   *
   * @throws IllegalArgumentException when the text holds a character outside the alphabet
   */
  static byte[] toBytes(String tokenText) {
    byte[] bytes = new byte[tokenText.length()];
    for (int i = 0; i < bytes.length; i++) {
      char c = tokenText.charAt(i);
      int b = c < BYTE_OF_CHAR.length ? BYTE_OF_CHAR[c] : -1;
      if (b < 0) {
        throw new IllegalArgumentException(
            "character U+%04X is not in the byte-level alphabet".formatted((int) c));
      }
      bytes[i] = (byte) b;
    }
    return bytes;
  }

  /** The vocabulary spelling of some bytes, as Hugging Face shows tokens ("Ġhello"). */
  static String toText(byte[] bytes) {
    char[] chars = new char[bytes.length];
    for (int i = 0; i < bytes.length; i++) {
      chars[i] = CHAR_OF_BYTE[bytes[i] & 0xFF];
    }
    return new String(chars);
  }
}
