package analytics.spark;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import org.apache.spark.sql.api.java.UDF2;

/**
 * json_fields(line, names): one JSON line's named top-level fields, read in one pass.
 *
 * <p>Returns null when the line is not one well-formed JSON value (a syntax error, a duplicate
 * key at any depth, anything but whitespace after the value). Otherwise an array of 2 * n
 * strings for the n comma-separated names: at 2i the JSON type of field i ("string", "integer"
 * for a whole number that fits in 64 bits, "null", "other"; null when the field is absent or
 * the value is not an object), at 2i + 1 its text (a string's value, an integer's decimal
 * digits; null otherwise).
 */
public final class JsonFields implements UDF2<String, String, String[]> {
  private static final long serialVersionUID = 1L;
  private static final JsonFactory FACTORY =
      JsonFactory.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

  private transient String namesKey;
  private transient String[] names;

  private String[] names(String joined) {
    if (!joined.equals(namesKey)) {
      names = joined.split(",", -1);
      namesKey = joined;
    }
    return names;
  }

  @Override
  public String[] call(String line, String joined) {
    if (line == null) {
      return null;
    }
    String[] wanted = names(joined);
    String[] out = new String[2 * wanted.length];
    try (JsonParser parser = FACTORY.createParser(line)) {
      JsonToken token = parser.nextToken();
      if (token == null) {
        return null;
      }
      if (token == JsonToken.START_OBJECT) {
        readObject(parser, wanted, out);
      } else {
        parser.skipChildren();
      }
      if (parser.nextToken() != null) {
        return null;
      }
    } catch (java.io.IOException malformed) {
      return null;
    }
    return out;
  }

  private static void readObject(JsonParser parser, String[] wanted, String[] out)
      throws java.io.IOException {
    while (parser.nextToken() == JsonToken.FIELD_NAME) {
      int field = indexOf(wanted, parser.currentName());
      JsonToken value = parser.nextToken();
      if (field < 0) {
        parser.skipChildren();
        continue;
      }
      switch (value) {
        case VALUE_STRING:
          out[2 * field] = "string";
          out[2 * field + 1] = parser.getText();
          break;
        case VALUE_NUMBER_INT:
          if (parser.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
            out[2 * field] = "other";
          } else {
            out[2 * field] = "integer";
            out[2 * field + 1] = Long.toString(parser.getLongValue());
          }
          break;
        case VALUE_NULL:
          out[2 * field] = "null";
          break;
        default:
          out[2 * field] = "other";
          parser.skipChildren();
      }
    }
  }

  private static int indexOf(String[] names, String name) {
    for (int i = 0; i < names.length; i++) {
      if (names[i].equals(name)) {
        return i;
      }
    }
    return -1;
  }
}
