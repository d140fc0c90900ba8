#ifndef COHORTLINK_LINKAGE_ENCODING_ENCODE_PIPELINE_H_
#define COHORTLINK_LINKAGE_ENCODING_ENCODE_PIPELINE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "linkage/encoding/csv_reader.h"
#include "linkage/encoding/record_encoder.h"

namespace cohortlink::encoding {

enum class OutputFormat { kNative, kClkhashJson };

struct EncodeOptions {
  OutputFormat format = OutputFormat::kNative;
  int threads = 1;
  CsvOptions csv;
  bool has_header = true;
  size_t batch_rows = 2048;
  // Optional CSV of "local_id,record_key" written beside the output, for
  // evaluating a linkage against truth on the agency's machine.
  std::string key_map_path;
  // Called from the calling thread after each batch: rows done, input
  // bytes consumed.
  std::function<void(uint64_t rows, uint64_t bytes)> progress;
  // When set to true (e.g. by a signal handler) the encode stops with
  // CANCELLED and leaves no output.
  const std::atomic<bool>* cancel = nullptr;
};

struct EncodeResult {
  uint64_t records = 0;
  std::string content_digest;  // native format only
  cohortlink::v1::ExtractHeader header;
};

// Encodes `csv_path` into `out_path` with `encoder` (already created, not
// yet bound). Output order equals input order for any thread count. On any
// error nothing is left at `out_path` (or the key map path); the error
// names the file and line: "<csv>:<line>: column 3 \"dob\": ...".
// Duplicate record keys are errors naming both lines.
absl::StatusOr<EncodeResult> EncodeCsv(RecordEncoder& encoder,
                                       const std::string& csv_path,
                                       const std::string& out_path,
                                       const EncodeOptions& options);

}  // namespace cohortlink::encoding

#endif  // COHORTLINK_LINKAGE_ENCODING_ENCODE_PIPELINE_H_
