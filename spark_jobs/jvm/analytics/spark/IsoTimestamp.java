package analytics.spark;

import java.time.DateTimeException;
import java.time.LocalDateTime;
import org.apache.spark.sql.api.java.UDF1;

/**
 * iso_timestamp(text): an ISO-8601 timestamp with a mandatory zone, as the UTC wall clock it
 * denotes (a TIMESTAMP_NTZ, to the microsecond: further digits are dropped, as Spark does).
 *
 * <p>The text must be, exactly: {@code YYYY-MM-DD}, {@code T} or a space, {@code HH:MM},
 * optionally {@code :SS} and then optionally {@code .} and 1 to 9 digits, then {@code Z} or an
 * offset {@code +HH}, {@code +HHMM} or {@code +HH:MM} (or {@code -}). Digits are ASCII. Anything
 * else, a date or time that does not exist (February 30th, hour 24, second 60) or an offset
 * beyond 18 hours gives null. This is what {@code try_to_timestamp(text)} cast to
 * TIMESTAMP_NTZ in a UTC session gives for text that matches that pattern, in one pass over the
 * characters (tests/unit/test_iso_timestamp.py compares the two).
 */
public final class IsoTimestamp implements UDF1<String, LocalDateTime> {
  private static final long serialVersionUID = 1L;
  private static final int MAX_OFFSET_HOURS = 18;

  @Override
  public LocalDateTime call(String text) {
    return text == null ? null : parse(text);
  }

  static LocalDateTime parse(String text) {
    int n = text.length();
    if (n < 17) { // YYYY-MM-DDTHH:MMZ
      return null;
    }
    int year = digits(text, 0, 4);
    int month = digits(text, 5, 2);
    int day = digits(text, 8, 2);
    int hour = digits(text, 11, 2);
    int minute = digits(text, 14, 2);
    char separator = text.charAt(10);
    if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0
        || text.charAt(4) != '-' || text.charAt(7) != '-'
        || (separator != 'T' && separator != ' ') || text.charAt(13) != ':') {
      return null;
    }
    int i = 16;
    int second = 0;
    int nanos = 0;
    if (text.charAt(i) == ':') {
      second = digits(text, i + 1, 2);
      if (second < 0) {
        return null;
      }
      i += 3;
      if (i < n && text.charAt(i) == '.') {
        int start = ++i;
        while (i < n && i - start < 9 && isDigit(text.charAt(i))) {
          nanos = nanos * 10 + (text.charAt(i) - '0');
          i++;
        }
        if (i == start) {
          return null;
        }
        for (int k = i - start; k < 9; k++) {
          nanos *= 10;
        }
      }
    }
    int offset = offsetSeconds(text, i);
    if (offset == Integer.MIN_VALUE) {
      return null;
    }
    try {
      LocalDateTime local =
          LocalDateTime.of(year, month, day, hour, minute, second, nanos / 1000 * 1000);
      return local.minusSeconds(offset);
    } catch (DateTimeException doesNotExist) {
      return null;
    }
  }

  /** The zone's offset from UTC in seconds ("Z", "+HH", "+HHMM", "+HH:MM"), MIN_VALUE if not one. */
  private static int offsetSeconds(String text, int i) {
    int n = text.length();
    if (i >= n) {
      return Integer.MIN_VALUE;
    }
    char sign = text.charAt(i);
    if (sign == 'Z') {
      return i + 1 == n ? 0 : Integer.MIN_VALUE;
    }
    if (sign != '+' && sign != '-') {
      return Integer.MIN_VALUE;
    }
    int hours = digits(text, i + 1, 2);
    int minutes = 0;
    int j = i + 3;
    if (j < n) {
      if (text.charAt(j) == ':') {
        j++;
      }
      minutes = digits(text, j, 2);
      j += 2;
    }
    if (hours < 0 || minutes < 0 || j != n || minutes > 59 || hours > MAX_OFFSET_HOURS
        || (hours == MAX_OFFSET_HOURS && minutes > 0)) {
      return Integer.MIN_VALUE;
    }
    int seconds = hours * 3600 + minutes * 60;
    return sign == '-' ? -seconds : seconds;
  }

  /** The value of `count` ASCII digits at `start`, or -1 if they are not all there. */
  private static int digits(String text, int start, int count) {
    if (start + count > text.length()) {
      return -1;
    }
    int value = 0;
    for (int k = start; k < start + count; k++) {
      char c = text.charAt(k);
      if (!isDigit(c)) {
        return -1;
      }
      value = value * 10 + (c - '0');
    }
    return value;
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }
}
