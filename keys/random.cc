#include "keys/random.h"

#include <openssl/rand.h>

#include "keys/openssl_error.h"

namespace cohortlink::keys {

absl::StatusOr<SecretBytes> RandomBytes(size_t n) {
  SecretBytes out(std::string(n, '\0'));
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.mutable_bytes()->data()),
                 static_cast<int>(n)) != 1) {
    return OpenSslError("RAND_bytes");
  }
  return out;
}

}  // namespace cohortlink::keys

#include <openssl/evp.h>

#include <cstring>

namespace cohortlink::keys {

struct KeyStream::Impl {
  std::string key;
  EVP_CIPHER_CTX* ctx = nullptr;
  EVP_CIPHER* cipher = nullptr;
  std::string zeros;
  ~Impl() {
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(cipher);
    OPENSSL_cleanse(key.data(), key.size());
  }
};

KeyStream::KeyStream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KeyStream::~KeyStream() = default;

absl::StatusOr<std::unique_ptr<KeyStream>> KeyStream::Create(
    absl::string_view key) {
  if (key.size() != 32) {
    return absl::InvalidArgumentError("key stream needs a 32-byte key");
  }
  auto impl = std::make_unique<Impl>();
  impl->key = std::string(key);
  impl->cipher = EVP_CIPHER_fetch(nullptr, "ChaCha20", nullptr);
  impl->ctx = EVP_CIPHER_CTX_new();
  if (impl->cipher == nullptr || impl->ctx == nullptr) {
    return OpenSslError("ChaCha20 setup");
  }
  return std::unique_ptr<KeyStream>(new KeyStream(std::move(impl)));
}

absl::Status KeyStream::Fill(uint64_t a, uint32_t b, uint8_t* out, size_t n) {
  // OpenSSL's ChaCha20 IV: 32-bit block counter, then a 96-bit nonce.
  uint8_t iv[16] = {0};
  for (int i = 0; i < 8; ++i) iv[4 + i] = static_cast<uint8_t>(a >> (8 * i));
  for (int i = 0; i < 4; ++i) iv[12 + i] = static_cast<uint8_t>(b >> (8 * i));
  if (impl_->zeros.size() < n) impl_->zeros.assign(n, '\0');
  int len = 0;
  if (EVP_EncryptInit_ex2(impl_->ctx, impl_->cipher,
                          reinterpret_cast<const uint8_t*>(impl_->key.data()),
                          iv, nullptr) != 1 ||
      EVP_EncryptUpdate(impl_->ctx, out, &len,
                        reinterpret_cast<const uint8_t*>(impl_->zeros.data()),
                        static_cast<int>(n)) != 1) {
    return OpenSslError("ChaCha20 keystream");
  }
  return absl::OkStatus();
}

}  // namespace cohortlink::keys
