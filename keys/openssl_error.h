#ifndef COHORTLINK_KEYS_OPENSSL_ERROR_H_
#define COHORTLINK_KEYS_OPENSSL_ERROR_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace cohortlink::keys {

// The one place OpenSSL errors become statuses: drains the thread's OpenSSL
// error queue into an INTERNAL status whose message starts with `what`.
// Never includes key material (OpenSSL error strings do not carry any).
absl::Status OpenSslError(absl::string_view what);

}  // namespace cohortlink::keys

#endif  // COHORTLINK_KEYS_OPENSSL_ERROR_H_
