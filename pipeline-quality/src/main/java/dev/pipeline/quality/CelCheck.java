package dev.pipeline.quality;

import dev.cel.bundle.Cel;
import dev.cel.bundle.CelFactory;
import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.CelOptions;
import dev.cel.common.CelValidationException;
import dev.cel.common.CelValidationResult;
import dev.cel.common.ast.CelConstant;
import dev.cel.common.ast.CelExpr;
import dev.cel.common.types.MapType;
import dev.cel.common.types.SimpleType;
import dev.cel.parser.CelStandardMacro;
import dev.cel.runtime.CelEvaluationException;
import dev.cel.runtime.CelEvaluationListener;
import dev.cel.runtime.CelRuntime;
import dev.cel.runtime.CelVariableResolver;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.temporal.TemporalAccessor;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * A rule's CEL expression, compiled once against the record type: each field of the record is a
 * variable (and {@code record} is the whole record as a map). The environment declares no message
 * types and no functions beyond CEL's standard ones, so an expression cannot name a Java class; its
 * size, nesting, node count and comprehension iterations are bounded, and so are the characters and
 * elements its concatenations ({@code +} on strings and lists) build in one evaluation, and the
 * patterns {@code matches()} compiles (with RE2/J, in linear time) are checked by {@link RegexSize}
 * first, a literal one when the rule is built, so it cannot run long or fill the heap. Immutable
 * and thread-safe.
 */
final class CelCheck {
  /** The deepest nesting the parser accepts. */
  static final int MAX_NESTING = 32;

  /** The most nodes an expression may have. */
  static final int MAX_NODES = 2_000;

  /** The most iterations of CEL's comprehensions (all, exists, map, filter) per evaluation. */
  static final int MAX_ITERATIONS = 10_000;

  /**
   * The most characters (of strings) and elements (of lists) the {@code +} operator may build in
   * one evaluation: {@code (title + title) + (title + title)}, nested ten deep, would otherwise
   * build a thousand copies of a field.
   */
  static final long MAX_CONCAT_SIZE = 4_000_000;

  /** How deep a nested value is turned into CEL maps and lists. */
  private static final int MAX_VALUE_DEPTH = 8;

  private static final String RECORD = "record";

  private final CelRuntime.Program program;
  private final Map<String, Function<Object, @Nullable Object>> fields;
  // the ids of the expressions whose value is a pattern matches() compiles
  private final Set<Long> patterns;

  private CelCheck(
      CelRuntime.Program program,
      Map<String, Function<Object, @Nullable Object>> fields,
      Set<Long> patterns) {
    this.program = program;
    this.fields = fields;
    this.patterns = patterns;
  }

  /**
   * Compiles {@code expression} for records of {@code type}.
   *
   * @throws IllegalArgumentException with CEL's own message (position and cause) if it does not
   *     compile, is not a boolean, names an unknown field, or passes a limit
   */
  static CelCheck compile(Class<?> type, String expression) {
    Map<String, Function<Object, @Nullable Object>> fields = new HashMap<>();
    if (!Map.class.isAssignableFrom(type) && type != Object.class) {
      fields.putAll(FieldPath.readers(type));
      fields.remove(RECORD);
    }
    var builder =
        CelFactory.standardCelBuilder()
            .setOptions(
                CelOptions.current()
                    .maxExpressionCodePointSize(Rule.MAX_EXPRESSION_CHARS)
                    .maxParseRecursionDepth(MAX_NESTING)
                    .maxParseExpressionNodeCount(MAX_NODES)
                    .comprehensionMaxIterations(MAX_ITERATIONS)
                    .build())
            .setStandardMacros(CelStandardMacro.STANDARD_MACROS)
            .setResultType(SimpleType.BOOL)
            .addVar(RECORD, MapType.create(SimpleType.STRING, SimpleType.DYN));
    for (String name : fields.keySet()) {
      builder.addVar(name, SimpleType.DYN);
    }
    Cel cel = builder.build();
    CelValidationResult result;
    try {
      result = cel.compile(expression);
    } catch (RuntimeException | StackOverflowError e) {
      throw new IllegalArgumentException("the CEL expression cannot be parsed: " + e, e);
    }
    if (result.hasError()) {
      throw new IllegalArgumentException(
          "the CEL expression does not compile: "
              + QualityText.bounded(result.getErrorString(), 600));
    }
    try {
      CelAbstractSyntaxTree ast = result.getAst();
      Set<Long> patterns = new HashSet<>();
      patterns(ast.getExpr(), patterns);
      return new CelCheck(cel.createProgram(ast), Map.copyOf(fields), Set.copyOf(patterns));
    } catch (CelValidationException | CelEvaluationException e) {
      throw new IllegalArgumentException(
          "the CEL expression does not compile: " + QualityText.bounded(e.getMessage(), 600), e);
    }
  }

  /**
   * Collects the expressions that give matches() its pattern; a literal pattern is checked here.
   *
   * @throws IllegalArgumentException if a literal pattern is too large to compile
   */
  private static void patterns(CelExpr expr, Set<Long> out) {
    switch (expr.exprKind().getKind()) {
      case CALL -> {
        CelExpr.CelCall call = expr.call();
        call.target().ifPresent(t -> patterns(t, out));
        call.args().forEach(a -> patterns(a, out));
        int at = call.target().isPresent() ? 0 : 1;
        if (call.function().equals("matches") && call.args().size() == at + 1) {
          CelExpr pattern = call.args().get(at);
          if (pattern.exprKind().getKind() == CelExpr.ExprKind.Kind.CONSTANT
              && pattern.constant().getKind() == CelConstant.Kind.STRING_VALUE) {
            String problem = RegexSize.problem(pattern.constant().stringValue());
            if (problem != null) {
              throw new IllegalArgumentException("the pattern of matches() is refused: " + problem);
            }
          } else {
            out.add(pattern.id());
          }
        }
      }
      case SELECT -> patterns(expr.select().operand(), out);
      case LIST -> expr.list().elements().forEach(e -> patterns(e, out));
      case MAP ->
          expr.map()
              .entries()
              .forEach(
                  e -> {
                    patterns(e.key(), out);
                    patterns(e.value(), out);
                  });
      case STRUCT -> expr.struct().entries().forEach(e -> patterns(e.value(), out));
      case COMPREHENSION -> {
        CelExpr.CelComprehension c = expr.comprehension();
        for (CelExpr part :
            List.of(c.iterRange(), c.accuInit(), c.loopCondition(), c.loopStep(), c.result())) {
          patterns(part, out);
        }
      }
      default -> {
        // constants and names hold no call
      }
    }
  }

  /** The names the expression may use, for error messages. */
  List<String> variables() {
    List<String> all = new ArrayList<>(fields.keySet());
    all.add(RECORD);
    all.sort(null);
    return all;
  }

  /** Null if the expression is true for the record, else why not. */
  @Nullable String test(Object record) {
    CelVariableResolver vars =
        name -> {
          if (name.equals(RECORD)) {
            return Optional.of(record instanceof Map<?, ?> ? value(record, 0) : asMap(record, 0));
          }
          Function<Object, @Nullable Object> reader = fields.get(name);
          if (reader == null) {
            return Optional.empty();
          }
          return Optional.of(value(reader.apply(record), 0));
        };
    try {
      Object result = program.trace(vars, new Limits(patterns));
      return Boolean.TRUE.equals(result) ? null : "the expression is false";
    } catch (CelEvaluationException | Limits.Exceeded e) {
      if (e instanceof Limits.Exceeded exceeded) {
        return "the expression could not be evaluated: " + exceeded.getMessage();
      }
      if (e.getCause() instanceof Limits.Exceeded exceeded) {
        return "the expression could not be evaluated: " + exceeded.getMessage();
      }
      return "the expression could not be evaluated: " + QualityText.bounded(e.getMessage(), 200);
    }
  }

  /**
   * Adds up the size of every string or list the {@code +} operator builds in one evaluation and
   * stops the evaluation past {@link #MAX_CONCAT_SIZE}; a sum cannot grow more than twice its
   * operands, so the evaluation stops before it builds much more than the budget. Stops it too when
   * a pattern for matches(), computed from the record, is one {@link RegexSize} refuses: the
   * listener hears of the pattern before matches() compiles it.
   */
  private static final class Limits implements CelEvaluationListener {
    private final Set<Long> patterns;
    private long built;

    Limits(Set<Long> patterns) {
      this.patterns = patterns;
    }

    @Override
    public void callback(CelExpr expr, Object result) {
      if (result instanceof String pattern && patterns.contains(expr.id())) {
        String problem = RegexSize.problem(pattern);
        if (problem != null) {
          throw new Exceeded("the pattern for matches() is refused: " + problem);
        }
      }
      long size =
          switch (result) {
            case String s -> s.length();
            case List<?> l -> l.size();
            default -> -1;
          };
      if (size < 0 || expr.getKind() != CelExpr.ExprKind.Kind.CALL) {
        return;
      }
      if (expr.call().function().equals("_+_")) {
        built += size;
        if (built > MAX_CONCAT_SIZE) {
          throw new Exceeded(
              "its concatenations built more than "
                  + MAX_CONCAT_SIZE
                  + " characters or elements; compare sizes or parts instead of building long"
                  + " strings");
        }
      }
    }

    /** Stops the evaluation. */
    static final class Exceeded extends RuntimeException {
      private static final long serialVersionUID = 1L;

      Exceeded(String message) {
        super(message, null, false, false);
      }
    }
  }

  /** A Java value as CEL takes it: integers as long, decimals as double, records as maps. */
  static Object value(@Nullable Object v, int depth) {
    return switch (v) {
      case null -> com.google.protobuf.NullValue.NULL_VALUE;
      case String s -> s;
      case Long l -> l;
      case Integer i -> i.longValue();
      case Short s -> s.longValue();
      case Byte b -> b.longValue();
      case Double d -> d;
      case Float f -> f.doubleValue();
      case BigDecimal b -> b.doubleValue();
      case BigInteger b -> b.longValue();
      case Boolean b -> b;
      case CharSequence s -> s.toString();
      case Character c -> c.toString();
      case Enum<?> e -> e.name();
      case TemporalAccessor t -> t.toString();
      case Map<?, ?> map -> depth >= MAX_VALUE_DEPTH ? Map.of() : mapOf(map, depth + 1);
      case List<?> list -> depth >= MAX_VALUE_DEPTH ? List.of() : listOf(list, depth + 1);
      case Collection<?> c ->
          depth >= MAX_VALUE_DEPTH ? List.of() : listOf(new ArrayList<>(c), depth + 1);
      default ->
          FieldPath.opaque(v.getClass())
              ? v.toString()
              : depth >= MAX_VALUE_DEPTH ? Map.of() : asMap(v, depth + 1);
    };
  }

  private static Map<String, Object> mapOf(Map<?, ?> map, int depth) {
    Map<String, Object> out = HashMap.newHashMap(map.size());
    for (Map.Entry<?, ?> e : map.entrySet()) {
      if (e.getKey() != null) {
        out.put(e.getKey().toString(), value(e.getValue(), depth));
      }
    }
    return out;
  }

  private static List<Object> listOf(List<?> list, int depth) {
    List<Object> out = new ArrayList<>(list.size());
    for (Object o : list) {
      out.add(value(o, depth));
    }
    return out;
  }

  private static Map<String, Object> asMap(Object bean, int depth) {
    return new LazyFields(bean, depth);
  }

  /**
   * A record or bean seen by CEL as a map whose values are read (and converted) only when the
   * expression asks for them: {@code analyzed.extracted.price} reads three fields, not the tree.
   */
  private static final class LazyFields extends AbstractMap<String, Object> {
    private final Object target;
    private final int depth;
    private final Map<String, Function<Object, @Nullable Object>> fields;

    LazyFields(Object target, int depth) {
      this.target = target;
      this.depth = depth;
      this.fields = FieldPath.readers(target.getClass());
    }

    @Override
    public boolean containsKey(Object key) {
      return fields.containsKey(key);
    }

    @Override
    public Object get(Object key) {
      Function<Object, @Nullable Object> reader = fields.get(key);
      return reader == null ? null : value(reader.apply(target), depth);
    }

    @Override
    public int size() {
      return fields.size();
    }

    @Override
    public Set<Entry<String, Object>> entrySet() {
      Map<String, Object> all = new HashMap<>();
      for (String name : fields.keySet()) {
        all.put(name, get(name));
      }
      return all.entrySet();
    }
  }
}
