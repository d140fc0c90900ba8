#ifndef COHORTLINK_KEYS_CRL_H_
#define COHORTLINK_KEYS_CRL_H_

// Certificate revocation: the CA's revocation list (CA_DIR/crl.pem, an
// X.509 CRL signed by the CA key), and the check the server makes of every
// client certificate at the TLS handshake (docs/operations.md,
// Certificates).

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

typedef struct x509_store_st X509_STORE;

namespace cohortlink::keys {

struct CrlOptions {
  int days = 30;  // the list's next update: `now` + days
  absl::Time now = absl::Now();
};

struct CrlInfo {
  uint64_t number = 0;  // the CRL number, raised by every update
  size_t revoked = 0;
  absl::Time next_update;
};

// Adds `serial_hex` (a certificate's serial, as `CertificateSerial` gives
// it) to the CA's CRL in `ca_dir`, creating the list when there is none,
// and signs it again with a raised CRL number. An existing list is checked
// against the CA first. An empty serial only re-signs: a CRL is refreshed
// before its next update.
absl::StatusOr<CrlInfo> UpdateCrl(const std::string& ca_dir,
                                  const std::string& serial_hex,
                                  const CrlOptions& options = {});

// The serial number of a PEM certificate, lowercase hex.
absl::StatusOr<std::string> CertificateSerial(const std::string& cert_pem);

// What the server checks of a client certificate: it chains to the CA, is
// valid now, may be used for client authentication, and is not on the CRL.
// Immutable and thread-safe; the server swaps in a new one to reload.
class PeerVerifier {
 public:
  // `crl_pem` empty: no revocation list. A CRL must be signed by the CA;
  // one past its next update is still enforced (and reported: the server
  // warns, see crl_next_update()).
  static absl::StatusOr<std::shared_ptr<const PeerVerifier>> Create(
      const std::string& ca_pem, const std::string& crl_pem);
  ~PeerVerifier();
  PeerVerifier(const PeerVerifier&) = delete;
  PeerVerifier& operator=(const PeerVerifier&) = delete;

  // Why a certificate is refused, for metrics.
  enum class Refusal { kNone, kRevoked, kExpired, kUntrusted, kMalformed };
  struct Outcome {
    Refusal refusal = Refusal::kNone;
    std::string message;    // for the log and the peer; no key material
    std::string spiffe_id;  // the certificate's identity, when it has one
    std::string serial;
  };
  Outcome Verify(const std::string& cert_pem, absl::Time now) const;

  bool has_crl() const { return has_crl_; }
  size_t revoked() const { return revoked_; }
  absl::Time crl_next_update() const { return next_update_; }
  absl::Time ca_not_after() const { return ca_not_after_; }

 private:
  PeerVerifier() = default;
  X509_STORE* store_ = nullptr;
  bool has_crl_ = false;
  size_t revoked_ = 0;
  absl::Time next_update_ = absl::InfiniteFuture();
  absl::Time ca_not_after_ = absl::InfiniteFuture();
};

const char* RefusalName(PeerVerifier::Refusal r);  // "revoked", ...

}  // namespace cohortlink::keys

#endif  // COHORTLINK_KEYS_CRL_H_
