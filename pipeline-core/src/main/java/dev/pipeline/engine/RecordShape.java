package dev.pipeline.engine;

import java.lang.annotation.Annotation;
import java.lang.invoke.CallSite;
import java.lang.invoke.LambdaMetafactory;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Method;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * Which components of one record class must not be null, and how to read them: every component
 * whose type is not primitive and that is not annotated {@code @Nullable} (an annotation of that
 * simple name, JSpecify's or another's, on the component or on its type). Found by reflection once
 * per class; a record is then read through one generated function per required component (a call of
 * the accessor as cheap as a lambda's: {@link LambdaMetafactory}, where the package is open to this
 * module, as on the class path), or else its {@link MethodHandle}. Only the record's own components
 * are read: a nested record is checked where a stage returns it. Immutable and thread-safe.
 */
public final class RecordShape {
  private static final MethodType READER = MethodType.methodType(Object.class, Object.class);

  private static final ClassValue<RecordShape> SHAPES =
      new ClassValue<>() {
        @Override
        protected RecordShape computeValue(Class<?> type) {
          return build(type);
        }
      };

  private final Class<?> type;
  private final String[] names;
  private final Function<Object, @Nullable Object>[] readers;
  private final @Nullable String unreadable;
  private final AtomicBoolean warned = new AtomicBoolean();

  private RecordShape(
      Class<?> type,
      String[] names,
      Function<Object, @Nullable Object>[] readers,
      @Nullable String unreadable) {
    this.type = type;
    this.names = names;
    this.readers = readers;
    this.unreadable = unreadable;
  }

  /** The shape of a record class, found once per class and kept while the class lives. */
  public static RecordShape of(Class<? extends Record> type) {
    return SHAPES.get(type);
  }

  private static RecordShape build(Class<?> type) {
    List<String> names = new ArrayList<>();
    List<Function<Object, @Nullable Object>> readers = new ArrayList<>();
    RecordComponent[] components = type.getRecordComponents();
    try {
      for (RecordComponent c : components == null ? new RecordComponent[0] : components) {
        if (c.getType().isPrimitive() || nullable(c)) {
          continue;
        }
        names.add(c.getName());
        readers.add(reader(type, c));
      }
    } catch (IllegalAccessException | SecurityException e) {
      return new RecordShape(
          type,
          new String[0],
          functions(List.of()),
          "the components of "
              + type.getName()
              + " cannot be read from module dev.pipeline.core (its package "
              + type.getPackageName()
              + " is neither exported nor open to it); open the package to dev.pipeline.core, or"
              + " turn the stage's shape check off with s.shapeCheck(false)");
    }
    return new RecordShape(type, names.toArray(String[]::new), functions(readers), null);
  }

  @SuppressWarnings("unchecked")
  private static Function<Object, @Nullable Object>[] functions(
      List<Function<Object, @Nullable Object>> readers) {
    return readers.toArray(Function[]::new);
  }

  /**
   * A generated function calling the accessor where the package is open to this module; else its
   * method handle: a public accessor of an exported class as it is, any other through the package's
   * opening.
   */
  private static Function<Object, @Nullable Object> reader(Class<?> type, RecordComponent c)
      throws IllegalAccessException {
    Method accessor = c.getAccessor();
    RecordShape.class.getModule().addReads(type.getModule());
    MethodHandle handle;
    try {
      MethodHandles.Lookup lookup = MethodHandles.privateLookupIn(type, MethodHandles.lookup());
      handle = lookup.unreflect(accessor);
      Function<Object, @Nullable Object> generated = generated(lookup, handle, type);
      if (generated != null) {
        return generated;
      }
    } catch (IllegalAccessException closed) {
      handle = MethodHandles.publicLookup().unreflect(accessor); // a public record, exported
    }
    MethodHandle reads = handle.asType(READER);
    return record -> {
      try {
        return (Object) reads.invokeExact(record);
      } catch (RuntimeException | Error e) {
        throw e;
      } catch (Throwable checked) { // an accessor that throws a checked exception sneakily
        throw new IllegalStateException(checked);
      }
    };
  }

  /** A function generated to call {@code handle}, or null if the lookup may not define one. */
  @SuppressWarnings("unchecked")
  private static @Nullable Function<Object, @Nullable Object> generated(
      MethodHandles.Lookup lookup, MethodHandle handle, Class<?> type) {
    if (!lookup.hasFullPrivilegeAccess()) {
      return null; // another module's package: LambdaMetafactory needs the caller's full access
    }
    try {
      CallSite site =
          LambdaMetafactory.metafactory(
              lookup,
              "apply",
              MethodType.methodType(Function.class),
              READER,
              handle,
              MethodType.methodType(handle.type().returnType(), type));
      return (Function<Object, @Nullable Object>) site.getTarget().invoke();
    } catch (Throwable cannot) {
      return null;
    }
  }

  private static boolean nullable(RecordComponent c) {
    return named(c.getAnnotations()) || named(c.getAnnotatedType().getAnnotations());
  }

  private static boolean named(Annotation[] annotations) {
    for (Annotation a : annotations) {
      if (a.annotationType().getSimpleName().equals("Nullable")) {
        return true;
      }
    }
    return false;
  }

  /** The record class. */
  public Class<?> type() {
    return type;
  }

  /** The components that must not be null, in declaration order. */
  public List<String> required() {
    return List.of(names);
  }

  /** Why the components cannot be read (none are then checked), or null if they can. */
  public @Nullable String unreadable() {
    return unreadable;
  }

  /** True the first time it is asked, for a shape whose components cannot be read. */
  boolean firstUnreadableUse() {
    return unreadable != null && !warned.get() && warned.compareAndSet(false, true);
  }

  /**
   * The required components of {@code record} (of this class) that are null, in declaration order,
   * or null if none is.
   */
  public @Nullable List<String> nulls(Object record) {
    Function<Object, @Nullable Object>[] all = readers;
    List<String> found = null;
    for (int i = 0; i < all.length; i++) {
      if (all[i].apply(record) == null) {
        if (found == null) {
          found = new ArrayList<>(2);
        }
        found.add(names[i]);
      }
    }
    return found;
  }
}
