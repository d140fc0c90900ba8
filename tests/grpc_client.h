#ifndef COHORTLINK_TESTS_GRPC_CLIENT_H_
#define COHORTLINK_TESTS_GRPC_CLIENT_H_

// Raw gRPC clients of a real server with a --dev certificate: the ingest
// stub (to send what the CLI never would) and the health check a load
// balancer or probe makes.

#include <chrono>
#include <future>
#include <string>
#include <vector>

#include "cohortlink/v1/ingest.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "keys/pki.h"

namespace cohortlink::testing {

// Mutual-TLS channel credentials from a --dev certificate directory.
inline std::shared_ptr<grpc::ChannelCredentials> DevCredentials(
    const std::string& tls_dir) {
  auto files = keys::LoadTlsDir(tls_dir);
  if (!files.ok()) return nullptr;
  grpc::SslCredentialsOptions o;
  o.pem_root_certs = files->ca_pem;
  o.pem_cert_chain = files->cert_pem;
  o.pem_private_key = files->key_pem;
  return grpc::SslCredentials(o);
}

inline std::unique_ptr<cohortlink::v1::IngestService::Stub> IngestStub(
    const std::string& address, const std::string& tls_dir) {
  return cohortlink::v1::IngestService::NewStub(
      grpc::CreateChannel(address, DevCredentials(tls_dir)));
}

// One whole upload: the header, then `framed` in batches of `batch_bytes`.
inline grpc::Status UploadOnce(cohortlink::v1::IngestService::Stub* stub,
                               const cohortlink::v1::UploadHeader& header,
                               const std::string& framed,
                               size_t batch_bytes = 1 << 20) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  cohortlink::v1::UploadReceipt receipt;
  auto writer = stub->Upload(&ctx, &receipt);
  cohortlink::v1::UploadRequest req;
  *req.mutable_header() = header;
  bool open = writer->Write(req);
  for (size_t at = 0; open && at < framed.size(); at += batch_bytes) {
    req.mutable_batch()->set_framed_records(framed.substr(at, batch_bytes));
    open = writer->Write(req);
  }
  writer->WritesDone();
  return writer->Finish();
}

// A unary call by method path with raw request bytes (any path at all).
inline grpc::Status RawUnary(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& path,
    const std::string& request_bytes,
    std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + deadline);
  grpc::Slice slice(request_bytes);
  grpc::ByteBuffer request(&slice, 1), response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, path, grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status s) { done.set_value(s); });
  return done.get_future().get();
}

// A bidirectional streaming call by method path that sends `request_bytes`
// (if any), closes its side and reads until the end: the final status.
inline grpc::Status RawBidi(const std::shared_ptr<grpc::Channel>& channel,
                            const std::string& path,
                            const std::string& request_bytes = "") {
  class Reactor
      : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
   public:
    explicit Reactor(const std::string& bytes) : slice_(bytes) {
      request_ = grpc::ByteBuffer(&slice_, 1);
    }
    void Go(bool send) {
      StartRead(&response_);
      if (send) {
        StartWriteLast(&request_, grpc::WriteOptions());
      } else {
        StartWritesDone();
      }
      StartCall();
    }
    void OnReadDone(bool ok) override {
      if (ok) StartRead(&response_);
    }
    void OnDone(const grpc::Status& s) override { done_.set_value(s); }
    std::future<grpc::Status> Result() { return done_.get_future(); }

   private:
    grpc::Slice slice_;
    grpc::ByteBuffer request_, response_;
    std::promise<grpc::Status> done_;
  };
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  Reactor reactor(request_bytes);
  auto result = reactor.Result();
  stub.PrepareBidiStreamingCall(&ctx, path, grpc::StubOptions(), &reactor);
  reactor.Go(!request_bytes.empty());
  return result.get();
}

// The serving status the server reports (1 SERVING, 2 NOT_SERVING), or -1
// with the error in `error` when the call fails.
// With an empty `tls_dir`, the call is plaintext (no certificate at all).
inline int HealthCheck(const std::string& address, const std::string& tls_dir,
                       std::string* error = nullptr,
                       const std::string& service = "") {
  auto creds = tls_dir.empty() ? grpc::InsecureChannelCredentials()
                               : DevCredentials(tls_dir);
  if (creds == nullptr) {
    if (error != nullptr) *error = "no certificates in " + tls_dir;
    return -1;
  }
  grpc::GenericStub stub(grpc::CreateChannel(address, creds));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  // HealthCheckRequest { string service = 1; }
  std::string req;
  if (!service.empty()) {
    req = std::string(1, '\x0a') + static_cast<char>(service.size()) + service;
  }
  grpc::Slice slice(req);
  grpc::ByteBuffer request(&slice, 1), response;
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

#endif  // COHORTLINK_TESTS_GRPC_CLIENT_H_
