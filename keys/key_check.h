#ifndef COHORTLINK_KEYS_KEY_CHECK_H_
#define COHORTLINK_KEYS_KEY_CHECK_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cohortlink::keys {

// Length of a key check value in bytes.
inline constexpr size_t kKeyCheckValueSize = 8;

// The key check value (KCV) that travels with every encoded extract, so the
// server can refuse to mix extracts made with different secrets or schemas
// (which would otherwise silently give zero matches).
//
//   kcv = HMAC-SHA256(scrypt(secret, "cohortlink/kcv/v1", N=2^15, r=8, p=1),
//                     schema_fingerprint)[0..8)
//
// It is one-way: scrypt makes each guess at a weak secret cost ~32 MiB and
// tens of milliseconds, and 64 bits reveal nothing useful about a strong
// (256-bit) secret. Two extracts have equal KCVs exactly when they used the
// same secret and the same schema fingerprint (up to a 2^-64 collision).
absl::StatusOr<std::string> KeyCheckValue(absl::string_view secret,
                                          absl::string_view schema_fingerprint);

}  // namespace cohortlink::keys

#endif  // COHORTLINK_KEYS_KEY_CHECK_H_
