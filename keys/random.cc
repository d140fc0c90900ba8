#include "keys/random.h"

#include <openssl/rand.h>

#include "keys/openssl_error.h"

namespace cohortlink::keys {

absl::StatusOr<SecretBytes> RandomBytes(size_t n) {
  SecretBytes out(std::string(n, '\0'));
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.mutable_bytes()->data()),
                 static_cast<int>(n)) != 1) {
    return OpenSslError("RAND_bytes");
  }
  return out;
}

}  // namespace cohortlink::keys
