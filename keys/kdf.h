#ifndef COHORTLINK_KEYS_KDF_H_
#define COHORTLINK_KEYS_KDF_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "keys/mac.h"
#include "keys/secret.h"

namespace cohortlink::keys {

// HKDF (RFC 5869) extract-and-expand with `hash` (SHA-256 or SHA-512).
// An empty salt means "no salt" (HashLen zero bytes, as the RFC says).
// Fails with INVALID_ARGUMENT when `length` exceeds 255 * HashLen.
absl::StatusOr<SecretBytes> Hkdf(HashAlgorithm hash, absl::string_view ikm,
                                 absl::string_view salt, absl::string_view info,
                                 size_t length);

// scrypt (RFC 7914). Used to slow down dictionary attacks on values derived
// one-way from a linkage secret (the key check value).
absl::StatusOr<SecretBytes> Scrypt(absl::string_view password,
                                   absl::string_view salt, uint64_t n,
                                   uint32_t r, uint32_t p, size_t length);

}  // namespace cohortlink::keys

#endif  // COHORTLINK_KEYS_KDF_H_
