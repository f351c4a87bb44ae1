package dev.pipeline.examples.listings;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Locale;
import java.util.NoSuchElementException;

/**
 * Generates scraped equipment listings in the line format of {@link ListingParser}, with the noise
 * real scrapers produce: HTML tags and character references, typographic quotes, stray whitespace,
 * prices in a dozen notations, prices on request, garbled and implausible prices, four languages
 * (English 40%, German 25%, French 20%, Spanish 15%), undeclared languages, re-posted duplicates
 * (about 2%: an earlier line repeated verbatim, id and all) and malformed lines (about 0.2%: cut
 * short, control characters, blank ids, stray bars, bad escapes).
 *
 * <p>Output is a pure function of seed and count: the same seed gives the same lines, byte for
 * byte, on any JVM, because the generator uses its own SplitMix64 sequence, integer arithmetic and
 * no locale-sensitive formatting. Lines are produced lazily; only a bounded window of recent lines
 * is kept, to draw duplicates from.
 *
 * <p>The bundled data set {@value #BUNDLED_RESOURCE} holds {@value #BUNDLED_COUNT} lines generated
 * with {@link #DEFAULT_SEED}. A generator is immutable and thread-safe; each iterator it returns is
 * confined to one thread.
 */
public final class ListingGenerator {

  /** Seed of the bundled data set. */
  public static final long DEFAULT_SEED = 20_240_611L;

  /** Number of lines in the bundled data set. */
  public static final int BUNDLED_COUNT = 12_000;

  /** Class-path location of the bundled data set. */
  public static final String BUNDLED_RESOURCE =
      "/dev/pipeline/examples/listings/equipment-listings.txt";

  /** Source id to parse the bundled data set under. */
  public static final String BUNDLED_SOURCE_ID = "equipment-listings.txt";

  static final double DUPLICATE_RATE = 0.02;
  static final double MALFORMED_RATE = 0.002;
  private static final int RECENT_WINDOW = 512;
  private static final int NEWEST_YEAR = 2025;

  private static final int EN = 0;
  private static final int DE = 1;
  private static final int FR = 2;
  private static final int ES = 3;
  private static final String[] LANGUAGE_CODES = {"en", "de", "fr", "es"};
  private static final String[] REGIONS = {"GB", "DE", "FR", "ES"};
  private static final int[] LANGUAGE_WEIGHTS = {40, 25, 20, 15};

  private final long seed;

  /** A generator whose output is determined by {@code seed}. */
  public ListingGenerator(long seed) {
    this.seed = seed;
  }

  public long seed() {
    return seed;
  }

  /**
   * A lazy sequence of {@code count} lines, without line terminators. Each call starts the sequence
   * afresh.
   *
   * @throws IllegalArgumentException if {@code count} is negative
   */
  public Iterator<String> lines(int count) {
    if (count < 0) {
      throw new IllegalArgumentException("count must not be negative: " + count);
    }
    return new Run(seed, count);
  }

  /**
   * Writes {@code count} lines to {@code out}, each terminated by a line feed. Does not close
   * {@code out}.
   */
  public void write(Writer out, int count) throws IOException {
    Iterator<String> lines = lines(count);
    while (lines.hasNext()) {
      out.write(lines.next());
      out.write('\n');
    }
  }

  /**
   * Opens the bundled data set, UTF-8 encoded.
   *
   * @throws IllegalStateException if the resource is missing from the class path
   */
  public static InputStream openBundled() {
    InputStream in = ListingGenerator.class.getResourceAsStream(BUNDLED_RESOURCE);
    if (in == null) {
      throw new IllegalStateException(
          "bundled data set " + BUNDLED_RESOURCE + " not found on the class path");
    }
    return in;
  }

  /**
   * Writes a data set to a file: {@code ListingGenerator <output-file> [count] [seed]}, by default
   * {@value #BUNDLED_COUNT} lines with {@link #DEFAULT_SEED}, which reproduces the bundled data
   * set.
   */
  public static void main(String[] args) throws IOException {
    if (args.length < 1 || args.length > 3) {
      System.err.println("usage: ListingGenerator <output-file> [count] [seed]");
      System.exit(2);
      return;
    }
    Path path = Path.of(args[0]);
    int count = args.length > 1 ? Integer.parseInt(args[1]) : BUNDLED_COUNT;
    long seed = args.length > 2 ? Long.parseLong(args[2]) : DEFAULT_SEED;
    Path parent = path.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    try (BufferedWriter out = Files.newBufferedWriter(path, StandardCharsets.UTF_8)) {
      new ListingGenerator(seed).write(out, count);
    }
    System.out.println("wrote " + count + " listings (seed " + seed + ") to " + path);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Vocabulary

  /**
   * A marketplace: its id prefix, home currency, price notation and how much HTML leaks into its
   * fields.
   */
  private record Scraper(String name, int index, Currency currency, int html) {}

  private static final Scraper[] SCRAPERS = {
    new Scraper("scraper-a", 0, Currency.EUR, 2), // German marketplace, raw HTML fragments
    new Scraper("scraper-b", 1, Currency.EUR, 1), // French marketplace, character references
    new Scraper("scraper-c", 2, Currency.USD, 1), // US auction site
    new Scraper("scraper-d", 3, Currency.GBP, 0), // UK dealer feed, plain text
    new Scraper("scraper-e", 4, Currency.CHF, 1), // Swiss portal, German and French
    new Scraper("scraper-f", 5, Currency.EUR, 2), // Spanish and international aggregator
  };
  // Which marketplaces publish in which language: {scraper index, weight} pairs per language.
  private static final int[][] SCRAPERS_BY_LANGUAGE = {
    {2, 45, 3, 40, 5, 15},
    {0, 80, 4, 20},
    {1, 85, 4, 15},
    {5, 100},
  };

  /**
   * A manufacturer's line of one kind of equipment; {@code #} in a model pattern is a random digit.
   */
  private record Make(Category category, String[] aliases, String[] models) {}

  private static final Make[] MAKES = {
    make(Category.EXCAVATOR, "Caterpillar,CAT,Cat", "3##D,3##F,30#.#,3##E"),
    make(Category.EXCAVATOR, "Komatsu", "PC###LC-#,PC##MR-#"),
    make(Category.EXCAVATOR, "Volvo,Volvo CE", "EC###E,EC###D,EW###"),
    make(Category.EXCAVATOR, "Liebherr", "R ###,A ###"),
    make(Category.EXCAVATOR, "Hitachi", "ZX###LC-#,ZX##U-#"),
    make(Category.EXCAVATOR, "JCB", "JS###,JZ###"),
    make(Category.EXCAVATOR, "Kubota", "KX0##-#,U##-#"),
    make(Category.EXCAVATOR, "Takeuchi", "TB2##,TB##"),
    make(Category.EXCAVATOR, "Doosan,Develon", "DX###LC-#"),
    make(Category.EXCAVATOR, "Hyundai", "HX###L,R###LC-#"),
    make(Category.EXCAVATOR, "Kobelco", "SK###LC-#"),
    make(Category.EXCAVATOR, "Yanmar", "ViO##-#,SV##"),
    make(Category.EXCAVATOR, "Wacker Neuson", "EZ##,ET##"),
    make(Category.EXCAVATOR, "Case", "CX###D"),
    make(Category.WHEEL_LOADER, "Caterpillar,CAT", "9##M,9##K"),
    make(Category.WHEEL_LOADER, "Volvo", "L###H,L##G"),
    make(Category.WHEEL_LOADER, "Komatsu", "WA###-#"),
    make(Category.WHEEL_LOADER, "Liebherr", "L ###"),
    make(Category.WHEEL_LOADER, "Doosan", "DL###-#"),
    make(Category.WHEEL_LOADER, "Hyundai", "HL9##"),
    make(Category.WHEEL_LOADER, "Kubota", "R0##"),
    make(Category.BACKHOE_LOADER, "JCB", "3CX,4CX"),
    make(Category.BACKHOE_LOADER, "Caterpillar,CAT", "4##F"),
    make(Category.BACKHOE_LOADER, "Case", "5##ST"),
    make(Category.BACKHOE_LOADER, "Komatsu", "WB9#R-#"),
    make(Category.BACKHOE_LOADER, "New Holland", "B1##C"),
    make(Category.SKID_STEER_LOADER, "Bobcat", "S##,T##,S###"),
    make(Category.SKID_STEER_LOADER, "Caterpillar,CAT", "2##D"),
    make(Category.SKID_STEER_LOADER, "Case", "SR###"),
    make(Category.SKID_STEER_LOADER, "Takeuchi", "TL##"),
    make(Category.SKID_STEER_LOADER, "Kubota", "SVL##-#"),
    make(Category.TELEHANDLER, "Manitou", "MT 1#40,MLT 7##"),
    make(Category.TELEHANDLER, "Merlo", "P##.##"),
    make(Category.TELEHANDLER, "JCB", "53#-##"),
    make(Category.TELEHANDLER, "Caterpillar,CAT", "TH###"),
    make(Category.TELEHANDLER, "Genie", "GTH-40##"),
    make(Category.TELEHANDLER, "Claas", "Scorpion 7##"),
    make(Category.FORKLIFT, "Toyota", "8FD##,02-8FDF##"),
    make(Category.FORKLIFT, "Linde", "H##D,E##"),
    make(Category.FORKLIFT, "Still", "RX##-##,RX70-##"),
    make(Category.FORKLIFT, "Jungheinrich", "EFG ###,DFG ###"),
    make(Category.FORKLIFT, "Hyster", "H#.#FT"),
    make(Category.FORKLIFT, "Yale", "GDP##VX"),
    make(Category.FORKLIFT, "Caterpillar", "DP##N"),
    make(Category.FORKLIFT, "Doosan", "D##S-#"),
    make(Category.TRACTOR, "John Deere,Deere", "6###R,5###M,7###R"),
    make(Category.TRACTOR, "Fendt", "### Vario"),
    make(Category.TRACTOR, "Claas", "Arion ###,Axion ###"),
    make(Category.TRACTOR, "Massey Ferguson", "MF 7###"),
    make(Category.TRACTOR, "New Holland", "T#.###"),
    make(Category.TRACTOR, "Case IH", "Puma ###"),
    make(Category.TRACTOR, "Kubota", "M#-###"),
    make(Category.TRACTOR, "Deutz-Fahr", "Agrotron ###"),
    make(Category.GENERATOR, "Caterpillar,CAT", "C##,DE###E0"),
    make(Category.GENERATOR, "SDMO", "J###K,R##"),
    make(Category.GENERATOR, "FG Wilson", "P###-#"),
    make(Category.GENERATOR, "Himoinsa", "HRFW-###"),
    make(Category.GENERATOR, "Atlas Copco", "QAS ###"),
    make(Category.COMPRESSOR, "Atlas Copco", "XAS ##,XAHS ###"),
    make(Category.COMPRESSOR, "Kaeser", "M ##,M ###"),
    make(Category.COMPRESSOR, "Sullair", "###H"),
    make(Category.COMPRESSOR, "Doosan", "7/##"),
    make(Category.CRANE, "Liebherr", "LTM 10##-#.#"),
    make(Category.CRANE, "Tadano", "ATF ##G-#"),
    make(Category.CRANE, "Grove", "GMK4###"),
    make(Category.CRANE, "Terex", "AC ##"),
    make(Category.DUMPER, "Volvo", "A##G,A##F"),
    make(Category.DUMPER, "Caterpillar,CAT", "7##C"),
    make(Category.DUMPER, "Wacker Neuson", "DW##"),
    make(Category.DUMPER, "Komatsu", "HM###"),
    make(Category.DUMPER, "Terex", "TA#"),
  };

  private static final Category[] CATEGORIES = {
    Category.EXCAVATOR,
    Category.WHEEL_LOADER,
    Category.BACKHOE_LOADER,
    Category.SKID_STEER_LOADER,
    Category.TELEHANDLER,
    Category.FORKLIFT,
    Category.TRACTOR,
    Category.GENERATOR,
    Category.COMPRESSOR,
    Category.CRANE,
    Category.DUMPER,
    Category.OTHER
  };
  private static final int[] CATEGORY_WEIGHTS = {250, 90, 50, 50, 70, 150, 120, 80, 60, 40, 30, 10};
  // Price of a nearly new machine in euros, lowest and highest.
  private static final int[][] NEW_PRICE_EUR = {
    {30_000, 300_000}, {60_000, 300_000}, {40_000, 110_000}, {25_000, 70_000}, {40_000, 140_000},
    {15_000, 45_000}, {40_000, 250_000}, {5_000, 90_000}, {8_000, 45_000}, {150_000, 900_000},
    {15_000, 450_000}, {1_000, 8_000}
  };

  private static String[] categoryWords(Category category, int language) {
    return switch (category) {
      case EXCAVATOR ->
          pick4(
              language,
              "Excavator,Crawler Excavator,Tracked Excavator",
              "Bagger,Kettenbagger,Raupenbagger",
              "Pelle sur chenilles,Pelle hydraulique,Pelleteuse",
              "Excavadora,Excavadora de cadenas");
      case WHEEL_LOADER ->
          pick4(
              language,
              "Wheel Loader",
              "Radlader",
              "Chargeuse sur pneus",
              "Pala cargadora,Cargadora de ruedas");
      case BACKHOE_LOADER ->
          pick4(language, "Backhoe Loader", "Baggerlader", "Tractopelle", "Retroexcavadora");
      case SKID_STEER_LOADER ->
          pick4(
              language,
              "Skid Steer Loader,Skid Steer",
              "Kompaktlader",
              "Chargeuse compacte",
              "Minicargadora");
      case TELEHANDLER ->
          pick4(
              language,
              "Telehandler,Telescopic Handler",
              "Teleskoplader",
              "Chariot télescopique",
              "Manipulador telescópico");
      case FORKLIFT ->
          pick4(
              language,
              "Forklift,Diesel Forklift,Forklift Truck",
              "Gabelstapler,Dieselstapler,Elektrostapler",
              "Chariot élévateur",
              "Carretilla elevadora");
      case TRACTOR -> pick4(language, "Tractor", "Traktor,Schlepper", "Tracteur", "Tractor");
      case GENERATOR ->
          pick4(
              language,
              "Generator,Diesel Generator,Generator Set",
              "Stromerzeuger,Stromaggregat",
              "Groupe électrogène",
              "Grupo electrógeno,Generador");
      case COMPRESSOR ->
          pick4(
              language,
              "Air Compressor,Compressor",
              "Kompressor,Baukompressor",
              "Compresseur",
              "Compresor");
      case CRANE ->
          pick4(language, "Mobile Crane,Crane", "Mobilkran,Autokran", "Grue mobile", "Grúa móvil");
      case DUMPER ->
          pick4(
              language,
              "Dumper,Articulated Dump Truck",
              "Dumper,Muldenkipper",
              "Tombereau,Dumper",
              "Dúmper,Volquete");
      case OTHER ->
          pick4(
              language,
              "Hydraulic Breaker,Spare Parts Lot,Pallet Forks",
              "Hydraulikhammer,Ersatzteile",
              "Marteau hydraulique,Pièces détachées",
              "Martillo hidráulico,Repuestos");
    };
  }

  private static final String[][] TITLE_TEMPLATES = {
    {
      "{M} {m} {C}",
      "{Y} {M} {m} {C}",
      "{M} {m} {C} - {Y}",
      "Used {M} {m} {C}",
      "{M} {m} {C} for sale",
      "{M} {m} {C}, {H} hrs"
    },
    {
      "{M} {m} {C}",
      "{C} {M} {m}",
      "{M} {m} {C} Bj. {Y}",
      "{C} {M} {m} Baujahr {Y}",
      "Gebrauchter {C} {M} {m}",
      "{M} {m} {C} - Top Zustand"
    },
    {
      "{C} {M} {m}",
      "{C} {M} {m} année {Y}",
      "{M} {m} - {C} d'occasion",
      "{C} d'occasion {M} {m} {Y}",
      "{C} {M} {m} ({Y})"
    },
    {"{C} {M} {m}", "{C} {M} {m} año {Y}", "{M} {m} {C} de segunda mano", "{C} {M} {m} - {Y}"},
  };

  private static final String[][] GOOD = {
    {
      "Excellent condition.",
      "Very good condition, well maintained.",
      "Like new, full service history.",
      "No damage, no leaks.",
      "Runs perfectly."
    },
    {
      "Top Zustand.",
      "Sehr guter Zustand, scheckheftgepflegt.",
      "Neuwertig, keine Mängel.",
      "Läuft einwandfrei.",
      "Ohne Mängel."
    },
    {
      "Très bon état.",
      "Excellent état, bien entretenu.",
      "Comme neuf, révisé.",
      "Aucun défaut.",
      "Fonctionne parfaitement."
    },
    {
      "Excelente estado.",
      "Muy buen estado, bien mantenido.",
      "Como nuevo.",
      "Sin averías.",
      "Funciona perfectamente."
    },
  };
  private static final String[][] FAIR = {
    {"Normal signs of wear.", "Used condition.", "Some rust on the boom."},
    {"Normale Gebrauchsspuren.", "Gebrauchter Zustand."},
    {"Traces d'usure normales.", "État d'usage."},
    {"Desgaste normal.", "Estado de uso."},
  };
  private static final String[][] BAD = {
    {
      "Damaged, needs repair.",
      "Engine not working.",
      "Hydraulic leak, sold as is.",
      "Does not start."
    },
    {
      "Motor defekt.",
      "Hydraulik undicht, reparaturbedürftig.",
      "Springt nicht an.",
      "Getriebeschaden."
    },
    {"En panne.", "Moteur endommagé, à réparer.", "Ne démarre pas.", "Fuite hydraulique."},
    {"Averiado.", "Motor dañado, necesita reparación.", "No arranca.", "Fuga de aceite."},
  };
  private static final String[][] HOURS_SENTENCES = {
    {"{H} hours.", "Hours: {H}.", "{H} hrs on the clock."},
    {"{H} Betriebsstunden.", "Betriebsstunden: {H}.", "{H} Std."},
    {"{H} heures.", "Heures de fonctionnement : {H}.", "Compteur : {H} h."},
    {"{H} horas.", "Horas de trabajo: {H}.", "{H} h de uso."},
  };
  private static final String[][] YEAR_SENTENCES = {
    {"Year of manufacture {Y}.", "Built {Y}.", "YOM {Y}."},
    {"Baujahr {Y}.", "Bj. {Y}.", "Baujahr 06/{Y}."},
    {"Année {Y}.", "Année de fabrication {Y}."},
    {"Año {Y}.", "Año de fabricación {Y}."},
  };
  private static final String[][] FEATURES = {
    {
      "With air conditioning.", "Quick coupler and bucket included.", "New tyres.", "Rubber tracks."
    },
    {"Mit Klimaanlage.", "Mit Schnellwechsler und Tieflöffel.", "Neue Reifen.", "Gummiketten."},
    {
      "Avec climatisation.",
      "Attache rapide et godet inclus.",
      "Pneus neufs.",
      "Chenilles caoutchouc."
    },
    {
      "Con aire acondicionado.",
      "Enganche rápido y cazo incluidos.",
      "Neumáticos nuevos.",
      "Orugas de goma."
    },
  };
  private static final String[] AVAILABLE = {
    "Available immediately.",
    "Sofort verfügbar.",
    "Disponible immédiatement.",
    "Disponible inmediatamente."
  };
  private static final String[] NEGOTIABLE = {
    "Price negotiable.", "Preis VB.", "Prix à débattre.", "Precio negociable."
  };
  private static final String[] DEALER = {
    "Contact: Smith & Sons Plant Ltd.", "Händler: Müller & Söhne Baumaschinen GmbH.",
    "Vendeur : Dupont & Fils Matériel TP.", "Vendedor: García & Hijos Maquinaria S.L."
  };
  private static final String[][] ON_REQUEST = {
    {"POA", "Price on request", "Call"},
    {"Preis auf Anfrage", "auf Anfrage", "VB"},
    {"Prix sur demande", "Sur demande"},
    {"A consultar", "Consultar precio"},
  };
  private static final String[] SEE_DESCRIPTION = {
    "see description", "siehe Beschreibung", "voir description", "ver descripción"
  };
  private static final String[] TAGLINES = {"Top", "Top Zustand", "Disponible", "Oferta"};
  // Contact details some sellers slip into descriptions against the marketplace rules.
  private static final String[][] CONTACTS = {
    {"Call 07700 900123.", "Email sales@smith-plant.co.uk."},
    {"Tel. 0171 2345678.", "Kontakt: +49 171 2345678."},
    {"Tél. : 06 12 34 56 78.", "Contact : vente@dupont-tp.fr."},
    {"Tel. +34 612 345 678.", "Email: ventas@garcia-maquinaria.es."},
  };
  private static final String[] MISSING_MARKERS = {"N/A", "--", "k.A.", "n.a.", "-"};
  // Non-ASCII characters of the vocabulary with their HTML names, for sites that escape everything.
  private static final String ENTITY_CHARS = "éèêàâçôûîïëäöüßñóíúáÉÄÖÜ€";
  private static final String[] ENTITY_NAMES = {
    "eacute", "egrave", "ecirc", "agrave", "acirc", "ccedil", "ocirc", "ucirc", "icirc", "iuml",
    "euml", "auml", "ouml", "uuml", "szlig", "ntilde", "oacute", "iacute", "uacute", "aacute",
    "Eacute", "Auml", "Ouml", "Uuml", "euro"
  };

  private static Make make(Category category, String aliases, String models) {
    return new Make(category, aliases.split(","), models.split(","));
  }

  private static String[] pick4(int language, String en, String de, String fr, String es) {
    return (switch (language) {
          case EN -> en;
          case DE -> de;
          case FR -> fr;
          default -> es;
        })
        .split(",");
  }

  // ---------------------------------------------------------------------------------------------------------
  // Generation

  /**
   * SplitMix64 (Steele, Lea and Flood): tiny, fast, and fixed forever, unlike a JDK generator's
   * internals.
   */
  private static final class Rng {
    private long state;

    Rng(long seed) {
      this.state = seed;
    }

    long nextLong() {
      long z = state += 0x9E3779B97F4A7C15L;
      z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
      z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
      return z ^ (z >>> 31);
    }

    /**
     * Uniform in [0, bound), by Lemire's multiply-shift; the bias is far below anything observable
     * here.
     */
    int nextInt(int bound) {
      return (int) (((nextLong() >>> 32) * bound) >>> 32);
    }

    int between(int min, int max) {
      return min + nextInt(max - min + 1);
    }

    boolean chance(double probability) {
      return (nextLong() >>> 11) * 0x1.0p-53 < probability;
    }

    String pick(String[] values) {
      return values[nextInt(values.length)];
    }

    int weighted(int[] weights) {
      int total = 0;
      for (int w : weights) {
        total += w;
      }
      int r = nextInt(total);
      for (int i = 0; i < weights.length; i++) {
        r -= weights[i];
        if (r < 0) {
          return i;
        }
      }
      return weights.length - 1;
    }
  }

  /** One pass over the sequence; confined to a single thread. */
  private static final class Run implements Iterator<String> {
    private final Rng rng;
    private final int count;
    private final int[] lastId = new int[SCRAPERS.length];
    private final String[] recent = new String[RECENT_WINDOW];
    private int recentCount;
    private int recentNext;
    private int produced;

    Run(long seed, int count) {
      this.rng = new Rng(seed);
      this.count = count;
    }

    @Override
    public boolean hasNext() {
      return produced < count;
    }

    @Override
    public String next() {
      if (!hasNext()) {
        throw new NoSuchElementException("all " + count + " lines generated");
      }
      produced++;
      if (recentCount >= 50 && rng.chance(DUPLICATE_RATE)) {
        return recent[rng.nextInt(recentCount)];
      }
      String line = listing();
      if (rng.chance(MALFORMED_RATE)) {
        return corrupt(line);
      }
      recent[recentNext] = line;
      recentNext = (recentNext + 1) % RECENT_WINDOW;
      recentCount = Math.min(recentCount + 1, RECENT_WINDOW);
      return line;
    }

    private String listing() {
      int language = rng.weighted(LANGUAGE_WEIGHTS);
      Scraper scraper = pickScraper(language);
      String id = scraper.name() + '-' + pad6(++lastId[scraper.index()]);

      int c = rng.weighted(CATEGORY_WEIGHTS);
      Category category = CATEGORIES[c];
      Make make =
          category == Category.OTHER ? (rng.chance(0.5) ? randomMake() : null) : pickMake(category);
      String alias = make == null ? "" : rng.pick(make.aliases());
      String model = make == null ? "" : expand(rng.pick(make.models()));
      String categoryWord = rng.pick(categoryWords(category, language));

      int age = rng.nextInt(11) + rng.nextInt(11) + (rng.chance(0.1) ? rng.nextInt(15) : 0);
      int year = NEWEST_YEAR - age;
      boolean yearNeedsKeyword = false;
      if (rng.chance(0.002)) {
        year = NEWEST_YEAR + 2 + rng.nextInt(5); // typo: a year in the future
        yearNeedsKeyword = true;
      } else if (rng.chance(0.003)) {
        year = 1962 + rng.nextInt(8); // vintage, or a typo
        yearNeedsKeyword = true;
      }
      int hours =
          category == Category.OTHER ? -1 : Math.max(age, 1) * rng.between(150, 1200) / 10 * 10;
      if (hours > 0 && rng.chance(0.003)) {
        hours = 250_000 + rng.nextInt(100) * 1000; // hour meter typo
      }

      Currency currency = scraper.currency();
      if (rng.chance(0.05)) {
        currency = Currency.values()[rng.nextInt(Currency.values().length)];
      }
      int[] range = NEW_PRICE_EUR[c];
      long eur = range[0] + (long) rng.nextInt(range[1] - range[0] + 1);
      for (int a = 0; a < age && a < 25; a++) {
        eur = eur * 91 / 100;
      }
      eur = Math.max(eur, range[0] * 12L / 100);
      long amount = roundPrice(eur * 10_000 / eurPerUnitE4(currency));

      // A year that validation should question is always written after a keyword ("Bj. 2029"),
      // because a
      // bare four-digit number outside the usual range is not read as a year at all.
      String title = title(language, alias, model, categoryWord, !yearNeedsKeyword, hours);
      boolean yearInTitle = title.contains("{Y}");
      title = title.replace("{Y}", Integer.toString(year));
      boolean yearSentence = !yearInTitle && (yearNeedsKeyword || rng.chance(0.7));
      String description = description(language, yearSentence ? year : -1, hours);
      String[] price = price(language, scraper, currency, amount);

      if (rng.chance(0.01)) {
        title = title.toUpperCase(Locale.ROOT) + " !!!";
      }
      if (rng.chance(0.02)) {
        description = description + ' ' + rng.pick(CONTACTS[language]);
      }
      title = noise(title, scraper, true);
      description = noise(description, scraper, false);
      if (rng.chance(0.003)) {
        title = rng.chance(0.5) ? "" : rng.pick(MISSING_MARKERS);
      } else if (rng.chance(0.007)) {
        title = title + " | " + rng.pick(TAGLINES);
      }
      if (scraper.html() >= 1 && rng.chance(0.005)) {
        description = description.replace("&", "&amp;"); // escaped twice by a careless template
      }
      if (rng.chance(0.03)) {
        description = "";
      } else if (rng.chance(0.01)) {
        description = rng.pick(MISSING_MARKERS);
      } else if (rng.chance(0.002)) {
        description = description + " Ref. A\\B-" + rng.between(100, 999);
      }
      return escape(id)
          + '|'
          + escape(title)
          + '|'
          + escape(price[0])
          + '|'
          + escape(price[1])
          + '|'
          + escape(description)
          + '|'
          + languageField(language);
    }

    private Scraper pickScraper(int language) {
      int[] pairs = SCRAPERS_BY_LANGUAGE[language];
      int[] weights = new int[pairs.length / 2];
      for (int i = 0; i < weights.length; i++) {
        weights[i] = pairs[2 * i + 1];
      }
      return SCRAPERS[pairs[2 * rng.weighted(weights)]];
    }

    private Make pickMake(Category category) {
      int matching = 0;
      for (Make m : MAKES) {
        if (m.category() == category) {
          matching++;
        }
      }
      int chosen = rng.nextInt(matching);
      for (Make m : MAKES) {
        if (m.category() == category && chosen-- == 0) {
          return m;
        }
      }
      throw new IllegalStateException("no make for " + category);
    }

    private Make randomMake() {
      return MAKES[rng.nextInt(MAKES.length)];
    }

    private String expand(String pattern) {
      StringBuilder sb = new StringBuilder(pattern.length());
      for (int i = 0; i < pattern.length(); i++) {
        char ch = pattern.charAt(i);
        sb.append(ch == '#' ? (char) ('0' + rng.nextInt(10)) : ch);
      }
      return sb.toString();
    }

    /**
     * A title; "{Y}" stays in place for the caller to fill, so it can tell whether the title names
     * the year.
     */
    private String title(
        int language,
        String alias,
        String model,
        String categoryWord,
        boolean yearAllowed,
        int hours) {
      String[] templates = TITLE_TEMPLATES[language];
      String template = rng.pick(templates);
      if ((!yearAllowed && template.contains("{Y}")) || (hours < 0 && template.contains("{H}"))) {
        template = templates[0];
      }
      String makeAndModel = (alias + ' ' + model).trim();
      String t =
          template
              .replace("{M} {m}", makeAndModel)
              .replace("{C}", categoryWord)
              .replace("{H}", hours < 0 ? "" : formatHours(language, hours));
      return t.trim();
    }

    /**
     * A description of a few sentences; {@code year} and {@code hours} are left out when negative.
     */
    private String description(int language, int year, int hours) {
      StringBuilder sb = new StringBuilder(200);
      int condition = rng.weighted(new int[] {55, 30, 15});
      if (rng.chance(0.9)) {
        String[][] bank = condition == 0 ? GOOD : condition == 1 ? FAIR : BAD;
        String sentence = rng.pick(bank[language]);
        if (rng.chance(0.06)) {
          sentence = quote(language, sentence);
        }
        sb.append(sentence);
      }
      if (hours >= 0 && rng.chance(0.7)) {
        String h = rng.pick(HOURS_SENTENCES[language]).replace("{H}", formatHours(language, hours));
        sentence(sb, h);
      }
      if (year >= 0) {
        sentence(sb, rng.pick(YEAR_SENTENCES[language]).replace("{Y}", Integer.toString(year)));
      }
      if (rng.chance(0.5)) {
        String[] features = FEATURES[language];
        int first = rng.nextInt(features.length);
        sentence(sb, features[first]);
        if (rng.chance(0.3)) {
          sentence(sb, features[(first + 1 + rng.nextInt(features.length - 1)) % features.length]);
        }
      }
      if (rng.chance(0.3)) {
        sentence(sb, AVAILABLE[language]);
      }
      if (rng.chance(0.1)) {
        sentence(sb, NEGOTIABLE[language]);
      }
      if (rng.chance(0.15)) {
        sentence(sb, DEALER[language]);
      }
      return sb.toString();
    }

    private static void sentence(StringBuilder sb, String sentence) {
      if (!sb.isEmpty()) {
        sb.append(' ');
      }
      sb.append(sentence);
    }

    private static String quote(int language, String text) {
      return switch (language) {
        case DE -> "\u201E" + text + "\u201C";
        case FR -> "\u00AB " + text + " \u00BB";
        default -> "\u201C" + text + "\u201D";
      };
    }

    /** {price text, currency field}. */
    private String[] price(int language, Scraper scraper, Currency currency, long amount) {
      double roll = (rng.nextLong() >>> 11) * 0x1.0p-53;
      if (roll < 0.030) {
        return new String[] {rng.pick(ON_REQUEST[language]), ""};
      }
      if (roll < 0.045) {
        return new String[] {garbled(language, currency, amount), ""};
      }
      if (roll < 0.055) {
        return new String[] {rng.chance(0.5) ? "" : rng.pick(MISSING_MARKERS), ""};
      }
      if (roll < 0.059) {
        return rng.chance(0.5)
            ? new String[] {grouped(amount * 4, '.') + " PLN", ""}
            : new String[] {Long.toString(amount * 11), "SEK"};
      }
      if (roll < 0.064) {
        return new String[] {formatted(Currency.EUR, 1), ""}; // placeholder price
      }
      if (roll < 0.066) {
        return new String[] {formatted(currency, amount * 1000), ""}; // stray zeros
      }
      if (roll < 0.070) {
        return new String[] {Long.toString(amount), ""}; // no currency anywhere
      }
      if (roll < 0.080 || (scraper.index() == 5 && roll < 0.25)) {
        return new String[] {Long.toString(amount), currency.name()};
      }
      String text = formatted(currency, amount);
      String field = "";
      if (rng.chance(0.3)) {
        field = currency.name();
      } else if (rng.chance(0.004)) {
        field = currency == Currency.USD ? "EUR" : "USD"; // contradicts the text
      }
      return new String[] {text, field};
    }

    private String garbled(int language, Currency currency, long amount) {
      String normal = formatted(currency, amount);
      return switch (rng.nextInt(4)) {
        case 0 -> letterForDigit(normal);
        case 1 -> SEE_DESCRIPTION[language];
        case 2 -> normal + " / " + formatted(currency, amount + amount / 10);
        default -> "\u20AC\u20AC\u20AC";
      };
    }

    /** Swaps a zero for the letter O, or a five for an S: the classic OCR and typing slip. */
    private static String letterForDigit(String price) {
      int zero = price.indexOf('0');
      if (zero >= 0) {
        return price.substring(0, zero) + 'O' + price.substring(zero + 1);
      }
      return price.replace('5', 'S');
    }

    /** An amount in one of the notations used with its currency. */
    private String formatted(Currency currency, long amount) {
      switch (currency) {
        case EUR -> {
          return switch (rng.nextInt(10)) {
            case 0 -> grouped(amount, '.') + " \u20AC";
            case 1 -> grouped(amount, '.') + ",00 \u20AC";
            case 2 -> "EUR " + grouped(amount, '.');
            case 3 -> grouped(amount, '.') + ",- \u20AC";
            case 4 -> amount + " \u20AC";
            case 5 -> "\u20AC " + grouped(amount, '.');
            case 6 -> grouped(amount, ' ') + " \u20AC";
            case 7 -> groupedWith(amount, "&nbsp;") + " \u20AC";
            case 8 ->
                amount % 100 == 0 && amount >= 1000
                    ? (amount / 1000) + "." + (amount / 100 % 10) + "k \u20AC"
                    : amount + " EUR";
            default -> grouped(amount, '.') + " \u20AC + IVA";
          };
        }
        case USD -> {
          return switch (rng.nextInt(5)) {
            case 0 -> "$" + grouped(amount, ',');
            case 1 -> "USD " + grouped(amount, ',') + ".00";
            case 2 -> amount + " USD";
            case 3 -> "US$ " + grouped(amount, ',');
            default -> "$" + grouped(amount, ',') + ".00";
          };
        }
        case GBP -> {
          return switch (rng.nextInt(5)) {
            case 0 -> "\u00A3" + grouped(amount, ',');
            case 1 -> "GBP " + grouped(amount, ',');
            case 2 -> "\u00A3" + grouped(amount, ',') + " + VAT";
            case 3 -> "\u00A3" + grouped(amount, ',') + " ono";
            default -> "\u00A3" + grouped(amount, ',') + ".00";
          };
        }
        default -> {
          return switch (rng.nextInt(5)) {
            case 0 -> "CHF " + grouped(amount, '\'');
            case 1 -> "Fr. " + grouped(amount, '\'') + ".-";
            case 2 -> grouped(amount, '\'') + " CHF";
            case 3 -> "CHF " + grouped(amount, '\'') + ".00";
            default -> "CHF " + grouped(amount, '\u2019');
          };
        }
      }
    }

    private String formatHours(int language, int hours) {
      if (rng.chance(0.4)) {
        return Integer.toString(hours);
      }
      return switch (language) {
        case EN -> grouped(hours, ',');
        case FR -> grouped(hours, ' ');
        default -> grouped(hours, '.');
      };
    }

    private String languageField(int language) {
      String code = LANGUAGE_CODES[language];
      double roll = (rng.nextLong() >>> 11) * 0x1.0p-53;
      if (roll < 0.08) {
        return "";
      } else if (roll < 0.10) {
        return code.toUpperCase(Locale.ROOT);
      } else if (roll < 0.12) {
        return code + (rng.chance(0.5) ? "-" : "_") + REGIONS[language];
      }
      return code;
    }

    /**
     * Markup, references, typographic punctuation and stray whitespace, as much as the scraper lets
     * through.
     */
    private String noise(String text, Scraper scraper, boolean isTitle) {
      if (text.isEmpty()) {
        return text;
      }
      String t = text;
      if (rng.chance(0.1)) {
        t = t.replace(" - ", rng.chance(0.5) ? " \u2013 " : " \u2014 ");
      }
      if (scraper.html() >= 1) {
        t = t.replace("&", "&amp;");
        if (rng.chance(0.5)) {
          t = references(t);
        }
        if (rng.chance(0.3)) {
          t = t.replace("'", rng.chance(0.5) ? "&#39;" : "&rsquo;");
        }
      }
      if (scraper.html() >= 2 && rng.chance(0.7)) {
        t = isTitle ? titleMarkup(t) : descriptionMarkup(t);
      }
      if (rng.chance(0.08)) {
        int space = t.indexOf(' ', rng.nextInt(t.length()));
        if (space > 0) {
          t = t.substring(0, space) + (rng.chance(0.5) ? "   " : " \t ") + t.substring(space);
        }
      }
      if (rng.chance(0.05)) {
        t = "  " + t + " ";
      }
      if (!isTitle && rng.chance(0.005)) {
        int stop = t.indexOf(". ");
        if (stop > 0) {
          t = t.substring(0, stop + 1) + '\n' + t.substring(stop + 2);
        }
      }
      return t;
    }

    private String references(String text) {
      StringBuilder sb = new StringBuilder(text.length() + 32);
      for (int i = 0; i < text.length(); i++) {
        char ch = text.charAt(i);
        int e = ENTITY_CHARS.indexOf(ch);
        if (e < 0) {
          sb.append(ch);
        } else if (rng.chance(0.7)) {
          sb.append('&').append(ENTITY_NAMES[e]).append(';');
        } else if (rng.chance(0.5)) {
          sb.append("&#").append((int) ch).append(';');
        } else {
          sb.append("&#x").append(Integer.toHexString(ch).toUpperCase(Locale.ROOT)).append(';');
        }
      }
      return sb.toString();
    }

    private String titleMarkup(String title) {
      return switch (rng.nextInt(3)) {
        case 0 -> "<b>" + title + "</b>";
        case 1 -> "<span class=\"title\">" + title + "</span>";
        default -> "<h2>" + title + "</h2>";
      };
    }

    private String descriptionMarkup(String description) {
      String[] breaks = {"<br>", "<br/>", "<br />", "</p><p>"};
      String br = rng.pick(breaks);
      String body = description.replace(". ", "." + br);
      if (rng.chance(0.3)) {
        int stop = body.indexOf('.');
        if (stop > 0) {
          body = "<strong>" + body.substring(0, stop + 1) + "</strong>" + body.substring(stop + 1);
        }
      }
      if (rng.chance(0.05)) {
        body = body + "<!-- crawl " + rng.between(1000, 9999) + " -->";
      }
      return "<p>" + body + "</p>";
    }

    /** Breaks a well-formed line the way scrapers do. */
    private String corrupt(String line) {
      return switch (rng.nextInt(5)) {
        case 0 -> { // cut short after the second, third or fourth field
          int bars = 2 + rng.nextInt(3);
          int cut = -1;
          for (int b = 0; b < bars; b++) {
            cut = line.indexOf('|', cut + 1);
          }
          yield cut > 0 ? line.substring(0, cut) : line.substring(0, line.length() / 2);
        }
        case 1 -> { // binary garbage from a mis-decoded page
          char[] controls = {'\u0001', '\u0002', '\u0007', '\u0008', '\u001B', '\u001F', '\uFFFD'};
          int at = line.lastIndexOf('|') - 1;
          yield line.substring(0, at) + controls[rng.nextInt(controls.length)] + line.substring(at);
        }
        case 2 -> "   " + line.substring(line.indexOf('|')); // blank id
        case 3 -> { // an unescaped bar inside the description
          int at = line.lastIndexOf('|');
          yield line.substring(0, at) + " | " + line.substring(at);
        }
        default -> line + "\\"; // dangling escape
      };
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Formatting, locale-free

  /**
   * Euros per unit of {@code currency}, times 10,000, read back from the fixed rate of {@link
   * Currency}.
   */
  private static long eurPerUnitE4(Currency currency) {
    return currency.toEurCents(1_000_000) / 100;
  }

  /** Rounds a price the way sellers do: to 10 below 1,000, to 50 below 10,000, to 100 above. */
  private static long roundPrice(long amount) {
    long step = amount < 1_000 ? 10 : amount < 10_000 ? 50 : 100;
    return Math.max(step, (amount + step / 2) / step * step);
  }

  static String grouped(long value, char separator) {
    return groupedWith(value, String.valueOf(separator));
  }

  static String groupedWith(long value, String separator) {
    String digits = Long.toString(value);
    StringBuilder sb = new StringBuilder(digits.length() + 8);
    int first = digits.length() % 3 == 0 ? 3 : digits.length() % 3;
    sb.append(digits, 0, first);
    for (int i = first; i < digits.length(); i += 3) {
      sb.append(separator).append(digits, i, i + 3);
    }
    return sb.toString();
  }

  private static String pad6(int value) {
    String s = Integer.toString(value);
    return s.length() >= 6 ? s : "000000".substring(s.length()) + s;
  }

  private static String escape(String field) {
    StringBuilder sb = null;
    for (int i = 0; i < field.length(); i++) {
      char ch = field.charAt(i);
      String replacement =
          switch (ch) {
            case '\\' -> "\\\\";
            case '|' -> "\\|";
            case '\n' -> "\\n";
            default -> null;
          };
      if (replacement != null && sb == null) {
        sb = new StringBuilder(field.length() + 8).append(field, 0, i);
      }
      if (sb != null) {
        if (replacement != null) {
          sb.append(replacement);
        } else {
          sb.append(ch);
        }
      }
    }
    return sb == null ? field : sb.toString();
  }
}
