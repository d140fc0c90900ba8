#include "linkage/encoding/bloom.h"

#include <bit>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "linkage/encoding/unicode.h"
#include "util/status_macros.h"

namespace cohortlink::encoding {
namespace {

// Big-endian integer value of `digest` modulo `l` (l <= 2^32). A power of
// two needs only the low bits; otherwise four bytes per division step.
uint64_t DigestMod(const uint8_t* digest, size_t size, uint64_t l) {
  if ((l & (l - 1)) == 0) {
    uint64_t low = 0;
    for (size_t i = size >= 8 ? size - 8 : 0; i < size; ++i) {
      low = (low << 8) | digest[i];
    }
    return low & (l - 1);
  }
  uint64_t r = 0;
  size_t i = 0;
  for (; i + 4 <= size; i += 4) {
    uint64_t w = (uint64_t{digest[i]} << 24) | (uint64_t{digest[i + 1]} << 16) |
                 (uint64_t{digest[i + 2]} << 8) | digest[i + 3];
    r = ((r << 32) | w) % l;
  }
  for (; i < size; ++i) r = ((r << 8) | digest[i]) % l;
  return r;
}

class DoubleHasher : public TokenHasher {
 public:
  DoubleHasher(std::unique_ptr<keys::Hmac> sha1,
               std::unique_ptr<keys::Hmac> md5, bool prevent_singularity)
      : sha1_(std::move(sha1)),
        md5_(std::move(md5)),
        prevent_singularity_(prevent_singularity) {}

  absl::Status Insert(absl::string_view token, uint32_t k, uint8_t* filter,
                      size_t l) override {
    uint8_t d1[20], d2[16];
    RETURN_IF_ERROR(sha1_->Compute(token, d1));
    RETURN_IF_ERROR(md5_->Compute(token, d2));
    uint64_t h1 = DigestMod(d1, sizeof d1, l);
    uint64_t h2 = DigestMod(d2, sizeof d2, l);
    if (prevent_singularity_) {
      std::string extended;
      for (char32_t j = 0; h2 == 0; ++j) {
        extended.assign(token.data(), token.size());
        AppendUtf8(j, &extended);
        RETURN_IF_ERROR(md5_->Compute(extended, d2));
        h2 = DigestMod(d2, sizeof d2, l);
      }
    }
    for (uint64_t i = 0; i < k; ++i) SetBit(filter, (h1 + i * h2) % l);
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<TokenHasher>> Clone() const override {
    ASSIGN_OR_RETURN(auto sha1, sha1_->Clone());
    ASSIGN_OR_RETURN(auto md5, md5_->Clone());
    return std::unique_ptr<TokenHasher>(new DoubleHasher(
        std::move(sha1), std::move(md5), prevent_singularity_));
  }

 private:
  std::unique_ptr<keys::Hmac> sha1_;
  std::unique_ptr<keys::Hmac> md5_;
  bool prevent_singularity_;
};

// BLAKE2b with a salt per digest index; contexts created on demand.
class BlakeHasher : public TokenHasher {
 public:
  BlakeHasher(std::string key, bool native)
      : key_(std::move(key)), native_(native) {}
  ~BlakeHasher() override { std::fill(key_.begin(), key_.end(), '\0'); }

  absl::Status Insert(absl::string_view token, uint32_t k, uint8_t* filter,
                      size_t l) override {
    const uint32_t per_digest = native_ ? 16 : 32;
    uint8_t digest[keys::Blake2bMac::kDigestSize];
    for (uint32_t j = 0; j * per_digest < k; ++j) {
      ASSIGN_OR_RETURN(keys::Blake2bMac * mac, MacFor(j));
      RETURN_IF_ERROR(mac->Compute(token, digest));
      uint32_t n = std::min(per_digest, k - j * per_digest);
      for (uint32_t i = 0; i < n; ++i) {
        uint64_t v;
        if (native_) {
          uint32_t w;
          std::memcpy(&w, digest + 4 * i, 4);
          if constexpr (std::endian::native == std::endian::big)
            w = __builtin_bswap32(w);
          v = w;
        } else {
          uint16_t w;
          std::memcpy(&w, digest + 2 * i, 2);
          if constexpr (std::endian::native == std::endian::big)
            w = __builtin_bswap16(w);
          v = w;
        }
        SetBit(filter, v % l);
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<TokenHasher>> Clone() const override {
    return std::unique_ptr<TokenHasher>(new BlakeHasher(key_, native_));
  }

 private:
  absl::StatusOr<keys::Blake2bMac*> MacFor(uint32_t j) {
    if (j >= macs_.size()) macs_.resize(j + 1);
    if (!macs_[j]) {
      std::string salt = absl::StrCat(native_ ? "cl" : "", j);
      ASSIGN_OR_RETURN(macs_[j], keys::Blake2bMac::Create(key_, salt));
    }
    return macs_[j].get();
  }

  std::string key_;
  bool native_;
  std::vector<std::unique_ptr<keys::Blake2bMac>> macs_;
};

}  // namespace

size_t Popcount(absl::string_view filter) {
  size_t n = 0;
  size_t i = 0;
  for (; i + 8 <= filter.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, filter.data() + i, 8);
    n += std::popcount(w);
  }
  for (; i < filter.size(); ++i) {
    n += std::popcount(static_cast<uint8_t>(filter[i]));
  }
  return n;
}

std::vector<uint32_t> BitsPerToken(size_t num_tokens, uint32_t bits_per_token,
                                   uint32_t bits_per_feature) {
  std::vector<uint32_t> ks(num_tokens, bits_per_token);
  if (bits_per_feature > 0 && num_tokens > 0) {
    uint32_t base = static_cast<uint32_t>(bits_per_feature / num_tokens);
    size_t extra = bits_per_feature % num_tokens;
    for (size_t i = 0; i < num_tokens; ++i) ks[i] = base + (i < extra ? 1 : 0);
  }
  return ks;
}

absl::StatusOr<std::unique_ptr<TokenHasher>> NewDoubleHasher(
    absl::string_view key_sha1, absl::string_view key_md5,
    bool prevent_singularity) {
  ASSIGN_OR_RETURN(auto sha1,
                   keys::Hmac::Create(keys::HashAlgorithm::kSha1, key_sha1));
  ASSIGN_OR_RETURN(auto md5,
                   keys::Hmac::Create(keys::HashAlgorithm::kMd5, key_md5));
  return std::unique_ptr<TokenHasher>(
      new DoubleHasher(std::move(sha1), std::move(md5), prevent_singularity));
}

absl::StatusOr<std::unique_ptr<TokenHasher>> NewClkhashBlakeHasher(
    absl::string_view key) {
  if (key.empty() || key.size() > 64) {
    return absl::InvalidArgumentError(
        "blakeHash needs a key of 1..64 bytes (keySize)");
  }
  return std::unique_ptr<TokenHasher>(new BlakeHasher(std::string(key), false));
}

absl::StatusOr<std::unique_ptr<TokenHasher>> NewNativeHasher(
    absl::string_view key) {
  if (key.empty() || key.size() > 64) {
    return absl::InvalidArgumentError("native hasher needs a 1..64 byte key");
  }
  return std::unique_ptr<TokenHasher>(new BlakeHasher(std::string(key), true));
}

std::string XorFold(absl::string_view filter) {
  size_t half = filter.size() / 2;
  std::string out(half, '\0');
  for (size_t i = 0; i < half; ++i) {
    out[i] = static_cast<char>(filter[i] ^ filter[half + i]);
  }
  return out;
}

}  // namespace cohortlink::encoding
