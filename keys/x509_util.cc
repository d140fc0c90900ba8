#include "keys/x509_util.h"

#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "keys/openssl_error.h"
#include "keys/pki.h"
#include "util/atomic_file.h"
#include "util/status_macros.h"

namespace cohortlink::keys::x509 {

using Ext = std::unique_ptr<X509_EXTENSION, OpenSslFree>;

absl::StatusOr<PKey> NewP256Key() {
  PKey key(EVP_EC_gen("P-256"));
  if (!key) return OpenSslError("generate P-256 key");
  return key;
}

absl::StatusOr<std::string> KeyPem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0,
                                       nullptr, nullptr) != 1) {
    return OpenSslError("encode private key");
  }
  std::string pem = BioToString(bio.get());
  return pem;
}

absl::StatusOr<std::string> CertPem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1)
    return OpenSslError("encode certificate");
  return BioToString(bio.get());
}

absl::StatusOr<Cert> ParseCert(const std::string& pem,
                               const std::string& what) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Cert cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert)
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is not a PEM certificate"));
  return cert;
}

absl::StatusOr<PKey> ParseKey(const std::string& pem, const std::string& what) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PKey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key)
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is not a PEM private key"));
  return key;
}

absl::Status AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  Ext ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return OpenSslError(absl::StrCat("add extension ", OBJ_nid2sn(nid)));
  }
  return absl::OkStatus();
}

absl::StatusOr<Cert> NewCert(EVP_PKEY* key, const std::string& cn,
                             absl::Time now, int days) {
  Cert cert(X509_new());
  if (!cert) return OpenSslError("X509_new");
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return OpenSslError("serial");
  serial[0] &= 0x7f;  // positive
  serial[0] |= 0x01;  // and never with a leading zero byte
  std::unique_ptr<BIGNUM, OpenSslFree> bn(
      BN_bin2bn(serial, sizeof serial, nullptr));
  if (!bn || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())) ==
                 nullptr)
    return OpenSslError("serial");
  time_t t = absl::ToTimeT(now);
  if (X509_set_version(cert.get(), 2) != 1 ||
      ASN1_TIME_adj(X509_getm_notBefore(cert.get()), t, 0, -300) == nullptr ||
      ASN1_TIME_adj(X509_getm_notAfter(cert.get()), t, days, 0) == nullptr ||
      X509_set_pubkey(cert.get(), key) != 1) {
    return OpenSslError("certificate fields");
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(
          name, "CN", MBSTRING_UTF8,
          reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0) != 1) {
    return OpenSslError("subject name");
  }
  return cert;
}

absl::Status WriteFile(const std::string& path, const std::string& data,
                       unsigned mode, bool overwrite) {
  ASSIGN_OR_RETURN(auto f, util::AtomicFile::Create(path, mode, overwrite));
  RETURN_IF_ERROR(f->Write(data));
  return f->Commit();
}

absl::Status MakeDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create ", dir, ": ", ec.message()));
  return absl::OkStatus();
}

std::string SerialHex(const X509* cert) {
  std::unique_ptr<BIGNUM, OpenSslFree> bn(
      ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  if (!bn) return "";
  char* hex = BN_bn2hex(bn.get());
  std::string out = hex == nullptr ? "" : absl::AsciiStrToLower(hex);
  OPENSSL_free(hex);
  return out;
}

absl::Time FromAsn1Time(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return absl::InfinitePast();
  return absl::FromTM(tm, absl::UTCTimeZone());
}

absl::Time NotAfter(const X509* cert) {
  return FromAsn1Time(X509_get0_notAfter(cert));
}

absl::StatusOr<Ca> LoadCa(const std::string& ca_dir) {
  Ca ca;
  ASSIGN_OR_RETURN(ca.cert_pem,
                   util::ReadFile(absl::StrCat(ca_dir, "/", kCaCertFile)));
  ASSIGN_OR_RETURN(
      ca.cert, ParseCert(ca.cert_pem, absl::StrCat(ca_dir, "/", kCaCertFile)));
  ASSIGN_OR_RETURN(ca.key,
                   LoadPrivateKey(absl::StrCat(ca_dir, "/", kCaKeyFile)));
  return ca;
}

absl::StatusOr<PKey> LoadPrivateKey(const std::string& path) {
  RETURN_IF_ERROR(CheckPrivateFile(path));
  ASSIGN_OR_RETURN(std::string pem, util::ReadFile(path));
  auto key = ParseKey(pem, path);
  OPENSSL_cleanse(pem.data(), pem.size());
  return key;
}

Names SubjectNames(const X509* cert) {
  Names out;
  std::unique_ptr<GENERAL_NAMES, OpenSslFree> names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names.get(), i);
    if (n->type == GEN_URI || n->type == GEN_DNS) {
      const ASN1_IA5STRING* v =
          n->type == GEN_URI ? n->d.uniformResourceIdentifier : n->d.dNSName;
      std::string s(reinterpret_cast<const char*>(ASN1_STRING_get0_data(v)),
                    static_cast<size_t>(ASN1_STRING_length(v)));
      if (n->type == GEN_DNS) {
        out.dns.push_back(std::move(s));
      } else if (s.rfind("spiffe://", 0) == 0 && out.spiffe_id.empty()) {
        out.spiffe_id = std::move(s);
      }
    } else if (n->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = n->d.iPAddress;
      char buf[INET6_ADDRSTRLEN] = {};
      int len = ASN1_STRING_length(ip);
      if ((len == 4 || len == 16) &&
          inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(ip),
                    buf, sizeof buf) != nullptr) {
        out.ips.push_back(buf);
      }
    }
  }
  return out;
}

}  // namespace cohortlink::keys::x509
