package dev.pipeline;

import org.slf4j.helpers.BasicMDCAdapter;
import org.slf4j.simple.SimpleServiceProvider;
import org.slf4j.spi.MDCAdapter;

/**
 * SLF4J's simple logger with a working MDC (its own keeps none), chosen for this module's tests by
 * the {@code slf4j.provider} system property in the POM, so that a test can see the MDC a stage
 * runs with.
 */
public final class MdcSimpleProvider extends SimpleServiceProvider {
  private final MDCAdapter mdc = new BasicMDCAdapter();

  /** Made by SLF4J. */
  public MdcSimpleProvider() {}

  @Override
  public MDCAdapter getMDCAdapter() {
    return mdc;
  }
}
