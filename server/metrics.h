#ifndef COHORTLINK_SERVER_METRICS_H_
#define COHORTLINK_SERVER_METRICS_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cohortlink/v1/linkage.pb.h"
#include "grpcpp/support/server_interceptor.h"
#include "prometheus/counter.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace prometheus {
class Exposer;
}

namespace cohortlink::server {

// What the store holds, read at each scrape.
struct Inventory {
  uint64_t extracts = 0;
  uint64_t records = 0;
  uint64_t published_sets = 0;  // the differencing memory (estimate)
  // Projects with a privacy budget: name, rho spent, rho budget.
  struct Budget {
    std::string project;
    double spent = 0, total = 0;
  };
  std::vector<Budget> budgets;
  // The linkage queries are answered from, and the access log.
  uint64_t linkage_generation = 0, linkage_records = 0, linkage_entities = 0;
  uint64_t access_log_entries = 0;
  absl::Time access_log_signed_at = absl::InfinitePast();  // none yet
};

// Whether the server can serve, read at each scrape.
struct Health {
  bool storage_ok = true;       // the last write succeeded (or resumed)
  bool storage_full = false;    // the last failed write found the disk full
  bool linkage_failed = false;  // the last linkage run failed
  uint64_t linkage_failures = 0;
  // Mutual TLS (absent with --insecure-loopback-only).
  bool tls = false;
  std::vector<std::pair<std::string, uint64_t>> handshakes_refused;  // reason
  uint64_t crl_reload_failures = 0;
  bool crl_loaded = false;
  size_t crl_revoked = 0;
  absl::Time crl_next_update = absl::InfiniteFuture();
  absl::Time ca_not_after = absl::InfiniteFuture();
  absl::Time server_cert_not_after = absl::InfiniteFuture();
};

// Prometheus metrics on their own HTTP port (never the gRPC one):
//   cohortlink_rpc_requests_total{method,code}      counter
//   cohortlink_rpc_duration_seconds{method,code}    histogram
//   cohortlink_extracts, cohortlink_records_stored,
//   cohortlink_published_sets                       gauges (read at scrape)
//   cohortlink_privacy_budget_rho_spent{project},
//   cohortlink_privacy_budget_rho{project}          gauges, per project with
//                                                   a budget (from the config)
//   cohortlink_storage_writable, cohortlink_storage_disk_full,
//   cohortlink_linkage_failed                       gauges, 0 or 1
//   cohortlink_linkage_failed_runs_total            counter
//   cohortlink_linkage_runs_total{kind,outcome}     counter
//   cohortlink_linkage_run_duration_seconds{stage}  histogram
//   cohortlink_linkage_generation, _records, _entities  gauges (at scrape)
//   cohortlink_upload_records_total, _bytes_total   counters
//   cohortlink_access_log_entries,
//   cohortlink_access_log_last_signed_timestamp_seconds  gauges
//   cohortlink_build_info{version}                  gauge, 1
//   cohortlink_tls_handshakes_refused_total{reason} counter: client
//                                                   certificates refused
//   cohortlink_certificate_expiry_timestamp_seconds{certificate="server"|"ca"}
//   cohortlink_crl_next_update_timestamp_seconds,
//   cohortlink_crl_revoked_certificates             gauges (with a CRL)
//   cohortlink_crl_reload_failures_total            counter
// RPCs are counted by a gRPC server interceptor, so every service is
// covered, including health and reflection. Labels never carry principals,
// extract names or anything else from a request. Thread-safe.
class Metrics {
 public:
  Metrics(std::function<absl::StatusOr<Inventory>()> inventory,
          std::function<Health()> health);
  ~Metrics();

  // Serves /metrics on HOST:PORT (port 0 picks a free one).
  absl::Status Listen(const std::string& address);
  // The bound port, once listening.
  int port() const;

  void ObserveRpc(absl::string_view method, absl::string_view code,
                  double seconds);
  // A committed upload.
  void ObserveUpload(uint64_t records, uint64_t bytes);
  // A linkage run's outcome (cancelled runs are not observed).
  void ObserveLinkageRun(bool ok, const cohortlink::v1::LinkageStatus& st);
  // The text exposition format of everything (also what /metrics returns).
  std::string Render() const;

  // For grpc::ServerBuilder::experimental().SetInterceptorCreators.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
  InterceptorFactory();

 private:
  class InventoryCollector;
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<InventoryCollector> inventory_;
  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Histogram>* durations_;
  prometheus::Counter* upload_records_;
  prometheus::Counter* upload_bytes_;
  prometheus::Family<prometheus::Counter>* linkage_runs_;
  prometheus::Family<prometheus::Histogram>* linkage_seconds_;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

// The method label of a call's path ("/cohortlink.v1.QueryService/RunQuery"
// -> "cohortlink.v1.QueryService/RunQuery"): a method the server serves, or
// "unknown" for any other path.
absl::string_view MethodLabel(absl::string_view path);

// The name of a gRPC status code as Prometheus labels usually carry it
// ("OK", "INVALID_ARGUMENT", ...).
std::string GrpcCodeName(grpc::StatusCode code);

}  // namespace cohortlink::server

#endif  // COHORTLINK_SERVER_METRICS_H_
