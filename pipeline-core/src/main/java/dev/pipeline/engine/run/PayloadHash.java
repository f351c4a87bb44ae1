package dev.pipeline.engine.run;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.RecordComponent;
import java.time.Instant;
import java.util.Arrays;
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
 * itself; a text inside a payload has its length mixed in first, so that texts side by side do not
 * hash as their concatenation; numbers, booleans, characters, enum constants (by name) and instants
 * by their value; optionals by what they hold; records by the FNV-1a of their class's name (kept
 * per class) and their components in order; lists and arrays by their elements in order (byte
 * arrays by their bytes); sets and maps by the sum of their elements' (entries') hashes, so two
 * equal sets hash alike whatever their order. Anything else is hashed by the text of {@code
 * String.valueOf}. Equal content gives equal hashes in every run; a record whose accessors this
 * module cannot call is hashed by its text too.
 *
 * <p>A record inside the payload (a component, an element, what an optional holds) counts by its
 * own hash, the one it would have as a payload by itself, mixed in after a mark: so a stage that
 * wraps its input in its output (as each of the example's stages does) has the input's hash, known
 * already, taken into the output's instead of walking the input again ({@link #of(Object, Object,
 * long)}). A text payload hashes as in earlier versions; a payload with a record or a text inside
 * it (in a record, list, optional, set or map) does not (the record's own hash, the text's length),
 * so a trace that spans an upgrade shows its hashes change there once.
 *
 * <p>Making a record into text to hash it (its {@code toString}, with every {@code double} and
 * {@code Instant} formatted) was most of what lineage {@code ALL} cost a worker; the walk allocates
 * little for the values above. It goes {@value #MAX_DEPTH} levels deep and through {@value
 * #MAX_VALUES} values at most (past either, a value counts by its class name alone), and a
 * component that throws when read is hashed as its class name, so no payload can make the hash fail
 * or hang. A record whose hash is known counts by it wherever it is (its walk is not repeated), so
 * within the bounds the known hash is the one the walk would give.
 */
final class PayloadHash {
  static final int MAX_DEPTH = 16;

  /** The values one hash walks at most (a list holding itself ten times would not end). */
  static final int MAX_VALUES = 100_000;

  private static final long OFFSET = 0xcbf29ce484222325L;
  private static final long PRIME = 0x100000001b3L;
  // two FNV-1a rounds of a character below 256, whose high byte is zero: (h ^ c) * prime²
  private static final long PRIME_SQUARED = PRIME * PRIME;

  /**
   * A record class's components and the hash of its name.
   *
   * @param open the object components whose declared type does not settle that their values cannot
   *     change: {@link #unchanging} reads only these
   */
  private record Shape(Component[] components, long nameHash, Component[] open) {
    Shape(Component[] components, long nameHash) {
      this(
          components,
          nameHash,
          Arrays.stream(components)
              .filter(c -> c.kind == 'L' && !c.settled)
              .toArray(Component[]::new));
    }
  }

  /**
   * A record component's accessor, as a method handle of its own return type: a number is mixed in
   * as it is read, without being boxed (boxing each {@code long} and {@code double} of the
   * example's records, and {@code Method.invoke}'s checks, were a fifth of what the hash cost).
   *
   * @param kind the letter a value of the component's type is mixed in after ({@code 'J'} for a
   *     {@code long}, as the walk of a {@code Long} does), or {@code 'L'} for an object
   * @param boxed the name of the type a primitive's value is boxed in, counted in its place when
   *     the walk goes no deeper (as the walk of the boxed value would)
   * @param settled whether every value of the component's declared type is one that cannot change
   *     ({@link #SETTLED}, or an enum): {@link #unchanging} does not read it
   */
  private record Component(MethodHandle read, char kind, String boxed, boolean settled) {}

  /**
   * Declared types all of whose values cannot change (each a final class), so that a record
   * component of one of them needs no look to know it: the example's last stage hands on a record
   * of 20 components, nearly all text, numbers and enums, whose reads (a method handle each) were
   * most of what telling it unchanged cost.
   */
  private static final Set<Class<?>> SETTLED =
      Set.of(
          String.class,
          Long.class,
          Integer.class,
          Short.class,
          Byte.class,
          Double.class,
          Float.class,
          Boolean.class,
          Character.class,
          Instant.class,
          OptionalInt.class,
          OptionalLong.class,
          OptionalDouble.class);

  /** What an accessor that throws counts as: the exception {@code Method.invoke} would throw. */
  private static final String THREW = InvocationTargetException.class.getName();

  // a record class's shape, or null where its accessors cannot be called from here
  private static final ClassValue<@Nullable Shape> SHAPES =
      new ClassValue<>() {
        @Override
        protected @Nullable Shape computeValue(Class<?> type) {
          RecordComponent[] components = type.getRecordComponents();
          Component[] read = new Component[components.length];
          try {
            for (int i = 0; i < components.length; i++) {
              read[i] = component(components[i].getAccessor());
            }
            return new Shape(read, text(type.getName()));
          } catch (RuntimeException | IllegalAccessException inaccessible) {
            return null; // not open to this module: hashed by its text
          }
        }
      };

  /**
   * Whether a collection or map class is one of {@code java.util}'s unmodifiable kinds, whose
   * contents cannot change ({@code List.of} and the like; not {@code Collections.unmodifiableList},
   * a view of a list that can).
   */
  private static final ClassValue<Boolean> UNMODIFIABLE =
      new ClassValue<>() {
        @Override
        protected Boolean computeValue(Class<?> type) {
          Class<?> outer = type.getNestHost();
          return outer.getName().equals("java.util.ImmutableCollections");
        }
      };

  /** The object whose hash is known (the stage's input), or null; only a record counts by it. */
  private final @Nullable Object known;

  private final long knownHash;

  private PayloadHash(@Nullable Object known, long knownHash) {
    this.known = known;
    this.knownHash = knownHash;
  }

  private static Component component(Method accessor) throws IllegalAccessException {
    accessor.setAccessible(true);
    Class<?> type = accessor.getReturnType();
    char kind =
        type == long.class
            ? 'J'
            : type == int.class
                ? 'I'
                : type == short.class
                    ? 'S'
                    : type == byte.class
                        ? 'B'
                        : type == double.class
                            ? 'D'
                            : type == float.class
                                ? 'F'
                                : type == boolean.class ? 'Z' : type == char.class ? 'C' : 'L';
    Class<?> returned = kind == 'L' ? Object.class : type;
    MethodHandle read =
        MethodHandles.lookup()
            .unreflect(accessor)
            .asType(MethodType.methodType(returned, Object.class));
    String boxed = MethodType.methodType(returned).wrap().returnType().getName();
    boolean settled = kind != 'L' || type.isEnum() || SETTLED.contains(type);
    return new Component(read, kind, boxed, settled);
  }

  /** The hash of a payload's content. */
  static long of(@Nullable Object payload) {
    return new PayloadHash(null, 0).walk(OFFSET, payload, 0);
  }

  /**
   * The hash of a payload's content, the hash of one object being known: where that very object is
   * a record inside the payload (a stage's output wrapping its input), it counts by the known hash
   * instead of being walked again.
   *
   * @param known an object whose hash is {@code knownHash} ({@link #of(Object)}), or null
   */
  static long of(@Nullable Object payload, @Nullable Object known, long knownHash) {
    if (payload == known) {
      return knownHash;
    }
    return new PayloadHash(known, knownHash).walk(OFFSET, payload, 0);
  }

  /**
   * Whether a payload cannot have changed since its hash was taken, so that an output that is the
   * very object a stage was given has the hash it had then without a walk: a {@code String}, a
   * boxed number, boolean or character, an enum constant (counted by its name), an {@code Instant},
   * an optional of such, a record all of whose object components are such (its fields are its
   * components, all final), or a list, set or map of {@code java.util}'s unmodifiable kinds ({@code
   * List.of}, {@code List.copyOf}, {@code Stream.toList}, {@code Set.of}, {@code Map.of}) holding
   * such. Anything else (an array, a {@code StringBuilder}, an {@code ArrayList}, an unmodifiable
   * view of a modifiable collection, a value past the walk's bounds, a component that throws when
   * read) may have been changed in place, and is hashed again. A record's components of a primitive
   * type, an enum, text, a boxed value, an instant or a primitive optional are not read: a value of
   * such a declared type cannot change, whatever its accessor would give now.
   *
   * <p>The example's last stage hands on the very object it was given; hashing it again was a third
   * of what its payloads cost to hash, where this walk reads its components without hashing their
   * text.
   */
  static boolean unchanging(@Nullable Object payload) {
    return new PayloadHash(null, 0).fixed(payload, 0);
  }

  private boolean fixed(@Nullable Object value, int depth) {
    if (value == null || value instanceof String) {
      return true;
    }
    if (depth >= MAX_DEPTH || --left < 0) {
      return false;
    }
    if (value instanceof Record r) {
      Shape shape = SHAPES.get(r.getClass());
      if (shape == null) {
        return false;
      }
      for (Component c : shape.open) { // primitives and settled types need no look
        Object component;
        try {
          component = (Object) c.read.invokeExact((Object) r);
        } catch (Throwable e) { // read once, maybe not the next time
          return false;
        }
        if (!fixed(component, depth + 1)) {
          return false;
        }
      }
      return true;
    }
    return switch (value) {
      case Long n -> true;
      case Integer n -> true;
      case Short n -> true;
      case Byte n -> true;
      case Double n -> true;
      case Float n -> true;
      case Boolean b -> true;
      case Character c -> true;
      case Enum<?> e -> true;
      case Instant t -> true;
      case OptionalInt o -> true;
      case OptionalLong o -> true;
      case OptionalDouble o -> true;
      case Optional<?> o -> o.isEmpty() || fixed(o.get(), depth + 1);
      case Map<?, ?> map -> UNMODIFIABLE.get(map.getClass()) && fixed(map.entrySet(), depth);
      case Collection<?> elements when UNMODIFIABLE.get(elements.getClass()) -> {
        for (Object element : elements) {
          if (!fixed(element, depth + 1)) {
            yield false;
          }
        }
        yield true;
      }
      case Map.Entry<?, ?> e -> fixed(e.getKey(), depth) && fixed(e.getValue(), depth);
      default -> false;
    };
  }

  private int left = MAX_VALUES;

  /** The 64-bit FNV-1a hash of a text's UTF-16 characters (low byte, then high byte, each). */
  static long text(CharSequence text) {
    return chars(OFFSET, text);
  }

  static long chars(long h, CharSequence text) {
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

  /**
   * A text's length, mixed in before the characters of a text inside a payload (a component, an
   * element, a key): without it, texts side by side hashed as their concatenation, so a stage that
   * moved characters from one component to the next ({@code ("ab", "c")} to {@code ("a", "bc")})
   * looked unchanged in lineage. One round, as a character's: a text's length is below 2³¹.
   */
  private static long length(long h, CharSequence text) {
    return (h ^ text.length()) * PRIME;
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
      return depth == 0 ? chars(h, text) : chars(length(h, text), text);
    }
    if (depth >= MAX_DEPTH || --left < 0) {
      return chars(mix(h, 0x3f), value.getClass().getName()); // as deep as it goes
    }
    try {
      if (value instanceof Record r) {
        // the payload itself, or a record inside it by its own hash (known, or walked); a record
        // that is also text was hashed as text above, even if known
        return depth == 0
            ? record(h, r, depth)
            : mix(mix(h, '@'), r == known ? knownHash : record(OFFSET, r, depth));
      }
      // the kinds a record's object components most often are come first (each case is a type
      // test of its own, in order); an enum stays ahead of the collections, and a set and a map
      // ahead of other collections, so that a value of two kinds counts as the same one as before
      return switch (value) {
        case Enum<?> e -> chars(mix(h, 'E'), e.name());
        case Set<?> set -> unordered(h, set, depth);
        case Map<?, ?> map -> entries(h, map, depth);
        case Collection<?> list -> {
          long x = mix(mix(h, '['), list.size());
          for (Object element : list) {
            x = walk(x, element, depth + 1);
          }
          yield x;
        }
        case OptionalInt o -> o.isPresent() ? mix(mix(h, 'i'), o.getAsInt()) : mix(h, '0');
        case OptionalLong o -> o.isPresent() ? mix(mix(h, 'j'), o.getAsLong()) : mix(h, '0');
        case OptionalDouble o ->
            o.isPresent()
                ? mix(mix(h, 'd'), Double.doubleToLongBits(o.getAsDouble()))
                : mix(h, '0');
        case Optional<?> o -> o.isPresent() ? walk(mix(h, 'o'), o.get(), depth + 1) : mix(h, '0');
        case Long n -> mix(mix(h, 'J'), n);
        case Integer n -> mix(mix(h, 'I'), n);
        case Short n -> mix(mix(h, 'S'), n);
        case Byte n -> mix(mix(h, 'B'), n);
        case Double n -> mix(mix(h, 'D'), Double.doubleToLongBits(n));
        case Float n -> mix(mix(h, 'F'), Float.floatToIntBits(n));
        case Boolean b -> mix(mix(h, 'Z'), b ? 1 : 0);
        case Character c -> mix(mix(h, 'C'), c);
        case Instant t -> mix(mix(mix(h, 'T'), t.getEpochSecond()), t.getNano());
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
        default -> {
          String text = String.valueOf(value);
          yield depth == 0 ? chars(h, text) : chars(length(h, text), text);
        }
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
    for (Component c : shape.components) {
      x = c.kind == 'L' ? walk(x, object(c, r), depth + 1) : primitive(x, c, r, depth + 1);
    }
    return x;
  }

  /** An object component, or the name of what its accessor threw (its place is marked). */
  private static Object object(Component c, Record r) {
    try {
      return (Object) c.read.invokeExact((Object) r);
    } catch (Throwable e) {
      return THREW;
    }
  }

  /** A primitive component mixed in as the walk of its boxed value would, without the box. */
  private long primitive(long h, Component c, Record r, int depth) {
    long value;
    try {
      value =
          switch (c.kind) {
            case 'J' -> (long) c.read.invokeExact((Object) r);
            case 'I' -> (int) c.read.invokeExact((Object) r);
            case 'S' -> (short) c.read.invokeExact((Object) r);
            case 'B' -> (byte) c.read.invokeExact((Object) r);
            case 'D' -> Double.doubleToLongBits((double) c.read.invokeExact((Object) r));
            case 'F' -> Float.floatToIntBits((float) c.read.invokeExact((Object) r));
            case 'Z' -> (boolean) c.read.invokeExact((Object) r) ? 1 : 0;
            default -> (char) c.read.invokeExact((Object) r);
          };
    } catch (Throwable e) { // all an accessor throws, as Method.invoke wraps it
      return chars(h, THREW);
    }
    if (depth >= MAX_DEPTH || --left < 0) {
      return chars(mix(h, 0x3f), c.boxed); // as deep as it goes
    }
    return mix(mix(h, c.kind), value);
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
