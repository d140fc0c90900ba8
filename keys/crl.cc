#include "keys/crl.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "keys/openssl_error.h"
#include "keys/pki.h"
#include "keys/x509_util.h"
#include "util/atomic_file.h"
#include "util/status_macros.h"

namespace cohortlink::keys {
namespace {

using Crl = std::unique_ptr<X509_CRL, OpenSslFree>;

absl::StatusOr<Crl> ParseCrl(const std::string& pem, const std::string& what) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Crl crl(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
  if (!crl) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat(what, " is not a PEM CRL"));
  }
  return crl;
}

// OK when `crl` is signed by `ca`'s key and names it as issuer.
absl::Status CheckCrlIssuer(X509_CRL* crl, X509* ca, const std::string& what) {
  EVP_PKEY* key = X509_get0_pubkey(ca);
  if (key == nullptr || X509_CRL_verify(crl, key) != 1 ||
      X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca)) != 0) {
    ERR_clear_error();
    return absl::UnauthenticatedError(
        absl::StrCat(what, " is not signed by the CA"));
  }
  return absl::OkStatus();
}

uint64_t CrlNumber(X509_CRL* crl) {
  std::unique_ptr<ASN1_INTEGER, OpenSslFree> n(static_cast<ASN1_INTEGER*>(
      X509_CRL_get_ext_d2i(crl, NID_crl_number, nullptr, nullptr)));
  if (!n) return 0;
  return static_cast<uint64_t>(ASN1_INTEGER_get(n.get()));
}

}  // namespace

absl::StatusOr<std::string> CertificateSerial(const std::string& cert_pem) {
  ASSIGN_OR_RETURN(Cert cert, x509::ParseCert(cert_pem, "certificate"));
  return x509::SerialHex(cert.get());
}

absl::StatusOr<CrlInfo> UpdateCrl(const std::string& ca_dir,
                                  const std::string& serial_hex,
                                  const CrlOptions& o) {
  ASSIGN_OR_RETURN(x509::Ca ca, x509::LoadCa(ca_dir));
  const std::string path = absl::StrCat(ca_dir, "/", kCrlFile);
  Crl old;
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    ASSIGN_OR_RETURN(std::string pem, util::ReadFile(path));
    ASSIGN_OR_RETURN(old, ParseCrl(pem, path));
    RETURN_IF_ERROR(CheckCrlIssuer(old.get(), ca.cert.get(), path));
  }
  Crl crl(X509_CRL_new());
  if (!crl || X509_CRL_set_version(crl.get(), 1) != 1 ||
      X509_CRL_set_issuer_name(crl.get(),
                               X509_get_subject_name(ca.cert.get())) != 1) {
    return OpenSslError("CRL");
  }
  const time_t now = absl::ToTimeT(o.now);
  // Issued five minutes back, as certificates are, so that a server whose
  // clock is a little behind the CA's does not find the list not yet valid
  // (and refuse everyone).
  std::unique_ptr<ASN1_TIME, OpenSslFree> last(
      ASN1_TIME_adj(nullptr, now, 0, -300));
  std::unique_ptr<ASN1_TIME, OpenSslFree> next(
      ASN1_TIME_adj(nullptr, now, o.days, 0));
  if (!last || !next || X509_CRL_set1_lastUpdate(crl.get(), last.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), next.get()) != 1) {
    return OpenSslError("CRL times");
  }
  bool present = false;
  if (old) {
    STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(old.get());
    for (int i = 0; i < sk_X509_REVOKED_num(revoked); ++i) {
      X509_REVOKED* r = X509_REVOKED_dup(sk_X509_REVOKED_value(revoked, i));
      if (r == nullptr || X509_CRL_add0_revoked(crl.get(), r) != 1) {
        X509_REVOKED_free(r);
        return OpenSslError("CRL entry");
      }
      std::unique_ptr<BIGNUM, OpenSslFree> bn(
          ASN1_INTEGER_to_BN(X509_REVOKED_get0_serialNumber(r), nullptr));
      char* hex = bn ? BN_bn2hex(bn.get()) : nullptr;
      if (hex != nullptr &&
          absl::AsciiStrToLower(hex) == absl::AsciiStrToLower(serial_hex))
        present = true;
      OPENSSL_free(hex);
    }
  }
  if (!serial_hex.empty() && !present) {
    BIGNUM* raw = nullptr;
    if (BN_hex2bn(&raw, serial_hex.c_str()) !=
        static_cast<int>(serial_hex.size())) {
      BN_free(raw);
      return absl::InvalidArgumentError(absl::StrCat(
          "'", serial_hex, "' is not a certificate serial (hex digits)"));
    }
    std::unique_ptr<BIGNUM, OpenSslFree> bn(raw);
    std::unique_ptr<X509_REVOKED, OpenSslFree> r(X509_REVOKED_new());
    std::unique_ptr<ASN1_INTEGER, OpenSslFree> serial(
        BN_to_ASN1_INTEGER(bn.get(), nullptr));
    if (!r || !serial ||
        X509_REVOKED_set_serialNumber(r.get(), serial.get()) != 1 ||
        X509_REVOKED_set_revocationDate(r.get(), last.get()) != 1 ||
        X509_CRL_add0_revoked(crl.get(), r.get()) != 1) {
      return OpenSslError("CRL entry");
    }
    r.release();  // owned by the CRL
  }
  const uint64_t number = (old ? CrlNumber(old.get()) : 0) + 1;
  std::unique_ptr<ASN1_INTEGER, OpenSslFree> num(ASN1_INTEGER_new());
  if (!num || ASN1_INTEGER_set_uint64(num.get(), number) != 1 ||
      X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, num.get(), 0, 0) != 1 ||
      X509_CRL_sort(crl.get()) != 1 ||
      X509_CRL_sign(crl.get(), ca.key.get(), EVP_sha256()) == 0) {
    return OpenSslError("sign CRL");
  }
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_CRL(bio.get(), crl.get()) != 1)
    return OpenSslError("encode CRL");
  RETURN_IF_ERROR(
      x509::WriteFile(path, BioToString(bio.get()), 0644, /*overwrite=*/true));
  CrlInfo info;
  info.number = number;
  info.revoked =
      static_cast<size_t>(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl.get())));
  info.next_update = x509::FromAsn1Time(X509_CRL_get0_nextUpdate(crl.get()));
  return info;
}

absl::StatusOr<std::shared_ptr<const PeerVerifier>> PeerVerifier::Create(
    const std::string& ca_pem, const std::string& crl_pem) {
  ASSIGN_OR_RETURN(Cert ca, x509::ParseCert(ca_pem, "the CA certificate"));
  auto v = std::shared_ptr<PeerVerifier>(new PeerVerifier());
  v->store_ = X509_STORE_new();
  if (v->store_ == nullptr || X509_STORE_add_cert(v->store_, ca.get()) != 1)
    return OpenSslError("certificate store");
  v->ca_not_after_ = x509::NotAfter(ca.get());
  if (!crl_pem.empty()) {
    ASSIGN_OR_RETURN(Crl crl, ParseCrl(crl_pem, "the CRL"));
    RETURN_IF_ERROR(CheckCrlIssuer(crl.get(), ca.get(), "the CRL"));
    if (X509_STORE_add_crl(v->store_, crl.get()) != 1)
      return OpenSslError("add CRL");
    X509_STORE_set_flags(v->store_, X509_V_FLAG_CRL_CHECK);
    v->has_crl_ = true;
    v->revoked_ = static_cast<size_t>(
        sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl.get())));
    v->next_update_ = x509::FromAsn1Time(X509_CRL_get0_nextUpdate(crl.get()));
  }
  return std::shared_ptr<const PeerVerifier>(std::move(v));
}

PeerVerifier::~PeerVerifier() { X509_STORE_free(store_); }

namespace {

// A CRL past its next update still says which certificates are revoked;
// the server warns of it instead of refusing everyone.
int AcceptExpiredCrl(int ok, X509_STORE_CTX* ctx) {
  if (!ok && X509_STORE_CTX_get_error(ctx) == X509_V_ERR_CRL_HAS_EXPIRED)
    return 1;
  return ok;
}

}  // namespace

PeerVerifier::Outcome PeerVerifier::Verify(const std::string& cert_pem,
                                           absl::Time now) const {
  Outcome out;
  auto cert = x509::ParseCert(cert_pem, "the client certificate");
  if (!cert.ok()) {
    out.refusal = Refusal::kMalformed;
    out.message = std::string(cert.status().message());
    return out;
  }
  out.spiffe_id = x509::SubjectNames(cert->get()).spiffe_id;
  out.serial = x509::SerialHex(cert->get());
  std::unique_ptr<X509_STORE_CTX, OpenSslFree> ctx(X509_STORE_CTX_new());
  if (!ctx ||
      X509_STORE_CTX_init(ctx.get(), store_, cert->get(), nullptr) != 1 ||
      X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_CLIENT) != 1) {
    ERR_clear_error();
    out.refusal = Refusal::kMalformed;
    out.message = "cannot set up certificate verification";
    return out;
  }
  X509_STORE_CTX_set_time(ctx.get(), 0, absl::ToTimeT(now));
  X509_STORE_CTX_set_verify_cb(ctx.get(), AcceptExpiredCrl);
  if (X509_verify_cert(ctx.get()) == 1) return out;
  const int err = X509_STORE_CTX_get_error(ctx.get());
  ERR_clear_error();
  switch (err) {
    case X509_V_ERR_CERT_REVOKED:
      out.refusal = Refusal::kRevoked;
      break;
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
      out.refusal = Refusal::kExpired;
      break;
    default:
      out.refusal = Refusal::kUntrusted;
  }
  out.message = absl::StrCat(
      "client certificate ",
      out.spiffe_id.empty() ? "(no spiffe id)" : out.spiffe_id, " serial ",
      out.serial, " refused: ", X509_verify_cert_error_string(err));
  return out;
}

const char* RefusalName(PeerVerifier::Refusal r) {
  switch (r) {
    case PeerVerifier::Refusal::kNone:
      return "none";
    case PeerVerifier::Refusal::kRevoked:
      return "revoked";
    case PeerVerifier::Refusal::kExpired:
      return "expired";
    case PeerVerifier::Refusal::kUntrusted:
      return "untrusted";
    case PeerVerifier::Refusal::kMalformed:
      return "malformed";
  }
  return "unknown";
}

}  // namespace cohortlink::keys
