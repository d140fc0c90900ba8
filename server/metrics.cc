#include "server/metrics.h"

#include <chrono>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "google/protobuf/descriptor.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/text_serializer.h"

namespace cohortlink::server {

std::string GrpcCodeName(grpc::StatusCode code) {
  // gRPC and absl share the canonical codes and names.
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

namespace {

// A metric family of one unlabelled value.
prometheus::MetricFamily OneValue(const char* name, const char* help,
                                  prometheus::MetricType type, double v) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  f.metric.emplace_back();
  if (type == prometheus::MetricType::Counter) {
    f.metric.back().counter.value = v;
  } else {
    f.metric.back().gauge.value = v;
  }
  return f;
}

prometheus::MetricFamily Gauge(const char* name, const char* help, double v) {
  return OneValue(name, help, prometheus::MetricType::Gauge, v);
}

}  // namespace

class Metrics::InventoryCollector : public prometheus::Collectable {
 public:
  InventoryCollector(std::function<absl::StatusOr<Inventory>()> inventory,
                     std::function<Health()> health)
      : inventory_(std::move(inventory)), health_(std::move(health)) {}

  static void AddTls(const Health& h,
                     std::vector<prometheus::MetricFamily>* out) {
    auto seconds = [](absl::Time t) {
      return static_cast<double>(absl::ToUnixSeconds(t));
    };
    prometheus::MetricFamily refused;
    refused.name = "cohortlink_tls_handshakes_refused_total";
    refused.help =
        "Client certificates refused at the TLS handshake, by reason "
        "(revoked, expired, untrusted, malformed)";
    refused.type = prometheus::MetricType::Counter;
    for (const auto& [reason, n] : h.handshakes_refused) {
      refused.metric.emplace_back();
      refused.metric.back().label.push_back({"reason", reason});
      refused.metric.back().counter.value = static_cast<double>(n);
    }
    out->push_back(std::move(refused));
    prometheus::MetricFamily expiry;
    expiry.name = "cohortlink_certificate_expiry_timestamp_seconds";
    expiry.help =
        "When the server's own certificate and its CA certificate expire "
        "(Unix time)";
    expiry.type = prometheus::MetricType::Gauge;
    for (const auto& [which, t] : {std::pair{"server", h.server_cert_not_after},
                                   std::pair{"ca", h.ca_not_after}}) {
      if (t == absl::InfiniteFuture() || t == absl::InfinitePast()) continue;
      expiry.metric.emplace_back();
      expiry.metric.back().label.push_back({"certificate", which});
      expiry.metric.back().gauge.value = seconds(t);
    }
    out->push_back(std::move(expiry));
    out->push_back(
        OneValue("cohortlink_crl_reload_failures_total",
                 "Reloads of the CA or CRL that failed (the last good "
                 "list stayed in force)",
                 prometheus::MetricType::Counter,
                 static_cast<double>(h.crl_reload_failures)));
    if (!h.crl_loaded) return;
    out->push_back(OneValue("cohortlink_crl_next_update_timestamp_seconds",
                            "When the revocation list in force is due to be "
                            "replaced (Unix time); refresh it with cohortlink "
                            "keys revoke --ca DIR before then",
                            prometheus::MetricType::Gauge,
                            seconds(h.crl_next_update)));
    out->push_back(OneValue("cohortlink_crl_revoked_certificates",
                            "Certificates on the revocation list in force",
                            prometheus::MetricType::Gauge,
                            static_cast<double>(h.crl_revoked)));
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> out;
    if (health_) {
      Health h = health_();
      out.push_back(Gauge("cohortlink_storage_writable",
                          "1 while the database takes writes; 0 after a "
                          "failed write until it resumes",
                          h.storage_ok ? 1 : 0));
      out.push_back(Gauge("cohortlink_storage_disk_full",
                          "1 while writes fail because the disk is full",
                          h.storage_full ? 1 : 0));
      out.push_back(Gauge("cohortlink_linkage_failed",
                          "1 while the last linkage run failed (queries are "
                          "refused)",
                          h.linkage_failed ? 1 : 0));
      out.push_back(OneValue("cohortlink_linkage_failed_runs_total",
                             "Linkage runs that failed since the start",
                             prometheus::MetricType::Counter,
                             static_cast<double>(h.linkage_failures)));
      if (h.tls) AddTls(h, &out);
    }
    auto inv = inventory_();
    if (!inv.ok()) return out;  // a failed read leaves these gauges out
    out.push_back(Gauge("cohortlink_extracts", "Extracts currently stored",
                        static_cast<double>(inv->extracts)));
    out.push_back(
        Gauge("cohortlink_records_stored",
              "Encoded records in the current versions of all extracts",
              static_cast<double>(inv->records)));
    out.push_back(
        Gauge("cohortlink_published_sets",
              "Sets of people behind published counts that the differencing "
              "rule remembers (RocksDB's estimate)",
              static_cast<double>(inv->published_sets)));
    out.push_back(Gauge("cohortlink_linkage_generation",
                        "The generation of the linkage queries are answered "
                        "from (0: none yet)",
                        static_cast<double>(inv->linkage_generation)));
    out.push_back(Gauge("cohortlink_linkage_records",
                        "Records in the last completed linkage run",
                        static_cast<double>(inv->linkage_records)));
    out.push_back(Gauge("cohortlink_linkage_entities",
                        "Entities (people) in the last completed linkage run",
                        static_cast<double>(inv->linkage_entities)));
    out.push_back(Gauge("cohortlink_access_log_entries",
                        "Entries in the access log",
                        static_cast<double>(inv->access_log_entries)));
    if (inv->access_log_signed_at != absl::InfinitePast()) {
      out.push_back(Gauge(
          "cohortlink_access_log_last_signed_timestamp_seconds",
          "When the last signed tree head over the access log was issued "
          "(Unix time)",
          static_cast<double>(absl::ToUnixSeconds(inv->access_log_signed_at))));
    }
    if (!inv->budgets.empty()) {
      prometheus::MetricFamily spent, total;
      spent.name = "cohortlink_privacy_budget_rho_spent";
      spent.help = "zCDP rho a project in differential-privacy mode has spent";
      total.name = "cohortlink_privacy_budget_rho";
      total.help =
          "The zCDP rho budget of a project in differential-privacy "
          "mode";
      spent.type = total.type = prometheus::MetricType::Gauge;
      for (const auto& b : inv->budgets) {
        spent.metric.emplace_back();
        spent.metric.back().label = {{"project", b.project}};
        spent.metric.back().gauge.value = b.spent;
        total.metric.emplace_back();
        total.metric.back().label = {{"project", b.project}};
        total.metric.back().gauge.value = b.total;
      }
      out.push_back(std::move(spent));
      out.push_back(std::move(total));
    }
    return out;
  }

 private:
  std::function<absl::StatusOr<Inventory>()> inventory_;
  std::function<Health()> health_;
};

absl::string_view MethodLabel(absl::string_view path) {
  // A label is a method the server implements, or "unknown": a caller
  // naming methods at random cannot grow the exposition.
  static constexpr absl::string_view kServed[] = {
      "grpc.health.v1.Health/Check",
      "grpc.health.v1.Health/Watch",
      "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
      "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
  };
  absl::ConsumePrefix(&path, "/");
  for (absl::string_view m : kServed)
    if (path == m) return path;
  const size_t slash = path.find('/');
  if (slash != absl::string_view::npos &&
      absl::StartsWith(path, "cohortlink.")) {
    const auto* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
            std::string(path.substr(0, slash)));
    if (service != nullptr && service->FindMethodByName(std::string(
                                  path.substr(slash + 1))) != nullptr) {
      return path;
    }
  }
  return "unknown";
}

namespace {

// Times one RPC from its creation to the status it sends.
class RpcInterceptor : public grpc::experimental::Interceptor {
 public:
  RpcInterceptor(Metrics* metrics, std::string method)
      : metrics_(metrics),
        method_(std::move(method)),
        start_(std::chrono::steady_clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* m) override {
    if (m->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      std::chrono::duration<double> took =
          std::chrono::steady_clock::now() - start_;
      metrics_->ObserveRpc(
          method_, GrpcCodeName(m->GetSendStatus().error_code()), took.count());
    }
    m->Proceed();
  }

 private:
  Metrics* metrics_;
  std::string method_;
  std::chrono::steady_clock::time_point start_;
};

class RpcInterceptorFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit RpcInterceptorFactory(Metrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new RpcInterceptor(
        metrics_,
        std::string(MethodLabel(info->method() ? info->method() : "")));
  }

 private:
  Metrics* metrics_;
};

}  // namespace

Metrics::Metrics(std::function<absl::StatusOr<Inventory>()> inventory,
                 std::function<Health()> health)
    : registry_(std::make_shared<prometheus::Registry>()),
      inventory_(std::make_shared<InventoryCollector>(std::move(inventory),
                                                      std::move(health))) {
  requests_ = &prometheus::BuildCounter()
                   .Name("cohortlink_rpc_requests_total")
                   .Help("gRPC calls handled, by method and status code")
                   .Register(*registry_);
  durations_ = &prometheus::BuildHistogram()
                    .Name("cohortlink_rpc_duration_seconds")
                    .Help("gRPC call latency, by method and status code")
                    .Register(*registry_);
  upload_records_ = &prometheus::BuildCounter()
                         .Name("cohortlink_upload_records_total")
                         .Help("Records in committed uploads")
                         .Register(*registry_)
                         .Add({});
  upload_bytes_ =
      &prometheus::BuildCounter()
           .Name("cohortlink_upload_bytes_total")
           .Help("Encoded bytes of the records in committed uploads")
           .Register(*registry_)
           .Add({});
  linkage_runs_ = &prometheus::BuildCounter()
                       .Name("cohortlink_linkage_runs_total")
                       .Help(
                           "Linkage runs, by kind (full, incremental) and "
                           "outcome (ok, failed)")
                       .Register(*registry_);
  linkage_seconds_ = &prometheus::BuildHistogram()
                          .Name("cohortlink_linkage_run_duration_seconds")
                          .Help(
                              "Linkage run time, by stage (blocking, "
                              "training, scoring, clustering, total)")
                          .Register(*registry_);
  prometheus::BuildGauge()
      .Name("cohortlink_build_info")
      .Help("The server's version (the value is always 1)")
      .Register(*registry_)
      .Add({{"version", COHORTLINK_VERSION}})
      .Set(1);
}

void Metrics::ObserveUpload(uint64_t records, uint64_t bytes) {
  upload_records_->Increment(static_cast<double>(records));
  upload_bytes_->Increment(static_cast<double>(bytes));
}

void Metrics::ObserveLinkageRun(bool ok,
                                const cohortlink::v1::LinkageStatus& st) {
  const std::string kind = st.incremental() ? "incremental" : "full";
  linkage_runs_->Add({{"kind", kind}, {"outcome", ok ? "ok" : "failed"}})
      .Increment();
  if (!ok) return;
  // 10 ms .. ~40 minutes: a small region links in well under a second,
  // a national one in minutes.
  static const auto* kBuckets = new prometheus::Histogram::BucketBoundaries{
      0.01, 0.04, 0.16, 0.64, 2.56, 10.24, 40.96, 163.84, 655.36, 2621.44};
  for (const auto& [stage, seconds] :
       {std::pair{"blocking", st.blocking_seconds()},
        std::pair{"training", st.training_seconds()},
        std::pair{"scoring", st.scoring_seconds()},
        std::pair{"clustering", st.clustering_seconds()},
        std::pair{"total", st.run_seconds()}}) {
    linkage_seconds_->Add({{"stage", stage}}, *kBuckets).Observe(seconds);
  }
}

Metrics::~Metrics() = default;

absl::Status Metrics::Listen(const std::string& address) {
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(address);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", address, ": ", e.what()));
  }
  exposer_->RegisterCollectable(registry_);
  exposer_->RegisterCollectable(inventory_);
  return absl::OkStatus();
}

int Metrics::port() const {
  if (!exposer_) return 0;
  auto ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

void Metrics::ObserveRpc(absl::string_view method, absl::string_view code,
                         double seconds) {
  prometheus::Labels labels{{"method", std::string(method)},
                            {"code", std::string(code)}};
  requests_->Add(labels).Increment();
  // 1 ms .. ~65 s: reads take milliseconds, large uploads tens of seconds.
  static const auto* kBuckets = new prometheus::Histogram::BucketBoundaries{
      0.001, 0.004, 0.016, 0.064, 0.256, 1.0, 4.0, 16.0, 64.0};
  durations_->Add(labels, *kBuckets).Observe(seconds);
}

std::string Metrics::Render() const {
  auto families = registry_->Collect();
  auto inv = inventory_->Collect();
  families.insert(families.end(), inv.begin(), inv.end());
  return prometheus::TextSerializer().Serialize(families);
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
Metrics::InterceptorFactory() {
  return std::make_unique<RpcInterceptorFactory>(this);
}

}  // namespace cohortlink::server
