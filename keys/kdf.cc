#include "keys/kdf.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "keys/openssl_error.h"

namespace cohortlink::keys {
namespace {

struct KdfDeleter {
  void operator()(EVP_KDF* k) const { EVP_KDF_free(k); }
  void operator()(EVP_KDF_CTX* c) const { EVP_KDF_CTX_free(c); }
};
using KdfPtr = std::unique_ptr<EVP_KDF, KdfDeleter>;
using KdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, KdfDeleter>;

absl::StatusOr<SecretBytes> Derive(const char* name, OSSL_PARAM* params,
                                   size_t length) {
  KdfPtr kdf(EVP_KDF_fetch(nullptr, name, nullptr));
  if (!kdf) return OpenSslError(absl::StrCat("EVP_KDF_fetch ", name));
  KdfCtxPtr ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) return OpenSslError("EVP_KDF_CTX_new");
  SecretBytes out(std::string(length, '\0'));
  if (EVP_KDF_derive(
          ctx.get(),
          reinterpret_cast<unsigned char*>(out.mutable_bytes()->data()), length,
          params) != 1) {
    return OpenSslError(absl::StrCat(name, " derive"));
  }
  return out;
}

void* Mutable(absl::string_view s) { return const_cast<char*>(s.data()); }

}  // namespace

absl::StatusOr<SecretBytes> Hkdf(HashAlgorithm hash, absl::string_view ikm,
                                 absl::string_view salt, absl::string_view info,
                                 size_t length) {
  size_t hash_len = DigestSize(hash);
  if (hash != HashAlgorithm::kSha256 && hash != HashAlgorithm::kSha512) {
    return absl::InvalidArgumentError("HKDF hash must be SHA256 or SHA512");
  }
  if (length == 0 || length > 255 * hash_len) {
    return absl::InvalidArgumentError(
        absl::StrCat("HKDF output of ", length, " bytes is out of range (1..",
                     255 * hash_len, ")"));
  }
  std::string digest(HashName(hash));
  OSSL_PARAM params[5];
  int i = 0;
  params[i++] =
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest.data(), 0);
  params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                                  Mutable(ikm), ikm.size());
  if (!salt.empty()) {
    params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                    Mutable(salt), salt.size());
  }
  params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                                  Mutable(info), info.size());
  params[i] = OSSL_PARAM_construct_end();
  return Derive("HKDF", params, length);
}

absl::StatusOr<SecretBytes> Scrypt(absl::string_view password,
                                   absl::string_view salt, uint64_t n,
                                   uint32_t r, uint32_t p, size_t length) {
  OSSL_PARAM params[6];
  params[0] = OSSL_PARAM_construct_octet_string(
      OSSL_KDF_PARAM_PASSWORD, Mutable(password), password.size());
  params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                Mutable(salt), salt.size());
  params[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
  params[3] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
  params[4] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p);
  params[5] = OSSL_PARAM_construct_end();
  return Derive("SCRYPT", params, length);
}

}  // namespace cohortlink::keys
