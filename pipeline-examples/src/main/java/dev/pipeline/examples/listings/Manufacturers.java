package dev.pipeline.examples.listings;

/**
 * The manufacturers the extractor recognises, with the names sellers write them under. Immutable;
 * thread-safe.
 */
final class Manufacturers {

  /**
   * One way of writing a manufacturer.
   *
   * @param name canonical name
   * @param capitalised whether the alias only counts when written with a capital, because in lower
   *     case it is an ordinary word ("Case", "Still", "Cat")
   */
  record Alias(String name, boolean capitalised) {}

  static final PhraseTable<Alias> ALIASES;

  static {
    Builder b = new Builder();
    b.make("Caterpillar", "caterpillar", "cat*");
    b.make("Komatsu", "komatsu");
    b.make("Volvo", "volvo", "volvo ce");
    b.make("JCB", "jcb");
    b.make("Liebherr", "liebherr");
    b.make("Hitachi", "hitachi");
    b.make("Bobcat", "bobcat");
    b.make("Kubota", "kubota");
    b.make("John Deere", "john deere", "deere");
    b.make("Case", "case*", "case ih", "case ce");
    b.make("Manitou", "manitou");
    b.make("Toyota", "toyota");
    b.make("Linde", "linde");
    b.make("Atlas Copco", "atlas copco");
    b.make("Doosan", "doosan", "develon");
    b.make("Hyundai", "hyundai");
    b.make("Takeuchi", "takeuchi");
    b.make("Yanmar", "yanmar");
    b.make("Terex", "terex");
    b.make("Genie", "genie");
    b.make("JLG", "jlg");
    b.make("Merlo", "merlo");
    b.make("Still", "still*");
    b.make("Jungheinrich", "jungheinrich");
    b.make("Hyster", "hyster");
    b.make("Yale", "yale*");
    b.make("New Holland", "new holland");
    b.make("Massey Ferguson", "massey ferguson", "massey");
    b.make("Fendt", "fendt");
    b.make("Claas", "claas");
    b.make("Deutz-Fahr", "deutz-fahr", "deutz");
    b.make("Kaeser", "kaeser");
    b.make("Sullair", "sullair");
    b.make("Tadano", "tadano");
    b.make("Grove", "grove*");
    b.make("Wacker Neuson", "wacker neuson", "wacker");
    b.make("Kobelco", "kobelco");
    b.make("SDMO", "sdmo");
    b.make("FG Wilson", "fg wilson");
    b.make("Himoinsa", "himoinsa");
    b.make("Mecalac", "mecalac");
    ALIASES = b.table.build();
  }

  private Manufacturers() {}

  private static final class Builder {
    final PhraseTable.Builder<Alias> table = PhraseTable.builder();

    void make(String name, String... aliases) {
      for (String alias : aliases) {
        boolean capitalised = alias.endsWith("*");
        table.add(
            capitalised ? alias.substring(0, alias.length() - 1) : alias,
            new Alias(name, capitalised));
      }
    }
  }
}
