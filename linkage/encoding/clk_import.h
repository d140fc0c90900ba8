#ifndef COHORTLINK_LINKAGE_ENCODING_CLK_IMPORT_H_
#define COHORTLINK_LINKAGE_ENCODING_CLK_IMPORT_H_

// CLKs made by clkhash or anonlink-client (a JSON file {"clks": [base64,
// ...]}) as an encoded extract, so an anonlink user uploads the files they
// already have. Record keys are the CLKs' positions (0, 1, ...), as
// `cohortlink encode` gives a clkhash schema's rows.

#include <cstdint>
#include <string>

#include <functional>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cohortlink/v1/extract.pb.h"
#include "linkage/encoding/record_encoder.h"

namespace cohortlink::encoding {

// Limits, checked before anything is allocated for them.
inline constexpr uint64_t kMaxClkJsonBytes = uint64_t{1} << 30;  // 1 GiB
inline constexpr uint64_t kMaxImportedClks = 20'000'000;

// The extract header of a clkhash schema's CLKs: its layout (one
// record-level filter of l bits), fingerprint and `key_check_value` (8
// bytes, keys::KeyCheckValue of the secret and the fingerprint).
absl::StatusOr<cohortlink::v1::ExtractHeader> ClkhashExtractHeader(
    const LoadedSchema& schema, const std::string& key_check_value);

// Reads clkhash JSON CLKs from `json_path` and writes them as an extract
// at `out_path` (atomically) with `header`. Every CLK must be l / 8 bytes
// of base64; an error names the CLK's position and the file's byte
// offset, and leaves nothing at `out_path`. Returns the CLKs written.
absl::StatusOr<uint64_t> ImportClkhashJson(
    const std::string& json_path, const cohortlink::v1::ExtractHeader& header,
    const std::string& out_path);

// The parser alone, over a document in memory (for the fuzzer): calls
// `clk` with each decoded CLK in order.
absl::Status ParseClkhashJson(
    absl::string_view doc, size_t clk_bytes,
    const std::function<absl::Status(std::string_view)>& clk);

}  // namespace cohortlink::encoding

#endif  // COHORTLINK_LINKAGE_ENCODING_CLK_IMPORT_H_
