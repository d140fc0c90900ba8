#ifndef COHORTLINK_SERVER_GRPC_STATUS_H_
#define COHORTLINK_SERVER_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"
#include "util/error_details.h"

namespace cohortlink::server {

// The one place core statuses become gRPC statuses: same code, same message,
// and the status's error details (util/error_details.h) as a
// google.rpc.Status in the grpc-status-details-bin trailer.
inline grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()),
                      std::string(s.message()), util::ToRpcStatusBytes(s));
}

}  // namespace cohortlink::server

#endif  // COHORTLINK_SERVER_GRPC_STATUS_H_
