#include "client/rpc.h"

#include "absl/strings/str_cat.h"
#include "keys/pki.h"
#include "util/error_details.h"
#include "util/status_macros.h"

namespace cohortlink::client {

absl::StatusOr<std::shared_ptr<grpc::Channel>> MutualTlsChannel(
    const std::string& server, const std::string& tls_dir) {
  ASSIGN_OR_RETURN(keys::TlsFiles files, keys::LoadTlsDir(tls_dir));
  grpc::SslCredentialsOptions o;
  o.pem_root_certs = files.ca_pem;
  o.pem_cert_chain = files.cert_pem;
  o.pem_private_key = files.key_pem;
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(32 << 20);
  args.SetMaxReceiveMessageSize(64 << 20);
  auto channel =
      grpc::CreateCustomChannel(server, grpc::SslCredentials(o), args);
  std::fill(o.pem_private_key.begin(), o.pem_private_key.end(), '\0');
  return channel;
}

absl::Status FromGrpc(const grpc::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string hint;
  switch (s.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      hint =
          " (is the server running, and does it trust your certificate's CA?)";
      break;
    case grpc::StatusCode::PERMISSION_DENIED:
      hint = " (permission denied)";
      break;
    default:
      break;
  }
  std::string msg = absl::StrCat(what, ": ", s.error_message(), hint);
  for (const std::string& line :
       util::DescribeRpcStatusBytes(s.error_details())) {
    absl::StrAppend(&msg, "\n  ", line);
  }
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), msg);
}

void AddConn(CLI::App* cmd, ConnArgs* a) {
  cmd->add_option("--server", a->server, "HOST:PORT of cohortlink-server")
      ->required();
  cmd->add_option("--tls", a->tls, "Directory with ca.pem, cert.pem, key.pem")
      ->required();
  cmd->add_option("--format", a->format, "Output format")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
}

void SetDeadline(grpc::ClientContext* ctx, int seconds) {
  ctx->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::seconds(seconds));
}

}  // namespace cohortlink::client
