#ifndef COHORTLINK_KEYS_X509_UTIL_H_
#define COHORTLINK_KEYS_X509_UTIL_H_

// What keys/pki.cc and keys/crl.cc share of OpenSSL's X.509 API
// (internal to keys/).

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "keys/openssl_handles.h"

namespace cohortlink::keys::x509 {

absl::StatusOr<PKey> NewP256Key();
absl::StatusOr<std::string> KeyPem(EVP_PKEY* key);
absl::StatusOr<std::string> CertPem(X509* cert);
absl::StatusOr<Cert> ParseCert(const std::string& pem, const std::string& what);
absl::StatusOr<PKey> ParseKey(const std::string& pem, const std::string& what);
absl::Status AddExt(X509* cert, X509* issuer, int nid, const char* value);
// A version-3 certificate for `key` with a random positive 127-bit serial,
// valid from five minutes before `now` for `days`, subject CN `cn`.
absl::StatusOr<Cert> NewCert(EVP_PKEY* key, const std::string& cn,
                             absl::Time now, int days);
// Writes `data` to `path` atomically; refuses to overwrite unless asked.
absl::Status WriteFile(const std::string& path, const std::string& data,
                       unsigned mode, bool overwrite = false);
absl::Status MakeDir(const std::string& dir);
// A certificate's serial number as lowercase hex, and its expiry.
std::string SerialHex(const X509* cert);
absl::Time NotAfter(const X509* cert);
absl::Time FromAsn1Time(const ASN1_TIME* t);

// A private key file (PEM) that passes CheckPrivateFile; the PEM text is
// wiped once parsed.
absl::StatusOr<PKey> LoadPrivateKey(const std::string& path);

// The CA of a CA directory: its certificate (PEM and parsed) and key.
struct Ca {
  std::string cert_pem;
  Cert cert;
  PKey key;
};
absl::StatusOr<Ca> LoadCa(const std::string& ca_dir);

// The subject alternative names of a certificate.
struct Names {
  std::string spiffe_id;
  std::vector<std::string> dns, ips;
};
Names SubjectNames(const X509* cert);

}  // namespace cohortlink::keys::x509

#endif  // COHORTLINK_KEYS_X509_UTIL_H_
