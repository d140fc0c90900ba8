#ifndef COHORTLINK_KEYS_MAC_H_
#define COHORTLINK_KEYS_MAC_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cohortlink::keys {

enum class HashAlgorithm { kSha1, kMd5, kSha256, kSha512 };

size_t DigestSize(HashAlgorithm hash);
const char* HashName(HashAlgorithm hash);

// A keyed HMAC (RFC 2104) that can be applied to many messages.
//
// Thread safety: an instance holds one OpenSSL context and must be used by
// one thread at a time; Clone() gives another thread its own copy.
class Hmac {
 public:
  static absl::StatusOr<std::unique_ptr<Hmac>> Create(HashAlgorithm hash,
                                                      absl::string_view key);
  ~Hmac();
  Hmac(const Hmac&) = delete;
  Hmac& operator=(const Hmac&) = delete;

  // Writes digest_size() bytes of HMAC(key, data) to `out`.
  [[nodiscard]] absl::Status Compute(absl::string_view data, uint8_t* out);
  // Convenience: returns the digest as a string.
  absl::StatusOr<std::string> Compute(absl::string_view data);
  absl::StatusOr<std::unique_ptr<Hmac>> Clone() const;
  size_t digest_size() const { return digest_size_; }

  struct State;  // precomputed pad states (mac.cc)

 private:
  Hmac(std::unique_ptr<State> state, size_t digest_size);
  std::unique_ptr<State> state_;
  size_t digest_size_;
};

// Keyed BLAKE2b-512 (RFC 7693; keys/blake2b.h) with an optional salt of up to
// 16 bytes (shorter salts are zero-padded, as in the BLAKE2 reference and
// hashlib). Thread safety as for Hmac.
class Blake2bMac {
 public:
  static constexpr size_t kDigestSize = 64;
  static absl::StatusOr<std::unique_ptr<Blake2bMac>> Create(
      absl::string_view key, absl::string_view salt);
  ~Blake2bMac();
  Blake2bMac(const Blake2bMac&) = delete;
  Blake2bMac& operator=(const Blake2bMac&) = delete;

  // Writes 64 bytes of BLAKE2b(key, salt; data) to `out`.
  [[nodiscard]] absl::Status Compute(absl::string_view data, uint8_t* out);
  absl::StatusOr<std::unique_ptr<Blake2bMac>> Clone() const;

  struct State;  // keyed state (keys/blake2b.h)

 private:
  explicit Blake2bMac(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Incremental SHA-256.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(absl::string_view data);
  // Returns the 32-byte digest; the object must not be used afterwards.
  std::string Finish();

  static std::string Digest(absl::string_view data);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace cohortlink::keys

#endif  // COHORTLINK_KEYS_MAC_H_
