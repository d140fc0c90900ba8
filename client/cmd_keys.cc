// cohortlink keys ...: key material management.

#include <iostream>

#include "absl/strings/str_cat.h"
#include "client/commands.h"
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
}

}  // namespace cohortlink::client
