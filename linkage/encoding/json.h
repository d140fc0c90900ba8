#ifndef COHORTLINK_LINKAGE_ENCODING_JSON_H_
#define COHORTLINK_LINKAGE_ENCODING_JSON_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/struct.pb.h"

namespace cohortlink::encoding {

// Parses any JSON document with protobuf's JSON parser. Errors are
// INVALID_ARGUMENT naming `source`.
absl::StatusOr<google::protobuf::Value> ParseJson(absl::string_view text,
                                                  absl::string_view source);

// `s` as a JSON string literal, quotes included (RFC 8259 escaping).
std::string JsonQuote(absl::string_view s);

// Canonical serialisation (keys sorted, no whitespace, numbers as protobuf
// prints them) used for fingerprints.
std::string CanonicalJson(const google::protobuf::Value& v);

// Read-only view of a JSON object with its path, for schema validation
// whose errors name the exact field ("features[3].hashing.strategy").
class JsonObject {
 public:
  // INVALID_ARGUMENT unless `v` is an object.
  static absl::StatusOr<JsonObject> Of(const google::protobuf::Value& v,
                                       std::string path);

  const std::string& path() const { return path_; }
  bool Has(absl::string_view key) const;
  const google::protobuf::Value* Find(absl::string_view key) const;
  std::string PathOf(absl::string_view key) const;

  // Errors unless every key is in `allowed` ("unknown field 'x'").
  absl::Status AllowOnly(const std::vector<absl::string_view>& allowed) const;
  absl::Status Require(absl::string_view key) const;

  absl::StatusOr<JsonObject> GetObject(absl::string_view key) const;
  absl::StatusOr<std::string> GetString(absl::string_view key) const;
  absl::StatusOr<std::string> GetString(absl::string_view key,
                                        absl::string_view fallback) const;
  absl::StatusOr<int64_t> GetInt(absl::string_view key) const;
  absl::StatusOr<int64_t> GetInt(absl::string_view key, int64_t fallback) const;
  absl::StatusOr<double> GetNumber(absl::string_view key,
                                   double fallback) const;
  absl::StatusOr<bool> GetBool(absl::string_view key, bool fallback) const;
  absl::StatusOr<const google::protobuf::ListValue*> GetList(
      absl::string_view key) const;
  // An array of strings ("key[2]: expected a string" otherwise).
  absl::StatusOr<std::vector<std::string>> GetStringList(
      absl::string_view key) const;

  absl::Status Error(absl::string_view key, absl::string_view what) const;

 private:
  JsonObject(const google::protobuf::Struct* s, std::string path)
      : struct_(s), path_(std::move(path)) {}
  const google::protobuf::Struct* struct_;
  std::string path_;
};

}  // namespace cohortlink::encoding

#endif  // COHORTLINK_LINKAGE_ENCODING_JSON_H_
