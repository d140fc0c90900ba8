#ifndef COHORTLINK_KEYS_PKI_H_
#define COHORTLINK_KEYS_PKI_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace cohortlink::keys {

// File names inside a CA directory and inside a `--tls DIR`.
inline constexpr char kCaCertFile[] = "ca.pem";
inline constexpr char kCaKeyFile[] = "ca-key.pem";
inline constexpr char kCertFile[] = "cert.pem";
inline constexpr char kKeyFile[] = "key.pem";
inline constexpr char kCsrFile[] = "request.csr";
// In the CA directory: the certificate revocation list (keys/crl.h).
inline constexpr char kCrlFile[] = "crl.pem";
// Leaf certificates are short-lived: renew them (RenewCertificate, or a new
// request) before they expire; `status` warns an admin 30 days ahead.
inline constexpr int kDefaultCertificateDays = 90;

struct CaOptions {
  std::string common_name = "cohortlink CA";
  int days = 3650;
  absl::Time now = absl::Now();
};

// Creates a certificate authority in `dir`: an ECDSA P-256 key (written
// 0600) and a self-signed CA certificate. Refuses (ALREADY_EXISTS) when
// `dir` already holds a CA.
absl::Status InitCa(const std::string& dir, const CaOptions& options = {});

struct IssueOptions {
  std::string spiffe_id;         // required; see keys/spiffe.h
  std::vector<std::string> dns;  // extra DNS SANs (servers)
  std::vector<std::string> ips;  // extra IP SANs (servers)
  int days = kDefaultCertificateDays;
  absl::Time now = absl::Now();
};

// Issues a certificate for `options.spiffe_id` signed by the CA in
// `ca_dir`, and writes `out_dir`/{ca.pem, cert.pem, key.pem} (key 0600):
// the layout every `--tls DIR` flag reads. The certificate is usable for
// both TLS client and server authentication. Refuses to overwrite.
absl::Status IssueCertificate(const std::string& ca_dir,
                              const IssueOptions& options,
                              const std::string& out_dir);

struct CsrOptions {
  std::string spiffe_id;         // the identity asked for
  std::vector<std::string> dns;  // servers
  std::vector<std::string> ips;
};

// On the requester's machine: writes `dir`/request.csr, a certificate
// signing request for `options.spiffe_id` signed by `dir`/key.pem. The key
// is created (P-256, 0600) when `dir` has none, and kept when it has one
// (a renewal); it never leaves `dir`.
absl::Status CreateCsr(const std::string& dir, const CsrOptions& options);

// At the CA: checks the request's own signature and that it asks for no
// identity but `options.spiffe_id`, and returns a certificate (PEM) for its
// key with `options`' identity, names and lifetime. The identity and names
// are the CA's decision, not the request's.
absl::StatusOr<std::string> SignCsr(const std::string& ca_dir,
                                    const std::string& csr_pem,
                                    const IssueOptions& options);

// Puts `cert_pem` into the `--tls DIR` `dir` as cert.pem (replacing one
// there: a renewal) with `ca_pem` as ca.pem, once the certificate verifies
// against the CA and is for `dir`/key.pem. Atomic per file.
absl::Status InstallCertificate(const std::string& dir,
                                const std::string& cert_pem,
                                const std::string& ca_pem);

// Renews the certificate in `dir` in place: the same key, identity and
// names, valid `days` from `now`. Returns the identity.
absl::StatusOr<std::string> RenewCertificate(const std::string& ca_dir,
                                             const std::string& dir, int days,
                                             absl::Time now = absl::Now());

// The three PEM files of a `--tls DIR`.
struct TlsFiles {
  std::string ca_pem, cert_pem, key_pem;
  ~TlsFiles();
};

// Reads DIR/{ca.pem, cert.pem, key.pem}. Refuses (PERMISSION_DENIED) a
// key.pem that group or others can read, naming the file and the fix.
absl::StatusOr<TlsFiles> LoadTlsDir(const std::string& dir);

// OK when `path` exists and is readable by its owner only, or, for a file
// root owns, by its owner and group at most (mode 0640 or less, as a
// Kubernetes Secret is mounted); NOT_FOUND or PERMISSION_DENIED (with the
// chmod to run) otherwise. Every private key the server loads passes this
// check.
absl::Status CheckPrivateFile(const std::string& path);

// The SPIFFE URI SAN of a PEM certificate (NOT_FOUND if it has none).
absl::StatusOr<std::string> CertificateSpiffeId(const std::string& cert_pem);

// When a PEM certificate expires.
absl::StatusOr<absl::Time> CertificateNotAfter(const std::string& cert_pem);

// Verifies `cert_pem` against the CA certificate `ca_pem` at `at`.
absl::Status VerifyCertificate(const std::string& ca_pem,
                               const std::string& cert_pem,
                               absl::Time at = absl::Now());

}  // namespace cohortlink::keys

#endif  // COHORTLINK_KEYS_PKI_H_
