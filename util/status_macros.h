#ifndef COHORTLINK_UTIL_STATUS_MACROS_H_
#define COHORTLINK_UTIL_STATUS_MACROS_H_

// Early-return helpers for absl::Status / absl::StatusOr, in the style of
// private-join-and-compute's util/status_macros.h.

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define COHORTLINK_STATUS_CONCAT_INNER(a, b) a##b
#define COHORTLINK_STATUS_CONCAT(a, b) COHORTLINK_STATUS_CONCAT_INNER(a, b)

// Evaluates `expr` (an absl::Status) and returns it from the enclosing
// function if it is not OK.
#define RETURN_IF_ERROR(expr)                                \
  do {                                                       \
    ::absl::Status cohortlink_status_ = (expr);              \
    if (!cohortlink_status_.ok()) return cohortlink_status_; \
  } while (false)

// ASSIGN_OR_RETURN(lhs, expr): evaluates `expr` (an absl::StatusOr<T>); on
// error returns its status, otherwise move-assigns the value to `lhs`, which
// may be a declaration (`auto x`) or an existing variable.
#define ASSIGN_OR_RETURN(lhs, expr) \
  COHORTLINK_ASSIGN_OR_RETURN_IMPL( \
      COHORTLINK_STATUS_CONCAT(cohortlink_statusor_, __LINE__), lhs, expr)

#define COHORTLINK_ASSIGN_OR_RETURN_IMPL(statusor, lhs, expr) \
  auto statusor = (expr);                                     \
  if (!statusor.ok()) return std::move(statusor).status();    \
  lhs = *std::move(statusor)

#endif  // COHORTLINK_UTIL_STATUS_MACROS_H_
