#ifndef COHORTLINK_SERVER_PEER_CHECK_H_
#define COHORTLINK_SERVER_PEER_CHECK_H_

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "keys/crl.h"

namespace cohortlink::server {

// The server's check of every client certificate at the TLS handshake
// (keys::PeerVerifier: the CA in the --tls directory, and the CRL file when
// one is configured), reloadable while serving. A reload that fails keeps
// the last good state, so a damaged CRL file never opens the server to a
// revoked identity. Refusals are counted by reason and logged with the
// certificate's identity and serial (at most 10 lines a second).
// Thread-safe.
class PeerCheck {
 public:
  static absl::StatusOr<std::unique_ptr<PeerCheck>> Create(
      std::string ca_file, std::string crl_file,
      std::function<absl::Time()> now = [] { return absl::Now(); });

  // Reads the CA and the CRL again (SIGHUP); the error when they do not
  // load, the last good state staying in force.
  absl::Status Reload() ABSL_LOCKS_EXCLUDED(mu_);
  // Reload() when the CRL or CA file changed since the last load (its
  // modification time, size or inode): true when it reloaded, false when
  // nothing changed.
  absl::StatusOr<bool> ReloadIfChanged() ABSL_LOCKS_EXCLUDED(mu_);

  keys::PeerVerifier::Outcome Verify(const std::string& cert_pem)
      ABSL_LOCKS_EXCLUDED(mu_);

  struct Stats {
    uint64_t refused_revoked = 0, refused_expired = 0, refused_untrusted = 0,
             refused_malformed = 0;
    uint64_t reload_failures = 0;
    bool has_crl = false;
    size_t revoked = 0;
    absl::Time crl_next_update = absl::InfiniteFuture();
    absl::Time ca_not_after = absl::InfiniteFuture();
  };
  Stats stats() const ABSL_LOCKS_EXCLUDED(mu_);
  const std::string& crl_file() const { return crl_file_; }

 private:
  struct FileId {
    time_t mtime_sec = 0;
    long mtime_nsec = 0;
    off_t size = -1;
    ino_t inode = 0;
    bool operator==(const FileId&) const = default;
  };
  static FileId Identify(const std::string& path);
  PeerCheck(std::string ca_file, std::string crl_file,
            std::function<absl::Time()> now)
      : ca_file_(std::move(ca_file)),
        crl_file_(std::move(crl_file)),
        now_(std::move(now)) {}
  const std::string ca_file_, crl_file_;
  const std::function<absl::Time()> now_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const keys::PeerVerifier> verifier_ ABSL_GUARDED_BY(mu_);
  FileId ca_id_ ABSL_GUARDED_BY(mu_), crl_id_ ABSL_GUARDED_BY(mu_);
  uint64_t reload_failures_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<uint64_t> refused_[5] = {};  // by keys::PeerVerifier::Refusal
  // The refusal log's rate limit.
  int64_t log_second_ ABSL_GUARDED_BY(mu_) = -1;
  int logged_this_second_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace cohortlink::server

#endif  // COHORTLINK_SERVER_PEER_CHECK_H_
