package dev.pipeline.engine.run;

import java.lang.reflect.Method;
import java.lang.reflect.RecordComponent;
import java.time.Instant;
import java.util.Collection;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The lineage hash of a payload, taken from its content without making it into text: 64-bit FNV-1a
 * over a walk of the value. Text ({@link CharSequence}) is hashed by its UTF-16 characters, each
 * character's low byte then its high byte, so a text payload's hash is the FNV-1a of the text
 * itself; numbers, booleans, characters, enum constants (by name) and instants by their value;
 * optionals by what they hold; records by the FNV-1a of their class's name (kept per class) and
 * their components in order; lists and arrays by their elements in order (byte arrays by their
 * bytes); sets and maps by the sum of their elements' (entries') hashes, so two equal sets hash
 * alike whatever their order. Anything else is hashed by the text of {@code String.valueOf}. Equal
 * content gives equal hashes in every run; a record whose accessors this module cannot call is
 * hashed by its text too.
 *
 * <p>Making a record into text to hash it (its {@code toString}, with every {@code double} and
 * {@code Instant} formatted) was most of what lineage {@code ALL} cost a worker; the walk allocates
 * little for the values above. It goes {@value #MAX_DEPTH} levels deep and through {@value
 * #MAX_VALUES} values at most (past either, a value counts by its class name alone), and a
 * component that throws when read is hashed as its class name, so no payload can make the hash fail
 * or hang.
 */
final class PayloadHash {
  static final int MAX_DEPTH = 16;

  /** The values one hash walks at most (a list holding itself ten times would not end). */
  static final int MAX_VALUES = 100_000;

  private static final long OFFSET = 0xcbf29ce484222325L;
  private static final long PRIME = 0x100000001b3L;
  // two FNV-1a rounds of a character below 256, whose high byte is zero: (h ^ c) * prime²
  private static final long PRIME_SQUARED = PRIME * PRIME;

  /** A record class's accessors and the hash of its name. */
  private record Shape(Method[] accessors, long nameHash) {}

  // a record class's shape, or null where its accessors cannot be called from here
  private static final ClassValue<@Nullable Shape> SHAPES =
      new ClassValue<>() {
        @Override
        protected @Nullable Shape computeValue(Class<?> type) {
          RecordComponent[] components = type.getRecordComponents();
          Method[] accessors = new Method[components.length];
          try {
            for (int i = 0; i < components.length; i++) {
              accessors[i] = components[i].getAccessor();
              accessors[i].setAccessible(true);
            }
            return new Shape(accessors, text(type.getName()));
          } catch (RuntimeException inaccessible) {
            return null; // not open to this module: hashed by its text
          }
        }
      };

  private PayloadHash() {}

  /** The hash of a payload's content. */
  static long of(@Nullable Object payload) {
    return new PayloadHash().walk(OFFSET, payload, 0);
  }

  private int left = MAX_VALUES;

  /** The 64-bit FNV-1a hash of a text's UTF-16 characters (low byte, then high byte, each). */
  static long text(CharSequence text) {
    return chars(OFFSET, text);
  }

  private static long chars(long h, CharSequence text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c < 0x100) {
        h = (h ^ c) * PRIME_SQUARED; // the high byte's round: (h ^ 0) * prime
      } else {
        h = (h ^ (c & 0xff)) * PRIME;
        h = (h ^ (c >>> 8)) * PRIME;
      }
    }
    return h;
  }

  private static long mix(long h, long value) {
    for (int shift = 0; shift < 64; shift += 8) {
      h = (h ^ ((value >>> shift) & 0xff)) * PRIME;
    }
    return h;
  }

  private long walk(long h, @Nullable Object value, int depth) {
    if (value == null) {
      return chars(h, "null");
    }
    if (value instanceof CharSequence text) {
      return chars(h, text);
    }
    if (depth >= MAX_DEPTH || --left < 0) {
      return chars(mix(h, 0x3f), value.getClass().getName()); // as deep as it goes
    }
    try {
      return switch (value) {
        case Long n -> mix(mix(h, 'J'), n);
        case Integer n -> mix(mix(h, 'I'), n);
        case Short n -> mix(mix(h, 'S'), n);
        case Byte n -> mix(mix(h, 'B'), n);
        case Double n -> mix(mix(h, 'D'), Double.doubleToLongBits(n));
        case Float n -> mix(mix(h, 'F'), Float.floatToIntBits(n));
        case Boolean b -> mix(mix(h, 'Z'), b ? 1 : 0);
        case Character c -> mix(mix(h, 'C'), c);
        case Enum<?> e -> chars(mix(h, 'E'), e.name());
        case Instant t -> mix(mix(mix(h, 'T'), t.getEpochSecond()), t.getNano());
        case OptionalInt o -> o.isPresent() ? mix(mix(h, 'i'), o.getAsInt()) : mix(h, '0');
        case OptionalLong o -> o.isPresent() ? mix(mix(h, 'j'), o.getAsLong()) : mix(h, '0');
        case OptionalDouble o ->
            o.isPresent()
                ? mix(mix(h, 'd'), Double.doubleToLongBits(o.getAsDouble()))
                : mix(h, '0');
        case Optional<?> o -> o.isPresent() ? walk(mix(h, 'o'), o.get(), depth + 1) : mix(h, '0');
        case Record r -> record(h, r, depth);
        case Set<?> set -> unordered(h, set, depth);
        case Map<?, ?> map -> entries(h, map, depth);
        case Collection<?> list -> {
          long x = mix(mix(h, '['), list.size());
          for (Object element : list) {
            x = walk(x, element, depth + 1);
          }
          yield x;
        }
        case byte[] bytes -> {
          long x = mix(mix(h, '['), bytes.length);
          for (byte b : bytes) {
            x = (x ^ (b & 0xff)) * PRIME;
          }
          yield x;
        }
        case Object[] array -> {
          long x = mix(mix(h, '['), array.length);
          for (Object element : array) {
            x = walk(x, element, depth + 1);
          }
          yield x;
        }
        default -> chars(h, String.valueOf(value));
      };
    } catch (RuntimeException | StackOverflowError unreadable) {
      // a component, element or toString that throws: the payload is known by its class only
      return chars(mix(h, 0x21), value.getClass().getName());
    }
  }

  private long record(long h, Record r, int depth) {
    Shape shape = SHAPES.get(r.getClass());
    if (shape == null) {
      return chars(h, String.valueOf(r));
    }
    long x = mix(mix(h, 'R'), shape.nameHash);
    for (Method accessor : shape.accessors) {
      Object component;
      try {
        component = accessor.invoke(r);
      } catch (ReflectiveOperationException e) {
        component = e.getClass().getName(); // an accessor that throws: its place is marked
      }
      x = walk(x, component, depth + 1);
    }
    return x;
  }

  private long unordered(long h, Collection<?> elements, int depth) {
    long sum = 0;
    for (Object element : elements) {
      sum += walk(OFFSET, element, depth + 1);
    }
    return mix(mix(mix(h, '{'), elements.size()), sum);
  }

  private long entries(long h, Map<?, ?> map, int depth) {
    long sum = 0;
    for (Map.Entry<?, ?> e : map.entrySet()) {
      sum += walk(walk(OFFSET, e.getKey(), depth + 1), e.getValue(), depth + 1);
    }
    return mix(mix(mix(h, ':'), map.size()), sum);
  }
}
