#include "server/peer_check.h"

#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "server/log.h"
#include "util/atomic_file.h"
#include "util/status_macros.h"
#include "util/text.h"

namespace cohortlink::server {

PeerCheck::FileId PeerCheck::Identify(const std::string& path) {
  FileId id;
  struct stat st;
  if (path.empty() || ::stat(path.c_str(), &st) != 0) return id;
  id.mtime_sec = st.st_mtim.tv_sec;
  id.mtime_nsec = st.st_mtim.tv_nsec;
  id.size = st.st_size;
  id.inode = st.st_ino;
  return id;
}

absl::StatusOr<std::unique_ptr<PeerCheck>> PeerCheck::Create(
    std::string ca_file, std::string crl_file,
    std::function<absl::Time()> now) {
  auto check = std::unique_ptr<PeerCheck>(
      new PeerCheck(std::move(ca_file), std::move(crl_file), std::move(now)));
  RETURN_IF_ERROR(check->Reload());
  return check;
}

absl::Status PeerCheck::Reload() {
  // Identify before reading: a change during the read is seen next time.
  const FileId ca_id = Identify(ca_file_);
  const FileId crl_id = Identify(crl_file_);
  auto load =
      [&]() -> absl::StatusOr<std::shared_ptr<const keys::PeerVerifier>> {
    ASSIGN_OR_RETURN(std::string ca, util::ReadFile(ca_file_));
    std::string crl;
    if (!crl_file_.empty()) {
      ASSIGN_OR_RETURN(crl, util::ReadFile(crl_file_));
    }
    return keys::PeerVerifier::Create(ca, crl);
  };
  auto loaded = load();
  absl::MutexLock lock(&mu_);
  ca_id_ = ca_id;
  crl_id_ = crl_id;
  if (!loaded.ok()) {
    ++reload_failures_;
    return absl::Status(
        loaded.status().code(),
        absl::StrCat("loading the CA and CRL: ", loaded.status().message(),
                     verifier_ ? "; the last good CRL stays in force" : ""));
  }
  verifier_ = *std::move(loaded);
  return absl::OkStatus();
}

absl::StatusOr<bool> PeerCheck::ReloadIfChanged() {
  {
    absl::MutexLock lock(&mu_);
    if (Identify(ca_file_) == ca_id_ && Identify(crl_file_) == crl_id_)
      return false;
  }
  RETURN_IF_ERROR(Reload());
  return true;
}

keys::PeerVerifier::Outcome PeerCheck::Verify(const std::string& cert_pem) {
  std::shared_ptr<const keys::PeerVerifier> v;
  {
    absl::MutexLock lock(&mu_);
    v = verifier_;
  }
  keys::PeerVerifier::Outcome out = v->Verify(cert_pem, now_());
  if (out.refusal == keys::PeerVerifier::Refusal::kNone) return out;
  refused_[static_cast<int>(out.refusal)].fetch_add(1);
  bool log = false;
  {
    absl::MutexLock lock(&mu_);
    const int64_t second = absl::ToUnixSeconds(now_());
    if (second != log_second_) {
      log_second_ = second;
      logged_this_second_ = 0;
    }
    log = ++logged_this_second_ <= 10;
  }
  if (log) {
    Log(LogLevel::kWarning, "TLS handshake refused",
        {{"reason", keys::RefusalName(out.refusal)},
         {"identity", util::Printable(out.spiffe_id)},
         {"serial", out.serial},
         {"detail", out.message}});
  }
  return out;
}

PeerCheck::Stats PeerCheck::stats() const {
  Stats s;
  using R = keys::PeerVerifier::Refusal;
  s.refused_revoked = refused_[static_cast<int>(R::kRevoked)].load();
  s.refused_expired = refused_[static_cast<int>(R::kExpired)].load();
  s.refused_untrusted = refused_[static_cast<int>(R::kUntrusted)].load();
  s.refused_malformed = refused_[static_cast<int>(R::kMalformed)].load();
  absl::MutexLock lock(&mu_);
  s.reload_failures = reload_failures_;
  if (verifier_) {
    s.has_crl = verifier_->has_crl();
    s.revoked = verifier_->revoked();
    s.crl_next_update = verifier_->crl_next_update();
    s.ca_not_after = verifier_->ca_not_after();
  }
  return s;
}

}  // namespace cohortlink::server
