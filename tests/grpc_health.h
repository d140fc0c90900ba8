#ifndef COHORTLINK_TESTS_GRPC_HEALTH_H_
#define COHORTLINK_TESTS_GRPC_HEALTH_H_

// Asks a real server's grpc.health.v1.Health/Check with a --dev
// certificate, as a load balancer or probe would.

#include <chrono>
#include <future>
#include <string>
#include <vector>

#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "keys/pki.h"

namespace cohortlink::testing {

// The serving status the server reports (1 SERVING, 2 NOT_SERVING), or -1
// with the error in `error` when the call fails.
inline int HealthCheck(const std::string& address, const std::string& tls_dir,
                       std::string* error = nullptr) {
  auto files = keys::LoadTlsDir(tls_dir);
  if (!files.ok()) {
    if (error != nullptr) *error = std::string(files.status().message());
    return -1;
  }
  grpc::SslCredentialsOptions o;
  o.pem_root_certs = files->ca_pem;
  o.pem_cert_chain = files->cert_pem;
  o.pem_private_key = files->key_pem;
  grpc::GenericStub stub(grpc::CreateChannel(address, grpc::SslCredentials(o)));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Slice empty("", 0);
  grpc::ByteBuffer request(&empty, 1), response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                 &request, &response,
                 [&done](grpc::Status s) { done.set_value(s); });
  grpc::Status s = done.get_future().get();
  if (!s.ok()) {
    if (error != nullptr) *error = s.error_message();
    return -1;
  }
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) return -1;
  std::string bytes;
  for (const auto& sl : slices)
    bytes.append(reinterpret_cast<const char*>(sl.begin()), sl.size());
  // HealthCheckResponse { ServingStatus status = 1; }: field 1, varint.
  if (bytes.size() == 2 && bytes[0] == '\x08') return bytes[1];
  return bytes.empty() ? 0 : -1;
}

}  // namespace cohortlink::testing

#endif  // COHORTLINK_TESTS_GRPC_HEALTH_H_
