package dev.pipeline.dashboard;

/**
 * One request as the pages see it: its path, query, form (empty unless a POST), the caller's role
 * and session.
 */
record Request(String path, Params query, Params form, Role role, Session session) {

  /** Refuses the request unless the caller may change state. */
  void requireOperator() {
    if (role != Role.OPERATOR) {
      throw new BadRequestException(403, "your role may view the dashboard, not change anything");
    }
  }
}
