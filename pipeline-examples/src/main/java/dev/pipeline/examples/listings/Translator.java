package dev.pipeline.examples.listings;

import java.util.Locale;
import java.util.Objects;

/**
 * Stage 5, translation: renders German, French and Spanish listings in English with a dictionary of
 * equipment, condition and trade vocabulary.
 *
 * <p>Matching is case-insensitive, on whole words, longest phrase first, so "sehr guter Zustand"
 * becomes "very good condition" rather than three separate words, and "Bagger" inside
 * "Kettenbagger" is not touched unless the compound has an entry of its own. Words without an
 * entry, model codes and names among them, are kept as written. A replacement is capitalised where
 * the original was capitalised at the start of a sentence, and upper case where the original was a
 * shouted word ("BAGGER"); elsewhere it is lower case, which undoes German noun capitals.
 *
 * <p>Thread-safe: a pure function; the dictionaries are immutable.
 */
public final class Translator {

  private static final PhraseTable<String> GERMAN =
      PhraseTable.<String>builder()
          // equipment
          .add("bagger", "excavator")
          .add("kettenbagger", "crawler excavator")
          .add("raupenbagger", "crawler excavator")
          .add("mobilbagger", "wheeled excavator")
          .add("minibagger", "mini excavator")
          .add("midibagger", "midi excavator")
          .add("radlader", "wheel loader")
          .add("baggerlader", "backhoe loader")
          .add("kompaktlader", "skid steer loader")
          .add("teleskoplader", "telehandler")
          .add("gabelstapler", "forklift")
          .add("stapler", "forklift")
          .add("dieselstapler", "diesel forklift")
          .add("elektrostapler", "electric forklift")
          .add("traktor", "tractor")
          .add("schlepper", "tractor")
          .add("stromerzeuger", "generator")
          .add("stromaggregat", "generator")
          .add("notstromaggregat", "standby generator")
          .add("kompressor", "compressor")
          .add("baukompressor", "construction compressor")
          .add("kran", "crane")
          .add("mobilkran", "mobile crane")
          .add("autokran", "truck crane")
          .add("turmdrehkran", "tower crane")
          .add("muldenkipper", "dump truck")
          .add("hydraulikhammer", "hydraulic breaker")
          .add("ersatzteile", "spare parts")
          // condition
          .add("zustand", "condition")
          .add("top zustand", "top condition")
          .add("guter zustand", "good condition")
          .add("sehr guter zustand", "very good condition")
          .add("gebrauchter zustand", "used condition")
          .add("sehr gut", "very good")
          .add("sehr", "very")
          .add("gut", "good")
          .add("guter", "good")
          .add("gute", "good")
          .add("gutem", "good")
          .add("gebraucht", "used")
          .add("gebrauchter", "used")
          .add("gebrauchte", "used")
          .add("neu", "new")
          .add("neue", "new")
          .add("neuen", "new")
          .add("neuwertig", "as new")
          .add("wie neu", "like new")
          .add("einwandfrei", "flawless")
          .add("gepflegt", "well maintained")
          .add("scheckheftgepflegt", "full service history")
          .add("gewartet", "serviced")
          .add("wartung", "maintenance")
          .add("läuft", "runs")
          .add("läuft einwandfrei", "runs flawlessly")
          .add("läuft nicht", "does not run")
          .add("funktioniert", "works")
          .add("funktioniert nicht", "does not work")
          .add("springt nicht an", "does not start")
          .add("defekt", "defective")
          .add("beschädigt", "damaged")
          .add("kaputt", "broken")
          .add("reparaturbedürftig", "needs repair")
          .add("mängel", "defects")
          .add("keine mängel", "no defects")
          .add("ohne mängel", "without defects")
          .add("gebrauchsspuren", "signs of wear")
          .add("normale gebrauchsspuren", "normal signs of wear")
          .add("undicht", "leaking")
          .add("ölverlust", "oil leak")
          .add("motorschaden", "engine failure")
          .add("getriebeschaden", "gearbox damage")
          .add("rost", "rust")
          // parts and figures
          .add("betriebsstunden", "operating hours")
          .add("std", "hours")
          .add("stunden", "hours")
          .add("baujahr", "year of manufacture")
          .add("bj", "year")
          .add("motor", "engine")
          .add("getriebe", "transmission")
          .add("hydraulik", "hydraulics")
          .add("klimaanlage", "air conditioning")
          .add("kabine", "cab")
          .add("schaufel", "bucket")
          .add("tieflöffel", "digging bucket")
          .add("löffel", "bucket")
          .add("schnellwechsler", "quick coupler")
          .add("reifen", "tyres")
          .add("neue reifen", "new tyres")
          .add("ketten", "tracks")
          .add("gummiketten", "rubber tracks")
          .add("tragkraft", "load capacity")
          .add("hubhöhe", "lift height")
          .add("gewicht", "weight")
          .add("leistung", "power")
          // trade
          .add("sofort verfügbar", "available immediately")
          .add("verfügbar", "available")
          .add("preis", "price")
          .add("vb", "negotiable")
          .add("verhandlungsbasis", "negotiable")
          .add("zzgl", "plus")
          .add("mwst", "VAT")
          .add("händler", "dealer")
          // function words
          .add("mit", "with")
          .add("ohne", "without")
          .add("und", "and")
          .add("oder", "or")
          .add("nicht", "not")
          .add("kein", "no")
          .add("keine", "no")
          .add("für", "for")
          .add("der", "the")
          .add("die", "the")
          .add("das", "the")
          .add("ein", "a")
          .add("eine", "a")
          .add("auf", "on")
          .add("im", "in")
          .build();

  private static final PhraseTable<String> FRENCH =
      PhraseTable.<String>builder()
          // equipment
          .add("pelle", "excavator")
          .add("pelleteuse", "excavator")
          .add("pelle hydraulique", "hydraulic excavator")
          .add("pelle sur chenilles", "crawler excavator")
          .add("pelle sur pneus", "wheeled excavator")
          .add("mini-pelle", "mini excavator")
          .add("chargeuse", "loader")
          .add("chargeuse sur pneus", "wheel loader")
          .add("chargeuse compacte", "skid steer loader")
          .add("tractopelle", "backhoe loader")
          .add("chariot élévateur", "forklift")
          .add("chariot elevateur", "forklift")
          .add("chariot télescopique", "telehandler")
          .add("tracteur", "tractor")
          .add("groupe électrogène", "generator")
          .add("groupe electrogene", "generator")
          .add("compresseur", "compressor")
          .add("grue", "crane")
          .add("grue mobile", "mobile crane")
          .add("tombereau", "dumper")
          .add("marteau hydraulique", "hydraulic breaker")
          .add("pièces détachées", "spare parts")
          // condition
          .add("état", "condition")
          .add("l'état", "the condition")
          .add("bon état", "good condition")
          .add("très bon état", "very good condition")
          .add("excellent état", "excellent condition")
          .add("état neuf", "as new")
          .add("comme neuf", "like new")
          .add("état d'usage", "used condition")
          .add("d'occasion", "used")
          .add("occasion", "used")
          .add("d'origine", "original")
          .add("très", "very")
          .add("bon", "good")
          .add("bonne", "good")
          .add("mauvais", "bad")
          .add("neufs", "new")
          .add("neuves", "new")
          .add("entretenu", "maintained")
          .add("bien entretenu", "well maintained")
          .add("révisé", "serviced")
          .add("fonctionne", "works")
          .add("fonctionne parfaitement", "works perfectly")
          .add("ne fonctionne pas", "does not work")
          .add("ne démarre pas", "does not start")
          .add("en panne", "broken down")
          .add("panne", "breakdown")
          .add("endommagé", "damaged")
          .add("abîmé", "damaged")
          .add("à réparer", "to be repaired")
          .add("cassé", "broken")
          .add("défectueux", "defective")
          .add("défaut", "defect")
          .add("aucun défaut", "no defects")
          .add("sans défaut", "flawless")
          .add("fuite", "leak")
          .add("fuite hydraulique", "hydraulic leak")
          .add("fuite d'huile", "oil leak")
          .add("rouille", "rust")
          .add("traces d'usure", "signs of wear")
          .add("traces d'usure normales", "normal signs of wear")
          .add("usure", "wear")
          // parts and figures
          .add("heures", "hours")
          .add("heures de fonctionnement", "operating hours")
          .add("année", "year")
          .add("année de fabrication", "year of manufacture")
          .add("moteur", "engine")
          .add("boîte de vitesses", "gearbox")
          .add("hydraulique", "hydraulic")
          .add("climatisation", "air conditioning")
          .add("compteur", "hour meter")
          .add("cabine", "cab")
          .add("godet", "bucket")
          .add("attache rapide", "quick coupler")
          .add("pneus", "tyres")
          .add("pneus neufs", "new tyres")
          .add("chenilles", "tracks")
          .add("chenilles caoutchouc", "rubber tracks")
          .add("inclus", "included")
          // trade
          .add("disponible", "available")
          .add("disponible immédiatement", "available immediately")
          .add("prix", "price")
          .add("à débattre", "negotiable")
          .add("vendeur", "seller")
          .add("tva", "VAT")
          // function words
          .add("avec", "with")
          .add("sans", "without")
          .add("et", "and")
          .add("ou", "or")
          .add("pas", "not")
          .add("pour", "for")
          .add("le", "the")
          .add("la", "the")
          .add("les", "the")
          .add("un", "a")
          .add("une", "a")
          .add("de", "of")
          .add("du", "of the")
          .add("des", "of the")
          .add("sur", "on")
          .add("en", "in")
          .build();

  private static final PhraseTable<String> SPANISH =
      PhraseTable.<String>builder()
          // equipment
          .add("excavadora", "excavator")
          .add("excavadora de cadenas", "crawler excavator")
          .add("excavadora de ruedas", "wheeled excavator")
          .add("miniexcavadora", "mini excavator")
          .add("retroexcavadora", "backhoe loader")
          .add("pala cargadora", "wheel loader")
          .add("cargadora", "loader")
          .add("cargadora de ruedas", "wheel loader")
          .add("minicargadora", "skid steer loader")
          .add("manipulador telescópico", "telehandler")
          .add("carretilla elevadora", "forklift")
          .add("carretilla", "forklift")
          .add("montacargas", "forklift")
          .add("generador", "generator")
          .add("grupo electrógeno", "generator")
          .add("compresor", "compressor")
          .add("grúa", "crane")
          .add("grúa móvil", "mobile crane")
          .add("dúmper", "dumper")
          .add("volquete", "dump truck")
          .add("martillo hidráulico", "hydraulic breaker")
          .add("repuestos", "spare parts")
          // condition
          .add("estado", "condition")
          .add("buen estado", "good condition")
          .add("muy buen estado", "very good condition")
          .add("excelente estado", "excellent condition")
          .add("perfecto estado", "perfect condition")
          .add("estado de uso", "used condition")
          .add("como nuevo", "like new")
          .add("como nueva", "like new")
          .add("usado", "used")
          .add("usada", "used")
          .add("de segunda mano", "second-hand")
          .add("muy", "very")
          .add("bueno", "good")
          .add("buena", "good")
          .add("buen", "good")
          .add("excelente", "excellent")
          .add("malo", "bad")
          .add("nuevo", "new")
          .add("nuevos", "new")
          .add("nuevas", "new")
          .add("mantenido", "maintained")
          .add("bien mantenido", "well maintained")
          .add("revisado", "serviced")
          .add("funciona", "works")
          .add("funciona perfectamente", "works perfectly")
          .add("no funciona", "does not work")
          .add("no arranca", "does not start")
          .add("averiado", "broken down")
          .add("averiada", "broken down")
          .add("avería", "fault")
          .add("averías", "faults")
          .add("sin averías", "no faults")
          .add("dañado", "damaged")
          .add("necesita reparación", "needs repair")
          .add("fuga", "leak")
          .add("fuga de aceite", "oil leak")
          .add("óxido", "rust")
          .add("desgaste", "wear")
          .add("desgaste normal", "normal wear")
          // parts and figures
          .add("horas", "hours")
          .add("horas de trabajo", "operating hours")
          .add("año", "year")
          .add("año de fabricación", "year of manufacture")
          .add("motor", "engine")
          .add("caja de cambios", "gearbox")
          .add("hidráulico", "hydraulic")
          .add("hidráulica", "hydraulics")
          .add("aire acondicionado", "air conditioning")
          .add("cabina", "cab")
          .add("cazo", "bucket")
          .add("enganche rápido", "quick coupler")
          .add("neumáticos", "tyres")
          .add("neumáticos nuevos", "new tyres")
          .add("orugas", "tracks")
          .add("orugas de goma", "rubber tracks")
          .add("incluidos", "included")
          .add("uso", "use")
          // trade
          .add("disponible", "available")
          .add("disponible inmediatamente", "available immediately")
          .add("precio", "price")
          .add("negociable", "negotiable")
          .add("iva", "VAT")
          .add("más iva", "plus VAT")
          .add("vendedor", "seller")
          // function words
          .add("con", "with")
          .add("sin", "without")
          .add("y", "and")
          .add("o", "or")
          .add("para", "for")
          .add("el", "the")
          .add("la", "the")
          .add("los", "the")
          .add("las", "the")
          .add("un", "a")
          .add("una", "a")
          .add("de", "of")
          .add("del", "of the")
          .add("en", "in")
          .build();

  /**
   * Shorter all-capital words are abbreviations ("VB", "HT"), not shouting, and translate in lower
   * case.
   */
  private static final int SHOUTED_LENGTH = 4;

  private Translator() {}

  /**
   * Translates title and description of one listing into English.
   *
   * @throws NullPointerException if {@code listing} is null
   */
  public static TranslatedListing translate(AnalyzedListing listing) {
    Objects.requireNonNull(listing, "analyzed listing");
    CleanListing clean = listing.extracted().listing();
    PhraseTable<String> dictionary = dictionary(listing.language());
    if (dictionary == null) {
      return new TranslatedListing(listing, clean.title(), clean.description(), 0);
    }
    int[] replaced = new int[1];
    String title = translate(clean.title(), dictionary, replaced);
    String description = translate(clean.description(), dictionary, replaced);
    return new TranslatedListing(listing, title, description, replaced[0]);
  }

  /**
   * Translates one text from {@code language} ("de", "fr" or "es") into English; other languages
   * come back unchanged.
   */
  public static String translateText(String text, String language) {
    PhraseTable<String> dictionary = dictionary(language);
    return dictionary == null ? text : translate(text, dictionary, new int[1]);
  }

  /** Number of dictionary entries for a language, 0 for languages without a dictionary. */
  static int dictionarySize(String language) {
    PhraseTable<String> dictionary = dictionary(language);
    return dictionary == null ? 0 : dictionary.size();
  }

  private static PhraseTable<String> dictionary(String language) {
    return switch (language) {
      case "de" -> GERMAN;
      case "fr" -> FRENCH;
      case "es" -> SPANISH;
      default -> null;
    };
  }

  private static String translate(String text, PhraseTable<String> dictionary, int[] replaced) {
    Words.Tokens tokens = Words.tokenize(text);
    StringBuilder out = null;
    int copied = 0;
    int i = 0;
    while (i < tokens.count) {
      PhraseTable.Match<String> match = dictionary.longestAt(tokens, i);
      if (match == null) {
        i++;
        continue;
      }
      int from = tokens.start[i];
      int to = tokens.end[i + match.length() - 1];
      if (out == null) {
        out = new StringBuilder(text.length() + 16);
      }
      out.append(text, copied, from);
      appendCased(out, match.value(), text, from, to, tokens.boundaryBefore[i] == Words.SENTENCE);
      copied = to;
      replaced[0]++;
      i += match.length();
    }
    if (out == null) {
      return text;
    }
    return out.append(text, copied, text.length()).toString();
  }

  private static void appendCased(
      StringBuilder out, String english, String original, int from, int to, boolean sentenceStart) {
    char first = original.charAt(from);
    if (!Character.isUpperCase(first)) {
      out.append(english);
    } else if (to - from >= SHOUTED_LENGTH && isAllUpperCase(original, from, to)) {
      out.append(english.toUpperCase(Locale.ROOT));
    } else if (sentenceStart) {
      out.append(Character.toUpperCase(english.charAt(0))).append(english, 1, english.length());
    } else {
      out.append(english);
    }
  }

  private static boolean isAllUpperCase(String text, int from, int to) {
    for (int k = from; k < to; k++) {
      char c = text.charAt(k);
      if (Character.isLetter(c) && !Character.isUpperCase(c)) {
        return false;
      }
    }
    return true;
  }
}
