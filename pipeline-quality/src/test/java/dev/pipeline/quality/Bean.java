package dev.pipeline.quality;

/** A bean with getters, for paths on beans. */
public final class Bean {
  private final String name;
  private final boolean active;

  Bean(String name, boolean active) {
    this.name = name;
    this.active = active;
  }

  public String getName() {
    return name;
  }

  public boolean isActive() {
    return active;
  }
}
