// cohortlink keys ...: key material management.

#include <filesystem>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "client/commands.h"
#include "keys/crl.h"
#include "keys/pki.h"
#include "keys/secret.h"
#include "keys/signing.h"
#include "util/atomic_file.h"
#include "util/status_macros.h"
#include "util/text.h"

namespace cohortlink::client {
namespace {

struct SecretArgs {
  std::string out;
};

absl::Status RunSecret(const SecretArgs& a) {
  ASSIGN_OR_RETURN(keys::SecretBytes secret, keys::GenerateSecret());
  RETURN_IF_ERROR(keys::WriteSecretFile(a.out, secret));
  std::cout << "wrote a new 256-bit linkage secret to " << a.out
            << " (mode 0600)\n"
            << "Share it with the other agencies over a secure channel; never "
               "with the linkage server.\n";
  return absl::OkStatus();
}

absl::Status RunSigningKey(const SecretArgs& a) {
  std::error_code ec;
  if (std::filesystem::exists(a.out, ec)) {
    return absl::AlreadyExistsError(
        absl::StrCat(a.out, " already exists (refusing to overwrite)"));
  }
  ASSIGN_OR_RETURN(auto key, keys::SigningKey::LoadOrCreate(a.out));
  const std::string pub = a.out + ".pub.pem";
  ASSIGN_OR_RETURN(auto f, util::AtomicFile::Create(pub, 0644, false));
  RETURN_IF_ERROR(f->Write(key->public_key_pem()));
  RETURN_IF_ERROR(f->Commit());
  std::cout << "wrote a new Ed25519 access-log signing key to " << a.out
            << " (mode 0600) and its public key to " << pub
            << ".\nGive the server the key (--signing-key or "
               "signing_key_file); give auditors the public key.\n";
  return absl::OkStatus();
}

struct CaArgs {
  std::string dir;
  std::string name = "cohortlink CA";
  int days = 3650;
};

absl::Status RunCaInit(const CaArgs& a) {
  keys::CaOptions o;
  o.common_name = a.name;
  o.days = a.days;
  RETURN_IF_ERROR(keys::InitCa(a.dir, o));
  std::cout << "created a certificate authority in " << a.dir << " ("
            << keys::kCaCertFile << ", and " << keys::kCaKeyFile
            << " with mode 0600: keep it offline)\n";
  return absl::OkStatus();
}

struct IssueArgs {
  std::string ca, id, out;
  std::vector<std::string> dns, ips;
  int days = keys::kDefaultCertificateDays;
};

absl::Status RunIssue(const IssueArgs& a) {
  keys::IssueOptions o;
  o.spiffe_id = a.id;
  o.dns = a.dns;
  o.ips = a.ips;
  o.days = a.days;
  RETURN_IF_ERROR(keys::IssueCertificate(a.ca, o, a.out));
  std::cout << "issued " << a.id << " into " << a.out
            << " (ca.pem, cert.pem, key.pem; "
            << "valid " << a.days << " days)\n";
  return absl::OkStatus();
}

struct CsrArgs {
  std::string id, dir;
  std::vector<std::string> dns, ips;
};

absl::Status RunCsr(const CsrArgs& a) {
  RETURN_IF_ERROR(keys::CreateCsr(a.dir, {a.id, a.dns, a.ips}));
  std::cout << "wrote " << a.dir << "/" << keys::kCsrFile
            << ", a certificate request for " << a.id
            << "; the private key stays in " << a.dir << "/" << keys::kKeyFile
            << ".\nSend the request to the CA's administrator, and install "
               "what they return with: cohortlink keys install --dir "
            << a.dir << " --cert CERT.pem --ca-cert ca.pem\n";
  return absl::OkStatus();
}

struct SignArgs {
  std::string ca, csr, id, out;
  std::vector<std::string> dns, ips;
  int days = keys::kDefaultCertificateDays;
};

absl::Status RunSign(const SignArgs& a) {
  ASSIGN_OR_RETURN(std::string csr, util::ReadFile(a.csr));
  keys::IssueOptions o;
  o.spiffe_id = a.id;
  o.dns = a.dns;
  o.ips = a.ips;
  o.days = a.days;
  ASSIGN_OR_RETURN(std::string cert, keys::SignCsr(a.ca, csr, o));
  ASSIGN_OR_RETURN(auto f, util::AtomicFile::Create(a.out, 0644,
                                                    /*overwrite=*/false));
  RETURN_IF_ERROR(f->Write(cert));
  RETURN_IF_ERROR(f->Commit());
  ASSIGN_OR_RETURN(std::string serial, keys::CertificateSerial(cert));
  std::cout << "signed " << a.id << " into " << a.out << " (serial " << serial
            << ", valid " << a.days << " days). Return it with " << a.ca << "/"
            << keys::kCaCertFile << ".\n";
  return absl::OkStatus();
}

struct InstallArgs {
  std::string dir, cert, ca_cert;
};

absl::Status RunInstall(const InstallArgs& a) {
  ASSIGN_OR_RETURN(std::string cert, util::ReadFile(a.cert));
  ASSIGN_OR_RETURN(std::string ca, util::ReadFile(a.ca_cert));
  RETURN_IF_ERROR(keys::InstallCertificate(a.dir, cert, ca));
  ASSIGN_OR_RETURN(absl::Time until, keys::CertificateNotAfter(cert));
  std::cout << "installed the certificate into " << a.dir << " (valid until "
            << util::FormatUtc(until) << ")\n";
  return absl::OkStatus();
}

struct RenewArgs {
  std::string ca, dir;
  int days = keys::kDefaultCertificateDays;
};

absl::Status RunRenew(const RenewArgs& a) {
  ASSIGN_OR_RETURN(std::string id, keys::RenewCertificate(a.ca, a.dir, a.days));
  std::cout << "renewed " << id << " in " << a.dir << " (same key, valid "
            << a.days
            << " days). A server picks up its renewed certificate within a "
               "minute, without a restart.\n";
  return absl::OkStatus();
}

struct RevokeArgs {
  std::string ca, cert, serial;
  int crl_days = 30;
};

absl::Status RunRevoke(const RevokeArgs& a) {
  std::string serial = a.serial;
  if (!a.cert.empty()) {
    ASSIGN_OR_RETURN(std::string pem, util::ReadFile(a.cert));
    ASSIGN_OR_RETURN(serial, keys::CertificateSerial(pem));
  }
  keys::CrlOptions o;
  o.days = a.crl_days;
  ASSIGN_OR_RETURN(keys::CrlInfo info, keys::UpdateCrl(a.ca, serial, o));
  if (serial.empty()) {
    std::cout << "re-signed ";
  } else {
    std::cout << "revoked serial " << serial << "; ";
  }
  std::cout << a.ca << "/" << keys::kCrlFile << " (CRL number " << info.number
            << ", " << info.revoked << " revoked, next update "
            << util::FormatUtc(info.next_update)
            << ").\nCopy it to the server's --crl file: the server reloads it "
               "within a second, or at once on SIGHUP.\n";
  return absl::OkStatus();
}

}  // namespace

void RegisterKeys(CLI::App& app, Context* ctx) {
  CLI::App* keys =
      app.add_subcommand("keys", "Manage secrets, keys and certificates");
  keys->require_subcommand(1);
  auto args = std::make_shared<SecretArgs>();
  CLI::App* secret = keys->add_subcommand(
      "secret", "Generate a linkage secret (256 random bits, base64url)");
  secret
      ->add_option("--out", args->out,
                   "File to create (mode 0600; never overwritten)")
      ->required();
  secret->callback(
      [ctx, args] { ctx->run = [args] { return RunSecret(*args); }; });

  auto sk_args = std::make_shared<SecretArgs>();
  CLI::App* sk = keys->add_subcommand(
      "signing-key",
      "Generate an access-log signing key (Ed25519) for a server that keeps "
      "it outside its data directory (a Kubernetes Secret)");
  sk->add_option("--out", sk_args->out,
                 "File to create (mode 0600; its public key beside it as "
                 "FILE.pub.pem)")
      ->required();
  sk->callback([ctx, sk_args] {
    ctx->run = [sk_args] { return RunSigningKey(*sk_args); };
  });

  CLI::App* ca = keys->add_subcommand("ca", "Manage the certificate authority");
  ca->require_subcommand(1);
  auto ca_args = std::make_shared<CaArgs>();
  CLI::App* init = ca->add_subcommand(
      "init",
      "Create a CA: an ECDSA P-256 key (0600) and a self-signed certificate");
  init->add_option("--dir", ca_args->dir, "Directory for ca.pem and ca-key.pem")
      ->required();
  init->add_option("--name", ca_args->name, "CA common name")
      ->capture_default_str();
  init->add_option("--days", ca_args->days, "Validity in days")
      ->check(CLI::Range(1, 36500))
      ->capture_default_str();
  init->callback(
      [ctx, ca_args] { ctx->run = [ca_args] { return RunCaInit(*ca_args); }; });

  auto issue_args = std::make_shared<IssueArgs>();
  CLI::App* issue =
      keys->add_subcommand("issue",
                           "Issue a certificate for a SPIFFE identity (writes "
                           "ca.pem, cert.pem, key.pem)");
  issue
      ->add_option("--ca", issue_args->ca, "CA directory (from 'keys ca init')")
      ->required();
  issue
      ->add_option(
          "--id", issue_args->id,
          "spiffe://<domain>/agency/<id>/<role>, /user/<name>/<role> or "
          "/server/<name>; roles: submitter, analyst, auditor, admin, "
          "linkage-export")
      ->required();
  issue
      ->add_option("--out", issue_args->out,
                   "Directory to create (the --tls DIR layout)")
      ->required();
  issue->add_option("--dns", issue_args->dns,
                    "DNS name SAN (servers; repeatable)");
  issue->add_option("--ip", issue_args->ips,
                    "IP address SAN (servers; repeatable)");
  issue->add_option("--days", issue_args->days, "Validity in days")
      ->check(CLI::Range(1, 3650))
      ->capture_default_str();
  issue->callback([ctx, issue_args] {
    ctx->run = [issue_args] { return RunIssue(*issue_args); };
  });

  const std::string id_help =
      "spiffe://<domain>/agency/<id>/<role>, /user/<name>/<role> or "
      "/server/<name>";
  auto csr_args = std::make_shared<CsrArgs>();
  CLI::App* csr = keys->add_subcommand(
      "csr",
      "On your own machine: a certificate request (request.csr) for your "
      "identity; the private key never leaves DIR");
  csr->add_option("--id", csr_args->id, id_help)->required();
  csr->add_option("--dir", csr_args->dir,
                  "Your --tls directory (key.pem is created when absent and "
                  "kept when present: a renewal)")
      ->required();
  csr->add_option("--dns", csr_args->dns, "DNS name SAN (servers; repeatable)");
  csr->add_option("--ip", csr_args->ips,
                  "IP address SAN (servers; repeatable)");
  csr->callback(
      [ctx, csr_args] { ctx->run = [csr_args] { return RunCsr(*csr_args); }; });

  auto sign_args = std::make_shared<SignArgs>();
  CLI::App* sign = keys->add_subcommand(
      "sign",
      "At the CA: sign a certificate request for the identity you decide");
  sign->add_option("--ca", sign_args->ca, "CA directory")->required();
  sign->add_option("--csr", sign_args->csr, "The request (request.csr)")
      ->required()
      ->check(CLI::ExistingFile);
  sign->add_option("--id", sign_args->id,
                   id_help + "; the request may not ask for another")
      ->required();
  sign->add_option("--out", sign_args->out, "Certificate file to write (PEM)")
      ->required();
  sign->add_option("--dns", sign_args->dns, "DNS name SAN (servers)");
  sign->add_option("--ip", sign_args->ips, "IP address SAN (servers)");
  sign->add_option("--days", sign_args->days, "Validity in days")
      ->check(CLI::Range(1, 3650))
      ->capture_default_str();
  sign->callback([ctx, sign_args] {
    ctx->run = [sign_args] { return RunSign(*sign_args); };
  });

  auto install_args = std::make_shared<InstallArgs>();
  CLI::App* install = keys->add_subcommand(
      "install",
      "Put a signed certificate into your --tls directory (replacing the "
      "one there), once it verifies and is for your key");
  install->add_option("--dir", install_args->dir, "Your --tls directory")
      ->required()
      ->check(CLI::ExistingDirectory);
  install->add_option("--cert", install_args->cert, "The signed certificate")
      ->required()
      ->check(CLI::ExistingFile);
  install
      ->add_option("--ca-cert", install_args->ca_cert,
                   "The CA's certificate (ca.pem)")
      ->required()
      ->check(CLI::ExistingFile);
  install->callback([ctx, install_args] {
    ctx->run = [install_args] { return RunInstall(*install_args); };
  });

  auto renew_args = std::make_shared<RenewArgs>();
  CLI::App* renew = keys->add_subcommand(
      "renew",
      "Renew the certificate in a --tls directory in place (same key, "
      "identity and names; new validity)");
  renew->add_option("--ca", renew_args->ca, "CA directory")->required();
  renew->add_option("--dir", renew_args->dir, "The --tls directory")
      ->required()
      ->check(CLI::ExistingDirectory);
  renew->add_option("--days", renew_args->days, "Validity in days")
      ->check(CLI::Range(1, 3650))
      ->capture_default_str();
  renew->callback([ctx, renew_args] {
    ctx->run = [renew_args] { return RunRenew(*renew_args); };
  });

  auto revoke_args = std::make_shared<RevokeArgs>();
  CLI::App* revoke = keys->add_subcommand(
      "revoke",
      "Revoke a certificate: add it to the CA's CRL (CA_DIR/crl.pem), which "
      "the server checks at every handshake; without --cert or --serial, "
      "re-sign the CRL before its next update");
  revoke->add_option("--ca", revoke_args->ca, "CA directory")->required();
  auto* by_cert =
      revoke->add_option("--cert", revoke_args->cert, "The certificate (PEM)")
          ->check(CLI::ExistingFile);
  revoke
      ->add_option("--serial", revoke_args->serial,
                   "Its serial number (hex), as `keys sign` printed it")
      ->excludes(by_cert);
  revoke
      ->add_option("--crl-days", revoke_args->crl_days,
                   "Days until the CRL's next update")
      ->check(CLI::Range(1, 365))
      ->capture_default_str();
  revoke->callback([ctx, revoke_args] {
    ctx->run = [revoke_args] { return RunRevoke(*revoke_args); };
  });
}

}  // namespace cohortlink::client
