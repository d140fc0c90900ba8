#ifndef COHORTLINK_CLIENT_RPC_H_
#define COHORTLINK_CLIENT_RPC_H_

// What every networked subcommand shares: the mutual-TLS channel to
// cohortlink-server and the translation of gRPC failures into messages.

#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"

namespace cohortlink::client {

// The flags every networked subcommand takes.
struct ConnArgs {
  std::string server, tls;
  std::string format = "table";
};

// Adds --server, --tls (both required) and --format table|json to `cmd`.
void AddConn(CLI::App* cmd, ConnArgs* a);

// A channel to `server` (HOST:PORT) presenting the certificate in `tls_dir`
// (ca.pem, cert.pem, key.pem) and trusting only its ca.pem.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MutualTlsChannel(
    const std::string& server, const std::string& tls_dir);

// A gRPC failure as a status with the same code and a message for people:
// "<what>: <server message>", a hint for transport and permission failures,
// and one indented line per structured error detail (the record and field
// of an invalid upload, the failed precondition).
absl::Status FromGrpc(const grpc::Status& s, absl::string_view what);

// Sets a deadline `seconds` from now.
void SetDeadline(grpc::ClientContext* ctx, int seconds);

}  // namespace cohortlink::client

#endif  // COHORTLINK_CLIENT_RPC_H_
