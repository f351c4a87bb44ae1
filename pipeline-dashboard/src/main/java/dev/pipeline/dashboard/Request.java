package dev.pipeline.dashboard;

/**
 * One request as the pages see it: its path, query, form (empty unless a POST), the caller's role
 * and session, and who the caller is ({@link #by()}: the signed-in user's name, or {@value
 * #ANONYMOUS} without authentication), which the audit trail keeps with every change.
 */
record Request(String path, Params query, Params form, Role role, Session session, String by) {
  /** Who acts when the dashboard has no users (loopback only). */
  static final String ANONYMOUS = "dashboard";

  /** Refuses the request unless the caller may change state. */
  void requireOperator() {
    if (role != Role.OPERATOR) {
      throw new BadRequestException(403, "your role may view the dashboard, not change anything");
    }
  }
}
