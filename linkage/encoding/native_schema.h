#ifndef COHORTLINK_LINKAGE_ENCODING_NATIVE_SCHEMA_H_
#define COHORTLINK_LINKAGE_ENCODING_NATIVE_SCHEMA_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cohortlink/v1/schema.pb.h"
#include "google/protobuf/struct.pb.h"

namespace cohortlink::encoding {

// A validated native schema with every default filled in.
struct NativeSchema {
  cohortlink::v1::LinkageSchema spec;
  // SHA-256 over the linkage-relevant part of the schema: identifiers (minus
  // their column names), normalisers, tokens, filters, hardening, blocking
  // and the CLK. Names, descriptions, column mappings, event and attribute
  // columns are excluded, so agencies may map their own columns and carry
  // their own event columns and still link.
  std::string fingerprint;
};

// True when `doc` declares "cohortlink_schema" (or "cohortlinkSchema").
bool IsNativeSchema(const google::protobuf::Value& doc);

// Parses and validates a native schema document. INVALID_ARGUMENT names the
// JSON path of the first problem ("identifiers[2].segment.bits: ...").
absl::StatusOr<NativeSchema> ParseNativeSchema(absl::string_view json,
                                               absl::string_view source);

// Width in bits of a filter after its hardening (folds halve, balancing
// doubles).
uint32_t FinalBits(uint32_t bits, const cohortlink::v1::HardeningSpec& h);

}  // namespace cohortlink::encoding

#endif  // COHORTLINK_LINKAGE_ENCODING_NATIVE_SCHEMA_H_
