#ifndef COHORTLINK_LINKAGE_ENCODING_CLKHASH_SCHEMA_H_
#define COHORTLINK_LINKAGE_ENCODING_CLKHASH_SCHEMA_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/struct.pb.h"
#include "keys/mac.h"
#include "linkage/encoding/unicode.h"

namespace cohortlink::encoding {

class PythonRegex;

// One feature (column) of a Data61 clkhash linkage schema, normalised to
// the v3 model. v1 and v2 schemas are converted the way clkhash converts
// them: v1's global k times a feature's weight (rounded half to even)
// becomes bitsPerToken; v2's "k" and "numBits" become bitsPerToken and
// bitsPerFeature; "ngram"/"positional" become an ngram comparison.
struct ClkhashFeature {
  enum class Type { kString, kInteger, kDate, kEnum };
  enum class Comparison { kNgram, kExact };
  enum class Hash { kDoubleHash, kBlakeHash };

  std::string identifier;
  bool ignored = false;

  // Format (validation and value formatting).
  Type type = Type::kString;
  TextEncoding encoding = TextEncoding::kUtf8;
  std::shared_ptr<const PythonRegex> pattern;  // null when absent
  std::string case_style = "mixed";
  std::optional<int64_t> min_length, max_length;
  std::optional<int64_t> minimum, maximum;
  std::string date_format;
  std::set<std::string> enum_values;

  // Hashing.
  Comparison comparison = Comparison::kNgram;
  int ngram = 2;
  bool positional = false;
  uint32_t bits_per_token = 0;    // exactly one of these two is non-zero,
  uint32_t bits_per_feature = 0;  // unless a v1 weight rounds to zero
  Hash hash = Hash::kBlakeHash;
  bool prevent_singularity = false;
  std::optional<std::string> missing_sentinel;
  std::string missing_replace_with;
};

struct ClkhashSchema {
  int version = 3;
  int64_t l = 1024;  // bits after folding
  int xor_folds = 0;
  keys::HashAlgorithm kdf_hash = keys::HashAlgorithm::kSha256;
  std::string kdf_salt;  // raw bytes (base64-decoded)
  std::string kdf_info;
  int64_t key_size = 64;
  std::vector<ClkhashFeature> features;
  // SHA-256 of the canonical JSON of the schema as given.
  std::string fingerprint;
};

// True when the document looks like a clkhash schema (has "clkConfig").
bool IsClkhashSchema(const google::protobuf::Value& doc);

// Validates `doc` against the clkhash linkage-schema definition of its
// version (1, 2 or 3) and converts it. INVALID_ARGUMENT names the JSON path
// of the first problem, e.g. "features[2].hashing.strategy: ...".
// Comparisons of type "numeric" are refused: clkhash publishes no reference
// vectors for them, so bit-identical output could not be guaranteed.
absl::StatusOr<ClkhashSchema> ParseClkhashSchema(
    const google::protobuf::Value& doc);

// A Python `re` pattern compiled for full matches (clkhash compiles with
// re_compile_full). Thread-safe.
class PythonRegex {
 public:
  static absl::StatusOr<std::shared_ptr<const PythonRegex>> Compile(
      const std::string& pattern);
  ~PythonRegex();
  bool FullMatch(absl::string_view utf8) const;
  const std::string& pattern() const { return pattern_; }

 private:
  struct Impl;
  PythonRegex(std::string pattern, std::unique_ptr<Impl> impl);
  std::string pattern_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cohortlink::encoding

#endif  // COHORTLINK_LINKAGE_ENCODING_CLKHASH_SCHEMA_H_
