#ifndef COHORTLINK_KEYS_RANDOM_H_
#define COHORTLINK_KEYS_RANDOM_H_

#include <cstddef>

#include "absl/status/statusor.h"
#include "keys/secret.h"

namespace cohortlink::keys {

// `n` bytes from the OpenSSL CSPRNG.
absl::StatusOr<SecretBytes> RandomBytes(size_t n);

}  // namespace cohortlink::keys

#endif  // COHORTLINK_KEYS_RANDOM_H_
