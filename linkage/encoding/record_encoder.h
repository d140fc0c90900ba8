#ifndef COHORTLINK_LINKAGE_ENCODING_RECORD_ENCODER_H_
#define COHORTLINK_LINKAGE_ENCODING_RECORD_ENCODER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cohortlink/v1/extract.pb.h"
#include "linkage/encoding/clkhash_schema.h"
#include "linkage/encoding/csv_reader.h"
#include "linkage/encoding/native_schema.h"

namespace cohortlink::encoding {

// A schema file of either kind.
struct LoadedSchema {
  std::variant<NativeSchema, ClkhashSchema> schema;
  std::string path;
  bool is_native() const { return schema.index() == 0; }
  const std::string& fingerprint() const;
  std::string kind() const;  // "cohortlink/1" or "clkhash/<version>"
};

// Reads and validates a native or clkhash schema. Errors name the file.
absl::StatusOr<LoadedSchema> LoadSchemaFile(const std::string& path);

struct EncoderOptions {
  // Seed for BLIP's random stream. Empty (the default) draws a fresh key
  // from the OS, so encodings of the same data differ run to run, as
  // differential privacy requires; set it only for reproducible tests.
  std::string blip_seed;
  // clkhash schemas: require the CSV header to name the features in order.
  bool check_header = true;
};

// Turns CSV rows into EncodedRecords. Create one prototype, BindHeader()
// once, then Clone() one instance per worker thread; instances are
// thread-compatible, not thread-safe.
class RecordEncoder {
 public:
  virtual ~RecordEncoder() = default;

  // Resolves schema columns against the CSV header. INVALID_ARGUMENT names
  // any missing column. `header` is empty when the file has no header row
  // (then columns are taken in schema order; clkhash schemas only).
  [[nodiscard]] virtual absl::Status BindHeader(
      const std::vector<std::string>& header) = 0;

  // Encodes one data row (`row_index` is 0-based, excluding the header).
  // INVALID_ARGUMENT describes the column and problem without echoing any
  // value; the caller adds file and line.
  [[nodiscard]] virtual absl::Status Encode(
      const CsvRow& row, uint64_t row_index,
      cohortlink::v1::EncodedRecord* out) = 0;

  // The agency-local id of the last encoded row (for key maps); empty when
  // the schema names no record key.
  virtual const std::string& last_local_id() const = 0;

  virtual absl::StatusOr<std::unique_ptr<RecordEncoder>> Clone() const = 0;

  // The extract header (without record count and creation time).
  virtual const cohortlink::v1::ExtractHeader& header() const = 0;
};

// Builds the encoder for `schema` keyed by `secret` (the secret is copied
// into derived keys and not retained).
absl::StatusOr<std::unique_ptr<RecordEncoder>> NewRecordEncoder(
    const LoadedSchema& schema, absl::string_view secret,
    const EncoderOptions& options);

// The filter layout a native schema produces (no secret needed), including
// each filter's expected fill for a typical value.
absl::StatusOr<cohortlink::v1::FilterLayout> NativeLayout(
    const NativeSchema& schema);

absl::StatusOr<std::unique_ptr<RecordEncoder>> NewNativeEncoder(
    const NativeSchema& schema, absl::string_view secret,
    const EncoderOptions& options);

}  // namespace cohortlink::encoding

#endif  // COHORTLINK_LINKAGE_ENCODING_RECORD_ENCODER_H_
