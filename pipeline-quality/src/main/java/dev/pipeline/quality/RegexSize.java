package dev.pipeline.quality;

import java.util.ArrayDeque;
import java.util.Deque;
import org.jspecify.annotations.Nullable;

/**
 * Refuses a regular expression before RE2/J compiles it when its counted repetitions nest to a
 * product over {@value #MAX_REPEAT_PRODUCT}: RE2/J expands {@code ((a{1000}){1000}){1000}} into a
 * billion instructions, which takes the heap and many seconds, where RE2 itself refuses it. Only
 * the product of the counts along one nesting matters; RE2/J checks the rest of the syntax.
 * Stateless.
 */
final class RegexSize {
  /** The largest product of nested repetition counts accepted, as RE2 allows. */
  static final int MAX_REPEAT_PRODUCT = 1_000;

  private RegexSize() {}

  /** Why the pattern is refused, or null if RE2/J may compile it. */
  static @Nullable String problem(String regex) {
    Deque<long[]> groups = new ArrayDeque<>(); // per open group: the largest product inside it
    groups.push(new long[] {1});
    long last = 1; // the product of the atom just read
    int n = regex.length();
    for (int i = 0; i < n; i++) {
      char c = regex.charAt(i);
      switch (c) {
        case '\\' -> {
          i = escapeEnd(regex, i);
          last = 1;
        }
        case '[' -> {
          i = classEnd(regex, i);
          last = 1;
        }
        case '(' -> {
          groups.push(new long[] {1});
          continue;
        }
        case ')' -> {
          if (groups.size() == 1) {
            return null; // unbalanced: RE2/J says so
          }
          last = groups.pop()[0];
        }
        case '{' -> {
          int end = regex.indexOf('}', i);
          long count = end < 0 ? -1 : count(regex.substring(i + 1, end));
          if (count < 0) {
            last = 1; // a literal brace
          } else {
            last = Math.min(last * Math.max(count, 1), Integer.MAX_VALUE);
            i = end;
          }
        }
        default -> last = 1;
      }
      long[] group = groups.peek();
      group[0] = Math.max(group[0], last);
      if (last > MAX_REPEAT_PRODUCT) {
        return "its counted repetitions nest to "
            + (last >= Integer.MAX_VALUE ? "more than " + Integer.MAX_VALUE : last)
            + " copies, more than the "
            + MAX_REPEAT_PRODUCT
            + " allowed; use + or * for long runs";
      }
    }
    return null;
  }

  /** The larger count of {@code n}, {@code n,} or {@code n,m}, or -1 if it is not a count. */
  private static long count(String inside) {
    int comma = inside.indexOf(',');
    String low = comma < 0 ? inside : inside.substring(0, comma);
    String high = comma < 0 ? "" : inside.substring(comma + 1);
    if (!digits(low) || (!high.isEmpty() && !digits(high))) {
      return -1;
    }
    return Long.parseLong(high.isEmpty() ? low : high);
  }

  private static boolean digits(String s) {
    if (s.isEmpty() || s.length() > 9) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) < '0' || s.charAt(i) > '9') {
        return false;
      }
    }
    return true;
  }

  /** The index of the last character of the escape at {@code i}. */
  private static int escapeEnd(String regex, int i) {
    if (i + 1 >= regex.length()) {
      return i;
    }
    char next = regex.charAt(i + 1);
    if (next == 'Q') {
      int end = regex.indexOf("\\E", i + 2);
      return end < 0 ? regex.length() - 1 : end + 1;
    }
    if ((next == 'p' || next == 'P') && i + 2 < regex.length() && regex.charAt(i + 2) == '{') {
      int end = regex.indexOf('}', i + 2);
      return end < 0 ? regex.length() - 1 : end;
    }
    return i + 1;
  }

  /** The index of the {@code ]} that closes the class opened at {@code i}. */
  private static int classEnd(String regex, int i) {
    int j = i + 1;
    if (j < regex.length() && regex.charAt(j) == '^') {
      j++;
    }
    if (j < regex.length() && regex.charAt(j) == ']') {
      j++;
    }
    for (; j < regex.length(); j++) {
      char c = regex.charAt(j);
      if (c == '\\') {
        j = escapeEnd(regex, j);
      } else if (c == '[' && j + 1 < regex.length() && regex.charAt(j + 1) == ':') {
        int end = regex.indexOf(":]", j + 2);
        j = end < 0 ? j : end + 1;
      } else if (c == ']') {
        return j;
      }
    }
    return regex.length() - 1;
  }
}
