#include "keys/secret.h"

#include <openssl/crypto.h>

#include "absl/strings/str_cat.h"
#include "keys/random.h"
#include "util/atomic_file.h"
#include "util/status_macros.h"
#include "util/text.h"

namespace cohortlink::keys {

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : bytes_(std::move(other.bytes_)) {
  other.Wipe();
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Wipe();
    bytes_ = std::move(other.bytes_);
    other.Wipe();
  }
  return *this;
}

SecretBytes::~SecretBytes() { Wipe(); }

void SecretBytes::Wipe() {
  if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
  bytes_.clear();
  bytes_.shrink_to_fit();
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

absl::StatusOr<SecretBytes> LoadSecretFile(const std::string& path) {
  auto contents = util::ReadFile(path);
  if (!contents.ok()) {
    return absl::Status(
        contents.status().code(),
        absl::StrCat("secret file ", path, ": ",
                     contents.status().code() == absl::StatusCode::kNotFound
                         ? "not found"
                         : "cannot be read"));
  }
  SecretBytes secret(std::move(*contents));
  std::string* s = secret.mutable_bytes();
  if (!s->empty() && s->back() == '\n') {
    s->pop_back();
    if (!s->empty() && s->back() == '\r') s->pop_back();
  }
  if (s->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("secret file ", path, " is empty"));
  }
  return secret;
}

absl::StatusOr<SecretBytes> GenerateSecret() {
  ASSIGN_OR_RETURN(SecretBytes raw, RandomBytes(32));
  return SecretBytes(util::Base64UrlEncode(raw.view()));
}

absl::Status WriteSecretFile(const std::string& path,
                             const SecretBytes& secret) {
  ASSIGN_OR_RETURN(auto file,
                   util::AtomicFile::Create(path, 0600, /*overwrite=*/false));
  RETURN_IF_ERROR(file->Write(secret.view()));
  RETURN_IF_ERROR(file->Write("\n"));
  return file->Commit();
}

}  // namespace cohortlink::keys
