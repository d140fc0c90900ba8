#ifndef COHORTLINK_LINKAGE_ENCODING_CLKHASH_ENCODER_H_
#define COHORTLINK_LINKAGE_ENCODING_CLKHASH_ENCODER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "linkage/encoding/bloom.h"
#include "linkage/encoding/clkhash_schema.h"

namespace cohortlink::encoding {

// Produces CLKs bit-identical to Data61's clkhash for a clkhash schema.
// Keys: HKDF(secret UTF-8, schema salt/info/hash) gives 2 keys of keySize
// bytes per feature (ignored features included); feature i uses keys 2i and
// 2i+1. Values are validated and formatted as clkhash's field specs do with
// validate=True.
//
// Thread-compatible: use one instance per thread (Clone()).
class ClkhashEncoder {
 public:
  static absl::StatusOr<std::unique_ptr<ClkhashEncoder>> Create(
      const ClkhashSchema& schema, absl::string_view secret);

  // Encodes one record whose fields are in schema feature order into
  // `clk` (l/8 bytes). INVALID_ARGUMENT names the column, e.g.
  // `column 3 "dob": ...`; it never echoes the value.
  [[nodiscard]] absl::Status Encode(const std::vector<std::string>& fields,
                                    std::string* clk);

  absl::StatusOr<std::unique_ptr<ClkhashEncoder>> Clone() const;
  const ClkhashSchema& schema() const { return schema_; }

 private:
  ClkhashEncoder(const ClkhashSchema& schema,
                 std::vector<std::unique_ptr<TokenHasher>> hashers)
      : schema_(schema), hashers_(std::move(hashers)) {}
  absl::Status FormatValue(const ClkhashFeature& f, const std::string& raw,
                           std::string* out) const;

  ClkhashSchema schema_;
  std::vector<std::unique_ptr<TokenHasher>> hashers_;  // null when ignored
  std::string work_;
  std::vector<std::string> tokens_;
};

// Parses an integer as Python's int(s, 10): surrounding whitespace, one
// optional sign, ASCII digits with single underscores between them.
// Returns false if `s` is not such an integer (or exceeds 128 bits).
bool ParsePythonInt(absl::string_view s, __int128* value);
std::string Int128ToString(__int128 v);

}  // namespace cohortlink::encoding

#endif  // COHORTLINK_LINKAGE_ENCODING_CLKHASH_ENCODER_H_
