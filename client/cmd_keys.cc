// cohortlink keys ...: key material management.

#include <iostream>

#include "absl/strings/str_cat.h"
#include "client/commands.h"
#include "keys/pki.h"
#include "keys/secret.h"
#include "util/status_macros.h"

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
  int days = 397;
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
}

}  // namespace cohortlink::client
