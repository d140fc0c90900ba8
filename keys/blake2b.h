#ifndef COHORTLINK_KEYS_BLAKE2B_H_
#define COHORTLINK_KEYS_BLAKE2B_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace cohortlink::keys {

// Keyed BLAKE2b-512 (RFC 7693) with the key block compressed once.
//
// Why not OpenSSL or libb2: in keyed BLAKE2b the key fills block 0, which
// is never the final block when a message follows, so its compression can
// be done once per key. Neither OpenSSL's EVP_MAC (which re-keys per
// message, ~290 ns per token here) nor Debian's libb2 (~480 ns) exposes
// that state; with it a token costs one compression. Bloom-filter
// encoding hashes every q-gram, so this is the client's hot loop. Checked
// against RFC 7693 appendix A, Python's hashlib vectors and clkhash's CLKs.
//
// Value type; copying is cheap and each copy is independent.
class Blake2bKeyedState {
 public:
  // `key` 1..64 bytes, `salt` up to 16 bytes (zero-padded).
  Blake2bKeyedState(absl::string_view key, absl::string_view salt);
  ~Blake2bKeyedState();
  // Writes the 64-byte MAC of `data` to `out`.
  void Mac(absl::string_view data, uint8_t out[64]) const;

  // Unkeyed BLAKE2b-512 (for the RFC test vector).
  static void Hash(absl::string_view data, uint8_t out[64]);

 private:
  Blake2bKeyedState() = default;
  uint64_t init_[8];   // parameter block XOR IV
  uint64_t keyed_[8];  // after compressing the key block
  uint8_t key_block_[128];
  bool keyed_ok_ = false;
};

}  // namespace cohortlink::keys

#endif  // COHORTLINK_KEYS_BLAKE2B_H_
