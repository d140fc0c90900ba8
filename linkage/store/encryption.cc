#include "linkage/store/encryption.h"

#include <openssl/evp.h>

#include <cstring>
#include <filesystem>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "keys/kdf.h"
#include "keys/mac.h"
#include "keys/pki.h"
#include "keys/secret.h"
#include "rocksdb/env_encryption.h"
#include "util/atomic_file.h"
#include "util/status_macros.h"

namespace cohortlink::store {
namespace {

constexpr char kKeyCheckFile[] = "DATA_KEY_CHECK";

// One AES-256 block at a time (ECB of a single block is the primitive CTR
// mode is built on).
class Aes256Cipher : public rocksdb::BlockCipher {
 public:
  explicit Aes256Cipher(const keys::SecretBytes& key) {
    enc_ = EVP_CIPHER_CTX_new();
    dec_ = EVP_CIPHER_CTX_new();
    const auto* k = reinterpret_cast<const unsigned char*>(key.view().data());
    ok_ =
        enc_ != nullptr && dec_ != nullptr &&
        EVP_EncryptInit_ex(enc_, EVP_aes_256_ecb(), nullptr, k, nullptr) == 1 &&
        EVP_DecryptInit_ex(dec_, EVP_aes_256_ecb(), nullptr, k, nullptr) == 1 &&
        EVP_CIPHER_CTX_set_padding(enc_, 0) == 1 &&
        EVP_CIPHER_CTX_set_padding(dec_, 0) == 1;
  }
  ~Aes256Cipher() override {
    EVP_CIPHER_CTX_free(enc_);
    EVP_CIPHER_CTX_free(dec_);
  }
  const char* Name() const override { return "cohortlink-aes256"; }
  size_t BlockSize() override { return 16; }
  rocksdb::Status Encrypt(char* data) override { return Run(enc_, data); }
  rocksdb::Status Decrypt(char* data) override { return Run(dec_, data); }
  bool ok() const { return ok_; }

 private:
  rocksdb::Status Run(EVP_CIPHER_CTX* ctx, char* data) {
    // EVP contexts are not safe to share between threads.
    std::lock_guard<std::mutex> lock(mu_);
    unsigned char out[32];
    int n = 0;
    if (!ok_ ||
        EVP_CipherUpdate(ctx, out, &n, reinterpret_cast<unsigned char*>(data),
                         16) != 1 ||
        n != 16) {
      return rocksdb::Status::IOError("AES-256 block operation failed");
    }
    std::memcpy(data, out, 16);
    OPENSSL_cleanse(out, sizeof out);
    return rocksdb::Status::OK();
  }
  std::mutex mu_;
  EVP_CIPHER_CTX* enc_ = nullptr;
  EVP_CIPHER_CTX* dec_ = nullptr;
  bool ok_ = false;
};

// Owns the encrypted Env and what it points to.
class OwningEnv : public rocksdb::EnvWrapper {
 public:
  OwningEnv(rocksdb::Env* env, std::shared_ptr<rocksdb::EncryptionProvider> p)
      : rocksdb::EnvWrapper(env), owned_(env), provider_(std::move(p)) {}
  const char* Name() const override { return "cohortlink-encrypted"; }

 private:
  std::unique_ptr<rocksdb::Env> owned_;
  std::shared_ptr<rocksdb::EncryptionProvider> provider_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<rocksdb::Env>> EncryptedEnvFor(
    const std::string& db_dir, const std::string& key_file,
    rocksdb::Env* base) {
  const std::string check_path = absl::StrCat(db_dir, "/../", kKeyCheckFile);
  std::error_code ec;
  const bool exists = std::filesystem::exists(db_dir + "/CURRENT", ec);
  if (ec) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot read ", db_dir, ": ", ec.message()));
  }
  const bool encrypted = std::filesystem::exists(check_path, ec);
  if (ec) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot read ", check_path, ": ", ec.message()));
  }
  if (key_file.empty()) {
    if (encrypted) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the database in ", db_dir,
          " is encrypted: give its data key (--data-key-file, data_key_file, "
          "or COHORTLINK_DATA_KEY_FILE)"));
    }
    return nullptr;
  }
  if (exists && !encrypted) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the database in ", db_dir,
        " was created without encryption; a data key cannot be added to it "
        "in place (see docs/server.md, Encryption at rest)"));
  }
  RETURN_IF_ERROR(keys::CheckPrivateFile(key_file));
  ASSIGN_OR_RETURN(keys::SecretBytes secret, keys::LoadSecretFile(key_file));
  ASSIGN_OR_RETURN(keys::SecretBytes aes,
                   keys::Hkdf(keys::HashAlgorithm::kSha256, secret.view(),
                              "cohortlink data key", "aes-256-ctr", 32));
  ASSIGN_OR_RETURN(keys::SecretBytes check_key,
                   keys::Hkdf(keys::HashAlgorithm::kSha256, secret.view(),
                              "cohortlink data key", "key check", 32));
  ASSIGN_OR_RETURN(auto mac, keys::Hmac::Create(keys::HashAlgorithm::kSha256,
                                                check_key.view()));
  ASSIGN_OR_RETURN(std::string check, mac->Compute("cohortlink data key v1"));
  if (encrypted) {
    ASSIGN_OR_RETURN(std::string stored, util::ReadFile(check_path));
    if (!keys::ConstantTimeEquals(stored, check)) {
      return absl::PermissionDeniedError(absl::StrCat(
          "wrong data key: ", key_file, " is not the key the database in ",
          db_dir, " was encrypted with"));
    }
  } else {
    std::filesystem::create_directories(db_dir, ec);
    if (ec) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot create ", db_dir, ": ", ec.message()));
    }
    ASSIGN_OR_RETURN(auto f, util::AtomicFile::Create(check_path, 0600));
    RETURN_IF_ERROR(f->Write(check));
    RETURN_IF_ERROR(f->Commit());
  }
  auto cipher = std::make_shared<Aes256Cipher>(aes);
  if (!cipher->ok()) return absl::InternalError("AES-256 setup failed");
  auto provider = rocksdb::EncryptionProvider::NewCTRProvider(cipher);
  rocksdb::Env* env = rocksdb::NewEncryptedEnv(
      base != nullptr ? base : rocksdb::Env::Default(), provider);
  return std::unique_ptr<rocksdb::Env>(new OwningEnv(env, provider));
}

}  // namespace cohortlink::store
