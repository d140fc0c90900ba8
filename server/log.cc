#include "server/log.h"

#include <atomic>
#include <cmath>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "grpc/support/log.h"
#include "linkage/encoding/json.h"

namespace cohortlink::server {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
absl::Mutex g_write_mu;

// gRPC's errors are errors; its information (pollers, epoll descriptors,
// socket options) is for debugging.
void FromGrpc(gpr_log_func_args* args) {
  LogLevel level = args->severity == GPR_LOG_SEVERITY_ERROR ? LogLevel::kError
                                                            : LogLevel::kDebug;
  Log(level, args->message != nullptr ? args->message : "",
      {{"component", "grpc"},
       {"file", args->file != nullptr ? args->file : ""},
       {"line", args->line}});
}

}  // namespace

absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name) {
  for (LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarning,
                     LogLevel::kError}) {
    if (name == LogLevelName(l)) return l;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "log level '", name, "': give debug, info, warning or error"));
}

const char* LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }

LogLevel CurrentLogLevel() { return static_cast<LogLevel>(g_level.load()); }

LogField::LogField(absl::string_view k, absl::string_view v)
    : key(k), json(encoding::JsonQuote(v)) {}

LogField::LogField(absl::string_view k, bool v)
    : key(k), json(v ? "true" : "false") {}

LogField::LogField(absl::string_view k, double v)
    : key(k), json(std::isfinite(v) ? absl::StrFormat("%.6g", v) : "null") {}

std::string FormatLogLine(absl::Time time, LogLevel level,
                          absl::string_view msg,
                          std::initializer_list<LogField> fields) {
  std::string line =
      absl::StrCat("{\"time\":",
                   encoding::JsonQuote(absl::FormatTime(
                       "%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone())),
                   ",\"level\":", encoding::JsonQuote(LogLevelName(level)),
                   ",\"msg\":", encoding::JsonQuote(msg));
  for (const LogField& f : fields)
    absl::StrAppend(&line, ",", encoding::JsonQuote(f.key), ":", f.json);
  line += "}";
  return line;
}

void Log(LogLevel level, absl::string_view msg,
         std::initializer_list<LogField> fields) {
  if (static_cast<int>(level) < g_level.load()) return;
  std::string line = FormatLogLine(absl::Now(), level, msg, fields);
  line += "\n";
  absl::MutexLock lock(&g_write_mu);
  std::cerr << line << std::flush;
}

void RouteGrpcLogs() {
  gpr_set_log_function(FromGrpc);
  gpr_set_log_verbosity(CurrentLogLevel() == LogLevel::kDebug
                            ? GPR_LOG_SEVERITY_DEBUG
                            : GPR_LOG_SEVERITY_ERROR);
}

}  // namespace cohortlink::server
