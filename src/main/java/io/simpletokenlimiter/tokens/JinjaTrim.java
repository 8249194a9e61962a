package io.simpletokenlimiter.tokens;

/**
 * Jinja's {@code trim} filter, which is Python's {@code str.strip()}: it removes every character
 * for which Python's {@code str.isspace()} is true. That set is wider than Java's {@link
 * String#strip()}: it also holds NBSP (U+00A0), U+2007, U+202F and the separators U+001C–U+001F.
 */
final class JinjaTrim {

  private JinjaTrim() {}

  static String trim(String text) {
    int start = 0;
    int end = text.length();
    while (start < end && isPythonSpace(text.charAt(start))) {
      start++;
    }
    while (end > start && isPythonSpace(text.charAt(end - 1))) {
      end--;
    }
    return text.substring(start, end);
  }

  /** Python's {@code str.isspace()} for one character; every such character is in the BMP. */
  static boolean isPythonSpace(char c) {
    if (c <= ' ') {
      return (c >= '\t' && c <= '\r') || (c >= 0x1C && c <= ' ');
    }
    if (c < 0x85) {
      return false;
    }
    return c == 0x85
        || c == 0xA0
        || c == 0x1680
        || (c >= 0x2000 && c <= 0x200A)
        || c == 0x2028
        || c == 0x2029
        || c == 0x202F
        || c == 0x205F
        || c == 0x3000;
  }
}
