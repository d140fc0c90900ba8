#ifndef COHORTLINK_KEYS_SIGNING_H_
#define COHORTLINK_KEYS_SIGNING_H_

// Ed25519 signatures (OpenSSL) for the access log's signed tree heads.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace cohortlink::keys {

class SigningKey {
 public:
  // Loads the Ed25519 private key at `path` (PEM), first creating it (0600)
  // when there is none. PERMISSION_DENIED when the file is readable by
  // group or others.
  static absl::StatusOr<std::unique_ptr<SigningKey>> LoadOrCreate(
      const std::string& path);
  // Loads an existing key: NOT_FOUND when there is none.
  static absl::StatusOr<std::unique_ptr<SigningKey>> Load(
      const std::string& path);
  ~SigningKey();
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;

  // The 64-byte signature of `data`.
  absl::StatusOr<std::string> Sign(absl::string_view data) const;
  // The public key, PEM (SubjectPublicKeyInfo).
  const std::string& public_key_pem() const { return public_pem_; }
  // SHA-256 of public_key_pem(): names the key in the access-log checkpoint.
  const std::string& fingerprint() const { return fingerprint_; }

 private:
  SigningKey(EVP_PKEY* key, std::string public_pem, std::string fingerprint)
      : key_(key),
        public_pem_(std::move(public_pem)),
        fingerprint_(std::move(fingerprint)) {}
  EVP_PKEY* key_;
  std::string public_pem_;
  std::string fingerprint_;
};

// The bytes an access-log tree head's signature covers:
// "cohortlink-sth-v1\n" || tree size (8 bytes, big-endian) ||
// timestamp in ms (8 bytes, big-endian) || root hash.
std::string TreeHeadSignedBytes(uint64_t tree_size, int64_t timestamp_ms,
                                absl::string_view root_hash);

// OK when `signature` is `data` signed by the Ed25519 key in
// `public_key_pem`; UNAUTHENTICATED when it is not; INVALID_ARGUMENT for a
// key that is not an Ed25519 public key.
absl::Status VerifySignature(absl::string_view public_key_pem,
                             absl::string_view data,
                             absl::string_view signature);

}  // namespace cohortlink::keys

#endif  // COHORTLINK_KEYS_SIGNING_H_
