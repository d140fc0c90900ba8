#ifndef COHORTLINK_CLIENT_CLI_UTIL_H_
#define COHORTLINK_CLIENT_CLI_UTIL_H_

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "google/protobuf/struct.pb.h"

namespace cohortlink::client {

// Exit codes: 0 success, 1 the operation failed, 2 usage error.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// What every subcommand can use; owned by main().
struct Context {
  // Set by the SIGINT/SIGTERM handler.
  const std::atomic<bool>* interrupted = nullptr;
  // The subcommand chosen on the command line; run after parsing.
  std::function<absl::Status()> run;
};

// Prints "cohortlink: error: <message>" to stderr.
void PrintError(const absl::Status& status);

// A CLI11 check of the name rule (util/names.h), so that a name the server
// would refuse is a usage error (exit 2) before anything is sent.
CLI::Validator NameRule();
// A CLI11 check of a key check value: 16 hex digits.
CLI::Validator KeyCheckValueRule();

// Human-readable output: a two-column "key  value" list and aligned tables.
void PrintKeyValues(const std::vector<std::pair<std::string, std::string>>& kv);
// Prints a header and rows as CSV (RFC 4180 quoting), every field escaped
// as PrintTable escapes it.
void PrintCsv(const std::vector<std::string>& header,
              const std::vector<std::vector<std::string>>& rows);

void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows);
// Pretty JSON of a protobuf Value, or of any message through ToJsonValue,
// on stdout.
// Keys are sorted, so the order is the same on every run.
void PrintJson(const google::protobuf::Message& v);
// The same text (with a final newline).
std::string JsonText(const google::protobuf::Value& v);
// A message as JSON with its proto field names, every field present (null
// for an unset optional scalar or message), and 64-bit integers as numbers
// (proto3's JSON mapping makes them strings).
google::protobuf::Value ToJsonValue(const google::protobuf::Message& m);

// Helpers for building JSON reports.
google::protobuf::Value JsonString(const std::string& s);
google::protobuf::Value JsonNumber(double d);
google::protobuf::Value JsonBool(bool b);

std::string WithThousands(uint64_t n);

}  // namespace cohortlink::client

#endif  // COHORTLINK_CLIENT_CLI_UTIL_H_
