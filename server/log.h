#ifndef COHORTLINK_SERVER_LOG_H_
#define COHORTLINK_SERVER_LOG_H_

// The server's log: one JSON object per line on stderr, never personal
// data. {"time": RFC 3339 UTC with milliseconds, "level", "msg", then the
// line's fields}. Lines below the level set (SetLogLevel, the server's
// --log-level) are dropped. gRPC's own messages come through here too
// (RouteGrpcLogs), with "component": "grpc": its errors at error, the
// rest at debug.

#include <initializer_list>
#include <string>
#include <type_traits>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace cohortlink::server {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// "debug", "info", "warning" or "error"; INVALID_ARGUMENT otherwise.
absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name);
const char* LogLevelName(LogLevel level);
void SetLogLevel(LogLevel level);
LogLevel CurrentLogLevel();

// One field of a line: a string, a number or a boolean.
struct LogField {
  LogField(absl::string_view k, absl::string_view v);
  LogField(absl::string_view k, const char* v)
      : LogField(k, absl::string_view(v)) {}
  LogField(absl::string_view k, const std::string& v)
      : LogField(k, absl::string_view(v)) {}
  LogField(absl::string_view k, bool v);
  template <typename T,
            std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>,
                             int> = 0>
  LogField(absl::string_view k, T v) : key(k), json(std::to_string(v)) {}
  LogField(absl::string_view k, double v);
  std::string key, json;  // json: the value as JSON
};

// The line for a message (without the line feed).
std::string FormatLogLine(absl::Time time, LogLevel level,
                          absl::string_view msg,
                          std::initializer_list<LogField> fields);

void Log(LogLevel level, absl::string_view msg,
         std::initializer_list<LogField> fields = {});

// Sends gRPC's log messages to Log, at the level set now.
void RouteGrpcLogs();

}  // namespace cohortlink::server

#endif  // COHORTLINK_SERVER_LOG_H_
