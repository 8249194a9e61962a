package io.simpletokenlimiter.tokens;

/**
 * UTF-8 length of text without encoding it. Every Llama 3 token covers at least one byte, so this
 * is an upper bound on the tokens of any text.
 */
final class Utf8Length {

  private Utf8Length() {}

  static long of(CharSequence text) {
    long bytes = 0;
    int length = text.length();
    for (int i = 0; i < length; i++) {
      char c = text.charAt(i);
      if (c < 0x80) {
        bytes += 1;
      } else if (c < 0x800) {
        bytes += 2;
      } else if (Character.isHighSurrogate(c)
          && i + 1 < length
          && Character.isLowSurrogate(text.charAt(i + 1))) {
        bytes += 4;
        i++;
      } else {
        // A lone surrogate is counted as the three bytes a lenient encoder would write.
        bytes += 3;
      }
    }
    return bytes;
  }
}
