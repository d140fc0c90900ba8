#ifndef COHORTLINK_UTIL_ERROR_DETAILS_H_
#define COHORTLINK_UTIL_ERROR_DETAILS_H_

// Structured error details (google.rpc error model) carried on absl::Status
// payloads by core code, put on the wire by the server's one status
// conversion, and read back by the client.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace cohortlink::util {

// Adds a google.rpc.BadRequest field violation to `s` (e.g. field
// "records[17].filters"). Several calls accumulate.
absl::Status WithFieldViolation(absl::Status s, absl::string_view field,
                                absl::string_view description);

// Adds a google.rpc.PreconditionFailure violation to `s` (e.g. type
// "LINKAGE_SECRET", subject "agency/police").
absl::Status WithPreconditionViolation(absl::Status s, absl::string_view type,
                                       absl::string_view subject,
                                       absl::string_view description);

// Adds a google.rpc.QuotaFailure violation to `s` (e.g. subject
// "project/reoffending", "privacy budget: 0.95 of 1 rho spent").
absl::Status WithQuotaViolation(absl::Status s, absl::string_view subject,
                                absl::string_view description);

// `s` as a serialized google.rpc.Status with its details (what grpc::Status
// carries as error_details).
std::string ToRpcStatusBytes(const absl::Status& s);

// One readable line per detail of a serialized google.rpc.Status, e.g.
// "records[17].filters: 960 bits; the layout says 1024". Unknown detail
// types are skipped; malformed input gives nothing.
std::vector<std::string> DescribeRpcStatusBytes(absl::string_view bytes);

}  // namespace cohortlink::util

#endif  // COHORTLINK_UTIL_ERROR_DETAILS_H_
