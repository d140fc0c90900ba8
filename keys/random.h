#ifndef COHORTLINK_KEYS_RANDOM_H_
#define COHORTLINK_KEYS_RANDOM_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "keys/secret.h"

namespace cohortlink::keys {

// `n` bytes from the OpenSSL CSPRNG.
absl::StatusOr<SecretBytes> RandomBytes(size_t n);

}  // namespace cohortlink::keys

namespace cohortlink::keys {

// A keyed deterministic random stream (ChaCha20, RFC 8439). The stream for
// (key, a, b) is fixed, so results do not depend on thread scheduling;
// distinct (a, b) give independent streams. Thread-compatible.
class KeyStream {
 public:
  // `key` must be 32 bytes.
  static absl::StatusOr<std::unique_ptr<KeyStream>> Create(
      absl::string_view key);
  ~KeyStream();
  KeyStream(const KeyStream&) = delete;
  KeyStream& operator=(const KeyStream&) = delete;

  // Writes `n` bytes of the stream identified by (a, b) to `out`.
  [[nodiscard]] absl::Status Fill(uint64_t a, uint32_t b, uint8_t* out,
                                  size_t n);

 private:
  struct Impl;
  explicit KeyStream(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cohortlink::keys

#endif  // COHORTLINK_KEYS_RANDOM_H_
