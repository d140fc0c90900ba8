#include "keys/mac.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "keys/openssl_error.h"

namespace cohortlink::keys {

struct MacContext {
  EVP_MAC_CTX* ctx = nullptr;
};

void MacContextDeleter::operator()(MacContext* c) const {
  if (c != nullptr) EVP_MAC_CTX_free(c->ctx);  // cleanses the key
  delete c;
}

namespace {

using MacCtxPtr = std::unique_ptr<MacContext, MacContextDeleter>;

absl::StatusOr<MacCtxPtr> NewMacContext(const char* algorithm,
                                        absl::string_view key,
                                        const OSSL_PARAM* params) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, algorithm, nullptr);
  if (mac == nullptr) return OpenSslError(absl::StrCat("fetch ", algorithm));
  MacCtxPtr ctx(new MacContext{EVP_MAC_CTX_new(mac)});
  EVP_MAC_free(mac);  // the context keeps its own reference
  if (ctx->ctx == nullptr) return OpenSslError("EVP_MAC_CTX_new");
  if (EVP_MAC_init(ctx->ctx, reinterpret_cast<const uint8_t*>(key.data()),
                   key.size(), params) != 1) {
    return OpenSslError(absl::StrCat(algorithm, " init"));
  }
  return ctx;
}

absl::StatusOr<MacCtxPtr> DupMacContext(const MacContext& c) {
  MacCtxPtr ctx(new MacContext{EVP_MAC_CTX_dup(c.ctx)});
  if (ctx->ctx == nullptr) return OpenSslError("EVP_MAC_CTX_dup");
  return ctx;
}

// Re-initialises `ctx` with its existing key and computes one MAC.
absl::Status RunMac(EVP_MAC_CTX* ctx, absl::string_view data, uint8_t* out,
                    size_t out_size) {
  size_t out_len = 0;
  if (EVP_MAC_init(ctx, nullptr, 0, nullptr) != 1 ||
      EVP_MAC_update(ctx, reinterpret_cast<const uint8_t*>(data.data()),
                     data.size()) != 1 ||
      EVP_MAC_final(ctx, out, &out_len, out_size) != 1) {
    return OpenSslError("MAC computation");
  }
  return absl::OkStatus();
}

}  // namespace

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

Hmac::Hmac(MacCtxPtr ctx, size_t digest_size)
    : ctx_(std::move(ctx)), digest_size_(digest_size) {}

absl::StatusOr<std::unique_ptr<Hmac>> Hmac::Create(HashAlgorithm hash,
                                                   absl::string_view key) {
  std::string digest(HashName(hash));
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest.data(),
                                       0),
      OSSL_PARAM_construct_end()};
  auto ctx = NewMacContext("HMAC", key, params);
  if (!ctx.ok()) return ctx.status();
  return std::unique_ptr<Hmac>(new Hmac(*std::move(ctx), DigestSize(hash)));
}

absl::Status Hmac::Compute(absl::string_view data, uint8_t* out) {
  return RunMac(ctx_->ctx, data, out, digest_size_);
}

absl::StatusOr<std::string> Hmac::Compute(absl::string_view data) {
  std::string out(digest_size_, '\0');
  absl::Status s = Compute(data, reinterpret_cast<uint8_t*>(out.data()));
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::unique_ptr<Hmac>> Hmac::Clone() const {
  auto ctx = DupMacContext(*ctx_);
  if (!ctx.ok()) return ctx.status();
  return std::unique_ptr<Hmac>(new Hmac(*std::move(ctx), digest_size_));
}

Blake2bMac::Blake2bMac(MacCtxPtr ctx) : ctx_(std::move(ctx)) {}

absl::StatusOr<std::unique_ptr<Blake2bMac>> Blake2bMac::Create(
    absl::string_view key, absl::string_view salt) {
  if (salt.size() > 16) {
    return absl::InvalidArgumentError("BLAKE2b salt longer than 16 bytes");
  }
  if (key.empty() || key.size() > 64) {
    return absl::InvalidArgumentError("BLAKE2b key must be 1..64 bytes");
  }
  size_t size = kDigestSize;
  OSSL_PARAM params[3];
  int i = 0;
  params[i++] = OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size);
  if (!salt.empty()) {
    params[i++] = OSSL_PARAM_construct_octet_string(
        OSSL_MAC_PARAM_SALT, const_cast<char*>(salt.data()), salt.size());
  }
  params[i] = OSSL_PARAM_construct_end();
  auto ctx = NewMacContext("BLAKE2BMAC", key, params);
  if (!ctx.ok()) return ctx.status();
  return std::unique_ptr<Blake2bMac>(new Blake2bMac(*std::move(ctx)));
}

absl::Status Blake2bMac::Compute(absl::string_view data, uint8_t* out) {
  return RunMac(ctx_->ctx, data, out, kDigestSize);
}

absl::StatusOr<std::unique_ptr<Blake2bMac>> Blake2bMac::Clone() const {
  auto ctx = DupMacContext(*ctx_);
  if (!ctx.ok()) return ctx.status();
  return std::unique_ptr<Blake2bMac>(new Blake2bMac(*std::move(ctx)));
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
