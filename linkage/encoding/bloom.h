#ifndef COHORTLINK_LINKAGE_ENCODING_BLOOM_H_
#define COHORTLINK_LINKAGE_ENCODING_BLOOM_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "keys/mac.h"

namespace cohortlink::encoding {

// Filters are byte strings in clkhash's bit order: bit i is in byte i / 8
// under mask 0x80 >> (i % 8).
inline void SetBit(uint8_t* filter, size_t i) {
  filter[i >> 3] |= static_cast<uint8_t>(0x80u >> (i & 7));
}
inline bool GetBit(const uint8_t* filter, size_t i) {
  return (filter[i >> 3] >> (7 - (i & 7))) & 1;
}
size_t Popcount(absl::string_view filter);

// Bits each token sets. With `bits_per_feature`, B bits are shared between
// n tokens: floor(B/n) each and the first B mod n tokens one more (clkhash's
// bitsPerFeature strategy). Otherwise every token sets `bits_per_token`.
std::vector<uint32_t> BitsPerToken(size_t num_tokens, uint32_t bits_per_token,
                                   uint32_t bits_per_feature);

// Maps a token to filter positions and sets them. Implementations own MAC
// contexts: one instance per thread (use Clone()).
class TokenHasher {
 public:
  virtual ~TokenHasher() = default;
  // Sets `k` bits for `token` in the `l`-bit filter at `filter`.
  [[nodiscard]] virtual absl::Status Insert(absl::string_view token, uint32_t k,
                                            uint8_t* filter, size_t l) = 0;
  virtual absl::StatusOr<std::unique_ptr<TokenHasher>> Clone() const = 0;
};

// clkhash "doubleHash" (Schnell, Bachteler, Reiher 2011):
//   h1 = int(HMAC-SHA1(key_sha1, token)) mod l,
//   h2 = int(HMAC-MD5(key_md5, token)) mod l, bits (h1 + i*h2) mod l.
// With `prevent_singularity`, while h2 == 0 it is recomputed over
// token + chr(j) (UTF-8) for j = 0, 1, ... (clkhash issue 33).
absl::StatusOr<std::unique_ptr<TokenHasher>> NewDoubleHasher(
    absl::string_view key_sha1, absl::string_view key_md5,
    bool prevent_singularity);

// clkhash "blakeHash": for j < ceil(k/32), BLAKE2b-512(token, key, salt =
// decimal j); the digest is read as 32 little-endian uint16 and bit i is
// word[i] mod l. `l` must be a power of two.
absl::StatusOr<std::unique_ptr<TokenHasher>> NewClkhashBlakeHasher(
    absl::string_view key);

// cohortlink's native hasher: keyed BLAKE2b-512 with salt "cl" + decimal j,
// read as 16 little-endian uint32 per digest, bit i = word[i] mod l. Works
// for any l up to 2^24 (the modulo bias is below 2^-8 of a bit's weight).
absl::StatusOr<std::unique_ptr<TokenHasher>> NewNativeHasher(
    absl::string_view key);

// XOR-folds `filter` (bits a multiple of 16) once: first half XOR second.
std::string XorFold(absl::string_view filter);

}  // namespace cohortlink::encoding

#endif  // COHORTLINK_LINKAGE_ENCODING_BLOOM_H_
