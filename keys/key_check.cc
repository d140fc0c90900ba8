#include "keys/key_check.h"

#include "keys/kdf.h"
#include "keys/mac.h"
#include "util/status_macros.h"

namespace cohortlink::keys {

absl::StatusOr<std::string> KeyCheckValue(
    absl::string_view secret, absl::string_view schema_fingerprint) {
  ASSIGN_OR_RETURN(SecretBytes stretched, Scrypt(secret, "cohortlink/kcv/v1",
                                                 uint64_t{1} << 15, 8, 1, 32));
  ASSIGN_OR_RETURN(auto hmac,
                   Hmac::Create(HashAlgorithm::kSha256, stretched.view()));
  ASSIGN_OR_RETURN(std::string mac, hmac->Compute(schema_fingerprint));
  return mac.substr(0, kKeyCheckValueSize);
}

}  // namespace cohortlink::keys
