#include "keys/pki.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
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
#include "keys/x509_util.h"
#include "util/atomic_file.h"
#include "util/status_macros.h"

namespace cohortlink::keys {
namespace {

using namespace x509;  // NOLINT: this file's vocabulary
using Free = OpenSslFree;

// A leaf certificate for `public_key` naming `names` (its SPIFFE id
// already checked), signed by `ca`: client and server authentication.
absl::StatusOr<Cert> SignLeaf(const Ca& ca, EVP_PKEY* public_key,
                              const Names& names, int days, absl::Time now) {
  ASSIGN_OR_RETURN(Identity id, ParseSpiffeId(names.spiffe_id));
  std::string cn = id.kind == Identity::Kind::kServer
                       ? id.name
                       : absl::StrCat(id.name, " (", RoleName(id.role), ")");
  ASSIGN_OR_RETURN(Cert cert, NewCert(public_key, cn, now, days));
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.cert.get())) !=
      1) {
    return OpenSslError("issuer");
  }
  std::string san = absl::StrCat("URI:", id.ToString());
  for (const auto& d : names.dns) absl::StrAppend(&san, ",DNS:", d);
  for (const auto& ip : names.ips) absl::StrAppend(&san, ",IP:", ip);
  X509* issuer = ca.cert.get();
  RETURN_IF_ERROR(
      AddExt(cert.get(), issuer, NID_subject_alt_name, san.c_str()));
  RETURN_IF_ERROR(
      AddExt(cert.get(), issuer, NID_basic_constraints, "critical,CA:FALSE"));
  RETURN_IF_ERROR(
      AddExt(cert.get(), issuer, NID_key_usage, "critical,digitalSignature"));
  RETURN_IF_ERROR(
      AddExt(cert.get(), issuer, NID_ext_key_usage, "serverAuth,clientAuth"));
  RETURN_IF_ERROR(
      AddExt(cert.get(), issuer, NID_authority_key_identifier, "keyid:always"));
  if (X509_sign(cert.get(), ca.key.get(), EVP_sha256()) == 0)
    return OpenSslError("sign certificate");
  return cert;
}

// OK when `cert` certifies `key`'s public half.
absl::Status CheckKeyMatches(X509* cert, EVP_PKEY* key,
                             const std::string& what) {
  if (X509_check_private_key(cert, key) != 1) {
    ERR_clear_error();
    return absl::FailedPreconditionError(absl::StrCat(
        what, " is not for the private key beside it (", kKeyFile, ")"));
  }
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
  RETURN_IF_ERROR(ParseSpiffeId(o.spiffe_id).status());
  ASSIGN_OR_RETURN(Ca ca, LoadCa(ca_dir));
  for (const char* f : {kCertFile, kKeyFile, kCaCertFile}) {
    std::error_code ec;
    if (std::filesystem::exists(absl::StrCat(out_dir, "/", f), ec)) {
      return absl::AlreadyExistsError(absl::StrCat(
          out_dir, "/", f, " already exists (refusing to overwrite)"));
    }
  }
  RETURN_IF_ERROR(MakeDir(out_dir));
  ASSIGN_OR_RETURN(PKey key, NewP256Key());
  ASSIGN_OR_RETURN(
      Cert cert,
      SignLeaf(ca, key.get(), {o.spiffe_id, o.dns, o.ips}, o.days, o.now));
  ASSIGN_OR_RETURN(std::string key_pem, KeyPem(key.get()));
  ASSIGN_OR_RETURN(std::string cert_pem, CertPem(cert.get()));
  RETURN_IF_ERROR(
      WriteFile(absl::StrCat(out_dir, "/", kKeyFile), key_pem, 0600));
  OPENSSL_cleanse(key_pem.data(), key_pem.size());
  RETURN_IF_ERROR(
      WriteFile(absl::StrCat(out_dir, "/", kCertFile), cert_pem, 0644));
  return WriteFile(absl::StrCat(out_dir, "/", kCaCertFile), ca.cert_pem, 0644);
}

absl::Status CreateCsr(const std::string& dir, const CsrOptions& o) {
  RETURN_IF_ERROR(ParseSpiffeId(o.spiffe_id).status());
  RETURN_IF_ERROR(MakeDir(dir));
  const std::string key_path = absl::StrCat(dir, "/", kKeyFile);
  PKey key;
  std::error_code ec;
  if (std::filesystem::exists(key_path, ec)) {  // renewal keeps the key
    ASSIGN_OR_RETURN(key, LoadPrivateKey(key_path));
  } else {
    ASSIGN_OR_RETURN(key, NewP256Key());
    ASSIGN_OR_RETURN(std::string pem, KeyPem(key.get()));
    absl::Status written = WriteFile(key_path, pem, 0600);
    OPENSSL_cleanse(pem.data(), pem.size());
    RETURN_IF_ERROR(written);
  }
  std::unique_ptr<X509_REQ, Free> req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), 0) != 1 ||
      X509_REQ_set_pubkey(req.get(), key.get()) != 1) {
    return OpenSslError("certificate request");
  }
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  if (X509_NAME_add_entry_by_txt(
          name, "CN", MBSTRING_UTF8,
          reinterpret_cast<const unsigned char*>(o.spiffe_id.c_str()), -1, -1,
          0) != 1) {
    return OpenSslError("request subject");
  }
  std::string san = absl::StrCat("URI:", o.spiffe_id);
  for (const auto& d : o.dns) absl::StrAppend(&san, ",DNS:", d);
  for (const auto& ip : o.ips) absl::StrAppend(&san, ",IP:", ip);
  std::unique_ptr<STACK_OF(X509_EXTENSION), void (*)(STACK_OF(X509_EXTENSION)*)>
      exts(sk_X509_EXTENSION_new_null(), [](STACK_OF(X509_EXTENSION) * s) {
        sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
      });
  X509_EXTENSION* ext =
      X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str());
  if (!exts || ext == nullptr || sk_X509_EXTENSION_push(exts.get(), ext) == 0 ||
      X509_REQ_add_extensions(req.get(), exts.get()) != 1 ||
      X509_REQ_sign(req.get(), key.get(), EVP_sha256()) == 0) {
    return OpenSslError("sign certificate request");
  }
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_REQ(bio.get(), req.get()) != 1)
    return OpenSslError("encode certificate request");
  return WriteFile(absl::StrCat(dir, "/", kCsrFile), BioToString(bio.get()),
                   0644, /*overwrite=*/true);
}

absl::StatusOr<std::string> SignCsr(const std::string& ca_dir,
                                    const std::string& csr_pem,
                                    const IssueOptions& o) {
  RETURN_IF_ERROR(ParseSpiffeId(o.spiffe_id).status());
  ASSIGN_OR_RETURN(Ca ca, LoadCa(ca_dir));
  Bio bio(BIO_new_mem_buf(csr_pem.data(), static_cast<int>(csr_pem.size())));
  std::unique_ptr<X509_REQ, Free> req(
      PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  if (!req) {
    ERR_clear_error();
    return absl::InvalidArgumentError("not a PEM certificate request");
  }
  PKey key(X509_REQ_get_pubkey(req.get()));
  if (!key || X509_REQ_verify(req.get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        "the certificate request's signature does not verify (it was not "
        "made with the key it names)");
  }
  // The identity is the CA's decision; the request must not ask for
  // another.
  std::unique_ptr<STACK_OF(X509_EXTENSION), void (*)(STACK_OF(X509_EXTENSION)*)>
      exts(X509_REQ_get_extensions(req.get()),
           [](STACK_OF(X509_EXTENSION) * s) {
             sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
           });
  if (exts) {
    std::unique_ptr<GENERAL_NAMES, Free> names(static_cast<GENERAL_NAMES*>(
        X509V3_get_d2i(exts.get(), NID_subject_alt_name, nullptr, nullptr)));
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
      const GENERAL_NAME* n = sk_GENERAL_NAME_value(names.get(), i);
      if (n->type != GEN_URI) continue;
      const ASN1_IA5STRING* uri = n->d.uniformResourceIdentifier;
      std::string asked(
          reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
          static_cast<size_t>(ASN1_STRING_length(uri)));
      if (asked != o.spiffe_id) {
        return absl::FailedPreconditionError(
            absl::StrCat("the request asks for ", asked, ", not ", o.spiffe_id,
                         "; check who sent it"));
      }
    }
  }
  ASSIGN_OR_RETURN(
      Cert cert,
      SignLeaf(ca, key.get(), {o.spiffe_id, o.dns, o.ips}, o.days, o.now));
  return CertPem(cert.get());
}

absl::Status InstallCertificate(const std::string& dir,
                                const std::string& cert_pem,
                                const std::string& ca_pem) {
  ASSIGN_OR_RETURN(Cert cert, ParseCert(cert_pem, "the certificate"));
  RETURN_IF_ERROR(VerifyCertificate(ca_pem, cert_pem));
  ASSIGN_OR_RETURN(PKey key, LoadPrivateKey(absl::StrCat(dir, "/", kKeyFile)));
  RETURN_IF_ERROR(CheckKeyMatches(cert.get(), key.get(), "the certificate"));
  RETURN_IF_ERROR(WriteFile(absl::StrCat(dir, "/", kCaCertFile), ca_pem, 0644,
                            /*overwrite=*/true));
  return WriteFile(absl::StrCat(dir, "/", kCertFile), cert_pem, 0644,
                   /*overwrite=*/true);
}

absl::StatusOr<std::string> RenewCertificate(const std::string& ca_dir,
                                             const std::string& dir, int days,
                                             absl::Time now) {
  ASSIGN_OR_RETURN(Ca ca, LoadCa(ca_dir));
  ASSIGN_OR_RETURN(std::string old_pem,
                   util::ReadFile(absl::StrCat(dir, "/", kCertFile)));
  ASSIGN_OR_RETURN(Cert old,
                   ParseCert(old_pem, absl::StrCat(dir, "/", kCertFile)));
  Names names = SubjectNames(old.get());
  if (names.spiffe_id.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(dir, "/", kCertFile, " has no spiffe:// identity"));
  }
  ASSIGN_OR_RETURN(PKey key, LoadPrivateKey(absl::StrCat(dir, "/", kKeyFile)));
  RETURN_IF_ERROR(
      CheckKeyMatches(old.get(), key.get(), absl::StrCat(dir, "/", kCertFile)));
  ASSIGN_OR_RETURN(Cert cert, SignLeaf(ca, key.get(), names, days, now));
  ASSIGN_OR_RETURN(std::string cert_pem, CertPem(cert.get()));
  RETURN_IF_ERROR(InstallCertificate(dir, cert_pem, ca.cert_pem));
  return names.spiffe_id;
}

absl::Status CheckPrivateFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return absl::NotFoundError(absl::StrCat(path, ": not found"));
  // PostgreSQL's rule for its key file: readable by the owner only, or,
  // when root owns it, by one group too (root's secret stores hand keys to
  // services that way: Kubernetes mounts a Secret as root, group fsGroup,
  // mode 0440). Never by others, never writable by the group.
  const bool root_owned = st.st_uid == 0;
  const mode_t refused = root_owned ? 037 : 077;
  if ((st.st_mode & refused) != 0) {
    const char* why = !root_owned ? " is readable by group or others"
                      : (st.st_mode & 007) != 0 ? " is readable by others"
                                                : " is writable by its group";
    return absl::PermissionDeniedError(
        absl::StrCat(path, why, "; run: chmod 600 ", path));
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
  Names names = SubjectNames(cert.get());
  if (names.spiffe_id.empty())
    return absl::NotFoundError("certificate has no spiffe:// URI SAN");
  return names.spiffe_id;
}

absl::StatusOr<absl::Time> CertificateNotAfter(const std::string& cert_pem) {
  ASSIGN_OR_RETURN(Cert cert, ParseCert(cert_pem, "certificate"));
  return NotAfter(cert.get());
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
