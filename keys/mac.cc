// The low-level digest API is deprecated in OpenSSL 3 but remains the only
// way to copy a hash state without a heap allocation, which is what makes
// HMAC with precomputed pads (RFC 2104, section 4) cheap per message.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "keys/mac.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/md5.h>
#include <openssl/params.h>
#include <openssl/sha.h>

#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "keys/blake2b.h"
#include "keys/openssl_error.h"

namespace cohortlink::keys {

size_t DigestSize(HashAlgorithm hash) {
  switch (hash) {
    case HashAlgorithm::kSha1:
      return 20;
    case HashAlgorithm::kMd5:
      return 16;
    case HashAlgorithm::kSha256:
      return 32;
    case HashAlgorithm::kSha512:
      return 64;
  }
  return 0;
}

const char* HashName(HashAlgorithm hash) {
  switch (hash) {
    case HashAlgorithm::kSha1:
      return "SHA1";
    case HashAlgorithm::kMd5:
      return "MD5";
    case HashAlgorithm::kSha256:
      return "SHA256";
    case HashAlgorithm::kSha512:
      return "SHA512";
  }
  return "";
}

// HMAC with the inner and outer pad states computed once per key: each
// message then costs two compression calls on copied state, no allocation.
struct Hmac::State {
  virtual ~State() = default;
  virtual void Compute(absl::string_view data, uint8_t* out) const = 0;
  virtual std::unique_ptr<State> Copy() const = 0;
};

namespace {

template <typename Ctx, int (*Init)(Ctx*),
          int (*Update)(Ctx*, const void*, size_t),
          int (*Final)(unsigned char*, Ctx*), size_t kDigest, size_t kBlock>
class PadState : public Hmac::State {
 public:
  explicit PadState(absl::string_view key) {
    unsigned char k[kBlock] = {0};
    if (key.size() > kBlock) {
      Ctx c;
      Init(&c);
      Update(&c, key.data(), key.size());
      Final(k, &c);
      OPENSSL_cleanse(&c, sizeof c);
    } else {
      std::memcpy(k, key.data(), key.size());
    }
    unsigned char pad[kBlock];
    for (size_t i = 0; i < kBlock; ++i) pad[i] = k[i] ^ 0x36;
    Init(&inner_);
    Update(&inner_, pad, kBlock);
    for (size_t i = 0; i < kBlock; ++i) pad[i] = k[i] ^ 0x5c;
    Init(&outer_);
    Update(&outer_, pad, kBlock);
    OPENSSL_cleanse(k, sizeof k);
    OPENSSL_cleanse(pad, sizeof pad);
  }
  ~PadState() override {
    OPENSSL_cleanse(&inner_, sizeof inner_);
    OPENSSL_cleanse(&outer_, sizeof outer_);
  }
  void Compute(absl::string_view data, uint8_t* out) const override {
    Ctx c = inner_;
    Update(&c, data.data(), data.size());
    unsigned char inner_digest[kDigest];
    Final(inner_digest, &c);
    c = outer_;
    Update(&c, inner_digest, kDigest);
    Final(out, &c);
  }
  std::unique_ptr<Hmac::State> Copy() const override {
    return std::unique_ptr<Hmac::State>(new PadState(*this));
  }

 private:
  PadState(const PadState&) = default;
  Ctx inner_, outer_;
};

using Sha1Pads = PadState<SHA_CTX, SHA1_Init, SHA1_Update, SHA1_Final, 20, 64>;
using Md5Pads = PadState<MD5_CTX, MD5_Init, MD5_Update, MD5_Final, 16, 64>;
using Sha256Pads =
    PadState<SHA256_CTX, SHA256_Init, SHA256_Update, SHA256_Final, 32, 64>;
using Sha512Pads =
    PadState<SHA512_CTX, SHA512_Init, SHA512_Update, SHA512_Final, 64, 128>;

}  // namespace

Hmac::Hmac(std::unique_ptr<State> state, size_t digest_size)
    : state_(std::move(state)), digest_size_(digest_size) {}
Hmac::~Hmac() = default;

absl::StatusOr<std::unique_ptr<Hmac>> Hmac::Create(HashAlgorithm hash,
                                                   absl::string_view key) {
  std::unique_ptr<State> state;
  switch (hash) {
    case HashAlgorithm::kSha1:
      state = std::make_unique<Sha1Pads>(key);
      break;
    case HashAlgorithm::kMd5:
      state = std::make_unique<Md5Pads>(key);
      break;
    case HashAlgorithm::kSha256:
      state = std::make_unique<Sha256Pads>(key);
      break;
    case HashAlgorithm::kSha512:
      state = std::make_unique<Sha512Pads>(key);
      break;
  }
  return std::unique_ptr<Hmac>(new Hmac(std::move(state), DigestSize(hash)));
}

absl::Status Hmac::Compute(absl::string_view data, uint8_t* out) {
  state_->Compute(data, out);
  return absl::OkStatus();
}

absl::StatusOr<std::string> Hmac::Compute(absl::string_view data) {
  std::string out(digest_size_, '\0');
  state_->Compute(data, reinterpret_cast<uint8_t*>(out.data()));
  return out;
}

absl::StatusOr<std::unique_ptr<Hmac>> Hmac::Clone() const {
  return std::unique_ptr<Hmac>(new Hmac(state_->Copy(), digest_size_));
}

struct Blake2bMac::State {
  Blake2bKeyedState keyed;
};

Blake2bMac::Blake2bMac(std::unique_ptr<State> state)
    : state_(std::move(state)) {}
Blake2bMac::~Blake2bMac() = default;

absl::StatusOr<std::unique_ptr<Blake2bMac>> Blake2bMac::Create(
    absl::string_view key, absl::string_view salt) {
  if (salt.size() > 16) {
    return absl::InvalidArgumentError("BLAKE2b salt longer than 16 bytes");
  }
  if (key.empty() || key.size() > 64) {
    return absl::InvalidArgumentError("BLAKE2b key must be 1..64 bytes");
  }
  return std::unique_ptr<Blake2bMac>(new Blake2bMac(
      std::make_unique<State>(State{Blake2bKeyedState(key, salt)})));
}

absl::Status Blake2bMac::Compute(absl::string_view data, uint8_t* out) {
  state_->keyed.Mac(data, out);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Blake2bMac>> Blake2bMac::Clone() const {
  return std::unique_ptr<Blake2bMac>(
      new Blake2bMac(std::make_unique<State>(*state_)));
}

struct Sha256::State {
  EVP_MD_CTX* ctx = nullptr;
};

Sha256::Sha256() : state_(new State{EVP_MD_CTX_new()}) {
  // Allocation failure here is unrecoverable, as with operator new.
  if (state_->ctx == nullptr ||
      EVP_DigestInit_ex(state_->ctx, EVP_sha256(), nullptr) != 1) {
    std::abort();
  }
}

Sha256::~Sha256() { EVP_MD_CTX_free(state_->ctx); }

void Sha256::Update(absl::string_view data) {
  EVP_DigestUpdate(state_->ctx, data.data(), data.size());
}

std::string Sha256::Finish() {
  std::string out(32, '\0');
  unsigned len = 0;
  EVP_DigestFinal_ex(state_->ctx, reinterpret_cast<unsigned char*>(out.data()),
                     &len);
  return out;
}

std::string Sha256::Digest(absl::string_view data) {
  Sha256 h;
  h.Update(data);
  return h.Finish();
}

}  // namespace cohortlink::keys
