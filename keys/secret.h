#ifndef COHORTLINK_KEYS_SECRET_H_
#define COHORTLINK_KEYS_SECRET_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cohortlink::keys {

// Owns secret bytes (a linkage secret or derived key) and wipes them with
// OPENSSL_cleanse when destroyed or reassigned. Move-only, never printed.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(std::string bytes) : bytes_(std::move(bytes)) {}
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes();

  absl::string_view view() const { return bytes_; }
  size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  // Writable access for functions that fill the buffer (e.g. a KDF).
  std::string* mutable_bytes() { return &bytes_; }
  void Wipe();

 private:
  std::string bytes_;
};

// Compares two byte strings in time independent of where they differ.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

// Reads a linkage secret file: the secret is the file's text, with one
// trailing newline ("\n" or "\r\n") ignored. Errors: missing or unreadable
// file (NOT_FOUND / PERMISSION_DENIED), empty secret (INVALID_ARGUMENT).
// Messages name the file but never its contents.
absl::StatusOr<SecretBytes> LoadSecretFile(const std::string& path);

// Generates a new secret: 256 random bits from the OpenSSL CSPRNG as
// base64url text (43 characters).
absl::StatusOr<SecretBytes> GenerateSecret();

// Writes `secret` plus a newline to `path` with mode 0600. Refuses to
// overwrite an existing file (ALREADY_EXISTS).
absl::Status WriteSecretFile(const std::string& path,
                             const SecretBytes& secret);

}  // namespace cohortlink::keys

#endif  // COHORTLINK_KEYS_SECRET_H_
