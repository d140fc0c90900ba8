#include "keys/blake2b.h"

#include <openssl/crypto.h>

#include <bit>
#include <cstring>

namespace cohortlink::keys {
namespace {

constexpr uint64_t kIv[8] = {0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL,
                             0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL,
                             0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL,
                             0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL};

constexpr uint8_t kSigma[12][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
    {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
    {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
    {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
    {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3}};

inline uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  if constexpr (std::endian::native == std::endian::big)
    v = __builtin_bswap64(v);
  return v;
}

inline uint64_t Rotr(uint64_t x, int n) { return (x >> n) | (x << (64 - n)); }

// RFC 7693 section 3.2: the compression function F.
void Compress(uint64_t h[8], const uint8_t block[128], uint64_t t, bool last) {
  uint64_t m[16], v[16];
  for (int i = 0; i < 16; ++i) m[i] = Load64(block + 8 * i);
  for (int i = 0; i < 8; ++i) {
    v[i] = h[i];
    v[i + 8] = kIv[i];
  }
  v[12] ^= t;  // counter low word; messages here stay far below 2^64 bytes
  if (last) v[14] = ~v[14];
  auto g = [&v](int a, int b, int c, int d, uint64_t x, uint64_t y) {
    v[a] = v[a] + v[b] + x;
    v[d] = Rotr(v[d] ^ v[a], 32);
    v[c] = v[c] + v[d];
    v[b] = Rotr(v[b] ^ v[c], 24);
    v[a] = v[a] + v[b] + y;
    v[d] = Rotr(v[d] ^ v[a], 16);
    v[c] = v[c] + v[d];
    v[b] = Rotr(v[b] ^ v[c], 63);
  };
  // Fully unrolled so the message schedule indices are constants.
#pragma GCC unroll 12
  for (int r = 0; r < 12; ++r) {
    const uint8_t* s = kSigma[r];
    g(0, 4, 8, 12, m[s[0]], m[s[1]]);
    g(1, 5, 9, 13, m[s[2]], m[s[3]]);
    g(2, 6, 10, 14, m[s[4]], m[s[5]]);
    g(3, 7, 11, 15, m[s[6]], m[s[7]]);
    g(0, 5, 10, 15, m[s[8]], m[s[9]]);
    g(1, 6, 11, 12, m[s[10]], m[s[11]]);
    g(2, 7, 8, 13, m[s[12]], m[s[13]]);
    g(3, 4, 9, 14, m[s[14]], m[s[15]]);
  }
  for (int i = 0; i < 8; ++i) h[i] ^= v[i] ^ v[i + 8];
}

// Absorbs `data` after `t` bytes already compressed into `h`, then
// finalises. `data` may be empty only when t == 0.
void Finish(uint64_t h[8], uint64_t t, const uint8_t* data, size_t n,
            uint8_t out[64]) {
  uint8_t block[128];
  while (n > 128) {
    t += 128;
    Compress(h, data, t, false);
    data += 128;
    n -= 128;
  }
  std::memset(block, 0, sizeof block);
  if (n > 0) std::memcpy(block, data, n);
  Compress(h, block, t + n, true);
  for (int i = 0; i < 8; ++i) {
    for (int b = 0; b < 8; ++b)
      out[8 * i + b] = static_cast<uint8_t>(h[i] >> (8 * b));
  }
}

}  // namespace

Blake2bKeyedState::Blake2bKeyedState(absl::string_view key,
                                     absl::string_view salt) {
  uint8_t param[64] = {0};
  param[0] = 64;  // digest length
  param[1] = static_cast<uint8_t>(key.size());
  param[2] = 1;  // fanout
  param[3] = 1;  // depth
  std::memcpy(param + 32, salt.data(), salt.size() > 16 ? 16 : salt.size());
  for (int i = 0; i < 8; ++i) init_[i] = kIv[i] ^ Load64(param + 8 * i);
  std::memset(key_block_, 0, sizeof key_block_);
  std::memcpy(key_block_, key.data(), key.size() > 64 ? 64 : key.size());
  std::memcpy(keyed_, init_, sizeof keyed_);
  Compress(keyed_, key_block_, 128, false);
  keyed_ok_ = true;
}

Blake2bKeyedState::~Blake2bKeyedState() {
  OPENSSL_cleanse(keyed_, sizeof keyed_);
  OPENSSL_cleanse(key_block_, sizeof key_block_);
}

void Blake2bKeyedState::Mac(absl::string_view data, uint8_t out[64]) const {
  uint64_t h[8];
  if (data.empty()) {
    // The key block is the final block.
    std::memcpy(h, init_, sizeof h);
    uint8_t block[128];
    std::memcpy(block, key_block_, sizeof block);
    Compress(h, block, 128, true);
    for (int i = 0; i < 8; ++i) {
      for (int b = 0; b < 8; ++b)
        out[8 * i + b] = static_cast<uint8_t>(h[i] >> (8 * b));
    }
    OPENSSL_cleanse(block, sizeof block);
  } else {
    std::memcpy(h, keyed_, sizeof h);
    Finish(h, 128, reinterpret_cast<const uint8_t*>(data.data()), data.size(),
           out);
  }
}

void Blake2bKeyedState::Hash(absl::string_view data, uint8_t out[64]) {
  uint64_t h[8];
  uint8_t param[64] = {0};
  param[0] = 64;
  param[2] = 1;
  param[3] = 1;
  for (int i = 0; i < 8; ++i) h[i] = kIv[i] ^ Load64(param + 8 * i);
  Finish(h, 0, reinterpret_cast<const uint8_t*>(data.data()), data.size(), out);
}

}  // namespace cohortlink::keys
