#include "keys/signing.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "keys/mac.h"
#include "keys/openssl_error.h"
#include "keys/openssl_handles.h"
#include "keys/pki.h"
#include "util/atomic_file.h"
#include "util/status_macros.h"

namespace cohortlink::keys {
namespace {

using MdCtx = std::unique_ptr<EVP_MD_CTX, OpenSslFree>;

}  // namespace

absl::StatusOr<std::unique_ptr<SigningKey>> SigningKey::LoadOrCreate(
    const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    PKey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    if (!key) return OpenSslError("generate Ed25519 key");
    Bio bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr,
                                         0, nullptr, nullptr) != 1) {
      return OpenSslError("encode Ed25519 key");
    }
    std::string pem = BioToString(bio.get());
    ASSIGN_OR_RETURN(auto f, util::AtomicFile::Create(path, 0600, false));
    absl::Status w = f->Write(pem);
    OPENSSL_cleanse(pem.data(), pem.size());
    RETURN_IF_ERROR(w);
    RETURN_IF_ERROR(f->Commit());
  }
  return Load(path);
}

absl::StatusOr<std::unique_ptr<SigningKey>> SigningKey::Load(
    const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return absl::NotFoundError(
        absl::StrCat("no access-log signing key at ", path));
  }
  RETURN_IF_ERROR(CheckPrivateFile(path));
  ASSIGN_OR_RETURN(std::string pem, util::ReadFile(path));
  Bio in(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PKey key(PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr));
  OPENSSL_cleanse(pem.data(), pem.size());
  if (!key || EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not an Ed25519 private key"));
  }
  Bio out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_PUBKEY(out.get(), key.get()) != 1)
    return OpenSslError("encode Ed25519 public key");
  std::string public_pem = BioToString(out.get());
  std::string fingerprint = Sha256::Digest(public_pem);
  return std::unique_ptr<SigningKey>(new SigningKey(
      key.release(), std::move(public_pem), std::move(fingerprint)));
}

SigningKey::~SigningKey() { EVP_PKEY_free(key_); }

absl::StatusOr<std::string> SigningKey::Sign(absl::string_view data) const {
  MdCtx ctx(EVP_MD_CTX_new());
  std::string sig(64, '\0');
  size_t len = sig.size();
  if (!ctx ||
      EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()),
                     &len, reinterpret_cast<const unsigned char*>(data.data()),
                     data.size()) != 1) {
    return OpenSslError("Ed25519 sign");
  }
  sig.resize(len);
  return sig;
}

std::string TreeHeadSignedBytes(uint64_t tree_size, int64_t timestamp_ms,
                                absl::string_view root_hash) {
  std::string out = "cohortlink-sth-v1\n";
  for (uint64_t v : {tree_size, static_cast<uint64_t>(timestamp_ms)})
    for (int s = 56; s >= 0; s -= 8) out.push_back(static_cast<char>(v >> s));
  out.append(root_hash.data(), root_hash.size());
  return out;
}

absl::Status VerifySignature(absl::string_view public_key_pem,
                             absl::string_view data,
                             absl::string_view signature) {
  Bio in(BIO_new_mem_buf(public_key_pem.data(),
                         static_cast<int>(public_key_pem.size())));
  PKey key(PEM_read_bio_PUBKEY(in.get(), nullptr, nullptr, nullptr));
  if (!key || EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519)
    return absl::InvalidArgumentError("not an Ed25519 public key (PEM)");
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr,
                                   key.get()) != 1) {
    return OpenSslError("Ed25519 verify");
  }
  int ok = EVP_DigestVerify(
      ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
      signature.size(), reinterpret_cast<const unsigned char*>(data.data()),
      data.size());
  if (ok != 1) {
    return absl::UnauthenticatedError(
        "signature does not verify with the given public key");
  }
  return absl::OkStatus();
}

}  // namespace cohortlink::keys
