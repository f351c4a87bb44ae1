package dev.pipeline.examples.listings;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Stage 4, analysis: scores the wording of a listing from -1 (damaged, broken) to +1 (excellent,
 * like new), and detects its language when the scraper did not declare one.
 *
 * <p>The score comes from a weighted lexicon of English, German, French and Spanish cues, single
 * words and phrases, longest phrase first. One merged lexicon is used whatever the language,
 * because sellers mix languages and the declared language is sometimes wrong. A negator ("not",
 * "nicht", "sans", "sin", "no", "-n't") flips a cue up to three words later in the same clause, so
 * "no damage" and "ohne Mängel" count as positive; German "nicht" and French "pas" also flip the
 * cue right before them ("läuft nicht"). An intensifier ("very", "sehr", "très", "muy") multiplies
 * the next cue by 1.5. The sum {@code s} of the cues maps to {@code s / sqrt(s * s + 8)}, which
 * stays in (-1, 1) and needs about two strong cues to pass 0.8.
 *
 * <p>Language detection counts frequent function words and domain words of each language; the clear
 * winner is taken, a tie or no evidence gives {@code "und"}.
 *
 * <p>Thread-safe: a pure function; all tables are immutable.
 */
public final class SentimentAnalyzer {

  /**
   * Scores at or beyond ±this are labelled positive or negative; a single mild cue stays neutral.
   */
  static final double LABEL_THRESHOLD = 0.35;

  private static final double SQUASH = 8.0;
  private static final double INTENSIFIER_FACTOR = 1.5;
  private static final int NEGATION_WINDOW = 3;

  private static final PhraseTable<Double> LEXICON =
      PhraseTable.<Double>builder()
          // strongly positive
          .addAll(
              3.0,
              "excellent",
              "perfect",
              "perfectly",
              "flawless",
              "mint",
              "like new",
              "as new",
              "top condition",
              "full service history",
              "einwandfrei",
              "neuwertig",
              "wie neu",
              "top zustand",
              "scheckheftgepflegt",
              "tadellos",
              "parfait",
              "parfaitement",
              "comme neuf",
              "état neuf",
              "impeccable",
              "excelente",
              "perfecto",
              "perfecta",
              "perfectamente",
              "como nuevo",
              "como nueva",
              "impecable")
          // positive
          .addAll(
              2.0,
              "good",
              "great",
              "well maintained",
              "reliable",
              "top",
              "gut",
              "guter",
              "gute",
              "gutem",
              "gepflegt",
              "zuverlässig",
              "bon",
              "bonne",
              "bon état",
              "bien entretenu",
              "entretenu",
              "fiable",
              "bueno",
              "buena",
              "buen",
              "buen estado",
              "bien mantenido",
              "mantenido")
          // mildly positive
          .addAll(
              1.0,
              "clean",
              "working",
              "works",
              "runs",
              "new",
              "serviced",
              "maintained",
              "sauber",
              "läuft",
              "funktioniert",
              "gewartet",
              "neu",
              "neue",
              "neuen",
              "propre",
              "fonctionne",
              "révisé",
              "neufs",
              "funciona",
              "revisado",
              "limpio",
              "nuevo",
              "nuevos",
              "nuevas")
          // strongly negative, negated phrases included so that they weigh as much as the defects
          // they describe
          .addAll(
              -3.0,
              "broken",
              "defective",
              "faulty",
              "non-runner",
              "scrap",
              "for parts",
              "not working",
              "does not start",
              "doesn't start",
              "won't start",
              "engine failure",
              "defekt",
              "kaputt",
              "motorschaden",
              "getriebeschaden",
              "reparaturbedürftig",
              "springt nicht an",
              "läuft nicht",
              "funktioniert nicht",
              "en panne",
              "cassé",
              "défectueux",
              "ne démarre pas",
              "ne fonctionne pas",
              "averiado",
              "averiada",
              "roto",
              "rota",
              "defectuoso",
              "no funciona",
              "no arranca")
          // negative
          .addAll(
              -2.0,
              "damaged",
              "damage",
              "leak",
              "leaking",
              "leaks",
              "rusty",
              "poor",
              "bad",
              "cracked",
              "needs repair",
              "problem",
              "problems",
              "beschädigt",
              "mängel",
              "mangel",
              "undicht",
              "ölverlust",
              "verschlissen",
              "schlecht",
              "schaden",
              "endommagé",
              "abîmé",
              "fuite",
              "mauvais",
              "à réparer",
              "défaut",
              "défauts",
              "dañado",
              "dañada",
              "avería",
              "averías",
              "fuga",
              "malo",
              "mala",
              "necesita reparación")
          // mildly negative
          .addAll(
              -1.0,
              "rust",
              "worn",
              "wear",
              "repair",
              "noisy",
              "rost",
              "gebrauchsspuren",
              "rouille",
              "usé",
              "usure",
              "óxido",
              "oxido",
              "desgaste",
              "desgastado")
          .build();

  private static final Set<String> NEGATORS =
      Set.of(
          "not",
          "no",
          "never",
          "without",
          "none",
          "neither",
          "nor",
          "nicht",
          "kein",
          "keine",
          "keinen",
          "keiner",
          "keinerlei",
          "ohne",
          "nie",
          "niemals",
          "pas",
          "sans",
          "jamais",
          "aucun",
          "aucune",
          "ni",
          "sin",
          "nunca",
          "ningún",
          "ninguna",
          "ninguno");

  /** Negators that follow what they negate: "läuft nicht", "(ne) démarre pas". */
  private static final Set<String> POST_NEGATORS = Set.of("nicht", "pas");

  private static final Set<String> INTENSIFIERS =
      Set.of(
          "very",
          "really",
          "extremely",
          "super",
          "absolutely",
          "sehr",
          "absolut",
          "äußerst",
          "besonders",
          "très",
          "vraiment",
          "extrêmement",
          "muy",
          "realmente",
          "sumamente");

  private static final String[] LANGUAGES = {"en", "de", "fr", "es"};
  // Words frequent in one language of listings, function words and equipment names, and absent from
  // the other
  // three; words shared by two languages ("la", "en", "de", "tractor", "dumper") would only blur
  // the count.
  private static final Map<String, Integer> LANGUAGE_CUES =
      languageCues(
          new String[] {
            "the",
            "and",
            "with",
            "for",
            "is",
            "of",
            "very",
            "good",
            "condition",
            "hours",
            "year",
            "used",
            "sale",
            "available",
            "not",
            "engine",
            "new",
            "immediately",
            "price",
            "hrs",
            "excavator",
            "loader",
            "forklift",
            "generator",
            "compressor",
            "crane",
            "telehandler",
            "truck"
          },
          new String[] {
            "und",
            "der",
            "die",
            "das",
            "mit",
            "ist",
            "sehr",
            "für",
            "ein",
            "eine",
            "zustand",
            "baujahr",
            "betriebsstunden",
            "neue",
            "gebrauchter",
            "sofort",
            "verfügbar",
            "nicht",
            "keine",
            "läuft",
            "preis",
            "bj",
            "bagger",
            "kettenbagger",
            "raupenbagger",
            "radlader",
            "baggerlader",
            "kompaktlader",
            "teleskoplader",
            "gabelstapler",
            "stapler",
            "traktor",
            "schlepper",
            "stromerzeuger",
            "stromaggregat",
            "kompressor",
            "kran",
            "mobilkran",
            "muldenkipper"
          },
          new String[] {
            "le",
            "les",
            "et",
            "avec",
            "est",
            "très",
            "pour",
            "une",
            "des",
            "du",
            "état",
            "heures",
            "année",
            "bon",
            "occasion",
            "pas",
            "sans",
            "prix",
            "immédiatement",
            "pelle",
            "pelleteuse",
            "chargeuse",
            "chariot",
            "élévateur",
            "télescopique",
            "tracteur",
            "groupe",
            "électrogène",
            "compresseur",
            "grue",
            "tombereau",
            "tractopelle"
          },
          new String[] {
            "el",
            "los",
            "las",
            "y",
            "con",
            "es",
            "muy",
            "para",
            "una",
            "del",
            "estado",
            "horas",
            "año",
            "buen",
            "nuevo",
            "usada",
            "inmediatamente",
            "sin",
            "precio",
            "excavadora",
            "cargadora",
            "pala",
            "carretilla",
            "elevadora",
            "generador",
            "grupo",
            "electrógeno",
            "compresor",
            "grúa",
            "volquete",
            "retroexcavadora",
            "minicargadora",
            "segunda",
            "mano",
            "manipulador"
          });

  private SentimentAnalyzer() {}

  /**
   * Analyses one listing's title and description.
   *
   * @throws NullPointerException if {@code listing} is null
   */
  public static AnalyzedListing analyze(ExtractedListing listing) {
    Objects.requireNonNull(listing, "extracted listing");
    CleanListing clean = listing.listing();
    Words.Tokens title = Words.tokenize(clean.title());
    Words.Tokens description = Words.tokenize(clean.description());

    String language = clean.language();
    boolean detected = language.isEmpty();
    if (detected) {
      language = detectLanguage(title, description);
    }
    List<String> evidence = new ArrayList<>(4);
    double sum = score(title, evidence) + score(description, evidence);
    double squashed = sum / Math.sqrt(sum * sum + SQUASH);
    // Three decimals are all a label or a ranking needs, and keep the rendered JSON stable and
    // short.
    double rounded = Math.round(squashed * 1000) / 1000.0;
    SentimentLabel label =
        rounded >= LABEL_THRESHOLD
            ? SentimentLabel.POSITIVE
            : rounded <= -LABEL_THRESHOLD ? SentimentLabel.NEGATIVE : SentimentLabel.NEUTRAL;
    return new AnalyzedListing(listing, language, detected, rounded, label, evidence);
  }

  /**
   * The language of a text judged by its words alone: {@code "en"}, {@code "de"}, {@code "fr"},
   * {@code "es"}, or {@code "und"} when no language clearly leads.
   */
  public static String detectLanguage(String text) {
    return detectLanguage(Words.tokenize(text), Words.tokenize(""));
  }

  private static String detectLanguage(Words.Tokens title, Words.Tokens description) {
    int[] counts = new int[LANGUAGES.length];
    countCues(title, counts);
    countCues(description, counts);
    int best = -1;
    int bestCount = 0;
    boolean tie = false;
    for (int l = 0; l < counts.length; l++) {
      if (counts[l] > bestCount) {
        best = l;
        bestCount = counts[l];
        tie = false;
      } else if (counts[l] == bestCount && bestCount > 0) {
        tie = true;
      }
    }
    return best < 0 || tie ? "und" : LANGUAGES[best];
  }

  private static void countCues(Words.Tokens tokens, int[] counts) {
    for (int i = 0; i < tokens.count; i++) {
      Integer language = LANGUAGE_CUES.get(tokens.lower[i]);
      if (language != null) {
        counts[language]++;
      }
    }
  }

  private static double score(Words.Tokens tokens, List<String> evidence) {
    double sum = 0;
    int negatorAt = Integer.MIN_VALUE / 2;
    int intensifierAt = Integer.MIN_VALUE / 2;
    int i = 0;
    while (i < tokens.count) {
      if (!tokens.joinedToPrevious(i)) {
        // Negation and intensity never carry over a comma or a full stop.
        negatorAt = Integer.MIN_VALUE / 2;
        intensifierAt = Integer.MIN_VALUE / 2;
      }
      PhraseTable.Match<Double> cue = LEXICON.longestAt(tokens, i);
      if (cue != null) {
        int after = i + cue.length();
        boolean negated = i - negatorAt <= NEGATION_WINDOW || negatedAfter(tokens, after);
        double weight = cue.value();
        if (i - intensifierAt <= 2) {
          weight *= INTENSIFIER_FACTOR;
        }
        if (negated) {
          weight = -weight;
        }
        sum += weight;
        evidence.add(phrase(tokens, i, after, weight, negated));
        i = after;
        continue;
      }
      String word = tokens.lower[i];
      if (NEGATORS.contains(word) || word.endsWith("n't")) {
        negatorAt = i;
      } else if (INTENSIFIERS.contains(word)) {
        intensifierAt = i;
      }
      i++;
    }
    return sum;
  }

  private static boolean negatedAfter(Words.Tokens tokens, int from) {
    for (int j = from; j < from + 2 && j < tokens.count && tokens.joinedToPrevious(j); j++) {
      if (POST_NEGATORS.contains(tokens.lower[j])) {
        return true;
      }
    }
    return false;
  }

  private static String phrase(
      Words.Tokens tokens, int from, int to, double weight, boolean negated) {
    StringBuilder sb = new StringBuilder(24).append(weight >= 0 ? '+' : '-');
    for (int k = from; k < to; k++) {
      if (k > from) {
        sb.append(' ');
      }
      sb.append(tokens.lower[k]);
    }
    return negated ? sb.append(" (negated)").toString() : sb.toString();
  }

  private static Map<String, Integer> languageCues(String[]... wordsByLanguage) {
    Map<String, Integer> cues = new HashMap<>();
    for (int l = 0; l < wordsByLanguage.length; l++) {
      for (String word : wordsByLanguage[l]) {
        if (cues.putIfAbsent(word, l) != null) {
          throw new IllegalArgumentException(
              "language cue \"" + word + "\" listed for two languages");
        }
      }
    }
    return Map.copyOf(cues);
  }
}
