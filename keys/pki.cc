#include "keys/pki.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <filesystem>
#include <memory>

#include "absl/strings/str_cat.h"
#include "keys/openssl_error.h"
#include "keys/openssl_handles.h"
#include "keys/spiffe.h"
#include "util/atomic_file.h"
#include "util/status_macros.h"

namespace cohortlink::keys {
namespace {

using Free = OpenSslFree;
using Cert = std::unique_ptr<X509, Free>;
using Ext = std::unique_ptr<X509_EXTENSION, Free>;

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
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  ASN1_INTEGER* s = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  if (s == nullptr) return OpenSslError("serial");
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
                       unsigned mode) {
  ASSIGN_OR_RETURN(auto f,
                   util::AtomicFile::Create(path, mode, /*overwrite=*/false));
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

}  // namespace

absl::Status InitCa(const std::string& dir, const CaOptions& o) {
  std::string cert_path = absl::StrCat(dir, "/", kCaCertFile);
  std::string key_path = absl::StrCat(dir, "/", kCaKeyFile);
  std::error_code ec;
  if (std::filesystem::exists(cert_path, ec) ||
      std::filesystem::exists(key_path, ec)) {
    return absl::AlreadyExistsError(
        absl::StrCat(dir, " already holds a CA (refusing to overwrite)"));
  }
  RETURN_IF_ERROR(MakeDir(dir));
  ASSIGN_OR_RETURN(PKey key, NewP256Key());
  ASSIGN_OR_RETURN(Cert cert, NewCert(key.get(), o.common_name, o.now, o.days));
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get())) !=
      1) {
    return OpenSslError("issuer");
  }
  RETURN_IF_ERROR(AddExt(cert.get(), cert.get(), NID_basic_constraints,
                         "critical,CA:TRUE,pathlen:0"));
  RETURN_IF_ERROR(AddExt(cert.get(), cert.get(), NID_key_usage,
                         "critical,keyCertSign,cRLSign"));
  RETURN_IF_ERROR(
      AddExt(cert.get(), cert.get(), NID_subject_key_identifier, "hash"));
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0)
    return OpenSslError("sign CA");
  ASSIGN_OR_RETURN(std::string key_pem, KeyPem(key.get()));
  ASSIGN_OR_RETURN(std::string cert_pem, CertPem(cert.get()));
  RETURN_IF_ERROR(WriteFile(key_path, key_pem, 0600));
  OPENSSL_cleanse(key_pem.data(), key_pem.size());
  return WriteFile(cert_path, cert_pem, 0644);
}

absl::Status IssueCertificate(const std::string& ca_dir, const IssueOptions& o,
                              const std::string& out_dir) {
  ASSIGN_OR_RETURN(Identity id, ParseSpiffeId(o.spiffe_id));
  ASSIGN_OR_RETURN(std::string ca_pem,
                   util::ReadFile(absl::StrCat(ca_dir, "/", kCaCertFile)));
  ASSIGN_OR_RETURN(std::string ca_key_pem,
                   util::ReadFile(absl::StrCat(ca_dir, "/", kCaKeyFile)));
  ASSIGN_OR_RETURN(Cert ca,
                   ParseCert(ca_pem, absl::StrCat(ca_dir, "/", kCaCertFile)));
  auto ca_key = ParseKey(ca_key_pem, absl::StrCat(ca_dir, "/", kCaKeyFile));
  OPENSSL_cleanse(ca_key_pem.data(), ca_key_pem.size());
  if (!ca_key.ok()) return ca_key.status();
  for (const char* f : {kCertFile, kKeyFile, kCaCertFile}) {
    std::error_code ec;
    if (std::filesystem::exists(absl::StrCat(out_dir, "/", f), ec)) {
      return absl::AlreadyExistsError(absl::StrCat(
          out_dir, "/", f, " already exists (refusing to overwrite)"));
    }
  }
  RETURN_IF_ERROR(MakeDir(out_dir));
  ASSIGN_OR_RETURN(PKey key, NewP256Key());
  std::string cn = id.kind == Identity::Kind::kServer
                       ? id.name
                       : absl::StrCat(id.name, " (", RoleName(id.role), ")");
  ASSIGN_OR_RETURN(Cert cert, NewCert(key.get(), cn, o.now, o.days));
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.get())) != 1) {
    return OpenSslError("issuer");
  }
  std::string san = absl::StrCat("URI:", id.ToString());
  for (const auto& d : o.dns) absl::StrAppend(&san, ",DNS:", d);
  for (const auto& ip : o.ips) absl::StrAppend(&san, ",IP:", ip);
  RETURN_IF_ERROR(
      AddExt(cert.get(), ca.get(), NID_subject_alt_name, san.c_str()));
  RETURN_IF_ERROR(
      AddExt(cert.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE"));
  RETURN_IF_ERROR(
      AddExt(cert.get(), ca.get(), NID_key_usage, "critical,digitalSignature"));
  RETURN_IF_ERROR(
      AddExt(cert.get(), ca.get(), NID_ext_key_usage, "serverAuth,clientAuth"));
  RETURN_IF_ERROR(AddExt(cert.get(), ca.get(), NID_authority_key_identifier,
                         "keyid:always"));
  if (X509_sign(cert.get(), ca_key->get(), EVP_sha256()) == 0)
    return OpenSslError("sign certificate");
  ASSIGN_OR_RETURN(std::string key_pem, KeyPem(key.get()));
  ASSIGN_OR_RETURN(std::string cert_pem, CertPem(cert.get()));
  RETURN_IF_ERROR(
      WriteFile(absl::StrCat(out_dir, "/", kKeyFile), key_pem, 0600));
  OPENSSL_cleanse(key_pem.data(), key_pem.size());
  RETURN_IF_ERROR(
      WriteFile(absl::StrCat(out_dir, "/", kCertFile), cert_pem, 0644));
  return WriteFile(absl::StrCat(out_dir, "/", kCaCertFile), ca_pem, 0644);
}

absl::Status CheckPrivateFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return absl::NotFoundError(absl::StrCat(path, ": not found"));
  if ((st.st_mode & 077) != 0) {
    return absl::PermissionDeniedError(absl::StrCat(
        path, " is readable by group or others; run: chmod 600 ", path));
  }
  return absl::OkStatus();
}

TlsFiles::~TlsFiles() { OPENSSL_cleanse(key_pem.data(), key_pem.size()); }

absl::StatusOr<TlsFiles> LoadTlsDir(const std::string& dir) {
  std::string key_path = absl::StrCat(dir, "/", kKeyFile);
  if (absl::Status s = CheckPrivateFile(key_path); !s.ok()) {
    if (absl::IsNotFound(s)) {
      return absl::NotFoundError(
          absl::StrCat(key_path,
                       ": not found (a --tls directory holds "
                       "ca.pem, cert.pem and key.pem)"));
    }
    return s;
  }
  TlsFiles f;
  ASSIGN_OR_RETURN(f.ca_pem,
                   util::ReadFile(absl::StrCat(dir, "/", kCaCertFile)));
  ASSIGN_OR_RETURN(f.cert_pem,
                   util::ReadFile(absl::StrCat(dir, "/", kCertFile)));
  ASSIGN_OR_RETURN(f.key_pem, util::ReadFile(key_path));
  return f;
}

absl::StatusOr<std::string> CertificateSpiffeId(const std::string& cert_pem) {
  ASSIGN_OR_RETURN(Cert cert, ParseCert(cert_pem, "certificate"));
  std::unique_ptr<GENERAL_NAMES, Free> names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr)));
  if (names) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
      const GENERAL_NAME* n = sk_GENERAL_NAME_value(names.get(), i);
      if (n->type != GEN_URI) continue;
      const ASN1_IA5STRING* uri = n->d.uniformResourceIdentifier;
      std::string s(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                    static_cast<size_t>(ASN1_STRING_length(uri)));
      if (s.rfind("spiffe://", 0) == 0) return s;
    }
  }
  return absl::NotFoundError("certificate has no spiffe:// URI SAN");
}

absl::Status VerifyCertificate(const std::string& ca_pem,
                               const std::string& cert_pem, absl::Time at) {
  ASSIGN_OR_RETURN(Cert ca, ParseCert(ca_pem, "CA certificate"));
  ASSIGN_OR_RETURN(Cert cert, ParseCert(cert_pem, "certificate"));
  std::unique_ptr<X509_STORE, Free> store(X509_STORE_new());
  std::unique_ptr<X509_STORE_CTX, Free> ctx(X509_STORE_CTX_new());
  if (!store || !ctx || X509_STORE_add_cert(store.get(), ca.get()) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr) != 1) {
    return OpenSslError("verification setup");
  }
  X509_STORE_CTX_set_time(ctx.get(), 0, absl::ToTimeT(at));
  if (X509_verify_cert(ctx.get()) != 1) {
    return absl::UnauthenticatedError(absl::StrCat(
        "certificate does not verify: ",
        X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()))));
  }
  return absl::OkStatus();
}

}  // namespace cohortlink::keys
