// cohortlink-server: parses flags and config, builds the store and the
// services, serves over mutual TLS, and shuts down cleanly on SIGTERM or
// SIGINT (in-flight uploads either commit or vanish).

#include <sys/stat.h>

#include <algorithm>
#include <csignal>
#include <iostream>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/impl/server_builder_option.h"
#include "grpcpp/impl/server_builder_plugin.h"
#include "keys/pki.h"
#include "keys/signing.h"
#include "linkage/cohort/differencing.h"
#include "linkage/cohort/private_counts.h"
#include "linkage/encoding/json.h"
#include "linkage/entities/linkage_runner.h"
#include "linkage/store/backup.h"
#include "linkage/store/extract_store.h"
#include "linkage/store/privacy_budgets.h"
#include "linkage/store/published_sets.h"
#include "server/admin_service.h"
#include "server/audit_service.h"
#include "server/auth.h"
#include "server/config.h"
#include "server/ingest_service.h"
#include "server/linkage_service.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/peer_check.h"
#include "server/query_service.h"
#include "util/atomic_file.h"
#include "util/status_macros.h"
#include "util/text.h"

namespace {

std::atomic<bool> g_stop{false};    // set by the signal handler only
std::atomic<bool> g_reload{false};  // SIGHUP: reload the CA and CRL
// docs/limits.md
constexpr std::chrono::seconds kShutdownGrace{10};
constexpr int kMaxStreamsPerConnection = 32;
constexpr int kMaxServerThreads = 128;
// `status` warns an admin this many days before a certificate expires.
constexpr int kWarnCertDays = 30;
constexpr int kWarnCaDays = 90;

// Every method of the health listener but the health service's.
class HealthOnly : public grpc::CallbackGenericService {
 public:
  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext*) override {
    class Refuse : public grpc::ServerGenericBidiReactor {
     public:
      Refuse() {
        Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                            "this listener serves health checks only"));
      }
      void OnDone() override { delete this; }
    };
    return new Refuse;
  }
};

// A ServerBuilder option that leaves out server reflection (which
// InitProtoReflectionServerBuilderPlugin adds to every server).
class WithoutReflection : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>*
                         plugins) override {
    plugins->erase(std::remove_if(plugins->begin(), plugins->end(),
                                  [](const auto& p) {
                                    return p->name() ==
                                           "proto_server_reflection";
                                  }),
                   plugins->end());
  }
};

void OnSignal(int) { g_stop.store(true); }
void OnHangup(int) { g_reload.store(true); }

using cohortlink::server::Log;
using cohortlink::server::LogLevel;

// The data directory, created 0700 when absent; one that group or others
// may enter is refused with the command that fixes it.
absl::Status PrepareDataDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::PermissionDeniedError(absl::StrCat(
        "cannot create the data directory ", dir, ": ", ec.message()));
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("the data directory ", dir, " is not a directory"));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the data directory ", dir, " is open to other users (mode ",
        absl::StrFormat("%04o", st.st_mode & 07777),
        "); it holds every agency's encodings and the server's secrets. Run: "
        "chmod -R go-rwx ",
        dir));
  }
  if (::access(dir.c_str(), R_OK | W_OK | X_OK) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("the data directory ", dir,
                     " is not readable and writable by ", "this user"));
  }
  return absl::OkStatus();
}

// Compares the access log with its checkpoint and loads the signing key.
// What differs stops the server unless the operator accepted it
// (--accept-integrity-change), which is logged and audited.
absl::StatusOr<std::unique_ptr<cohortlink::keys::SigningKey>> CheckIntegrity(
    const cohortlink::server::ServerConfig& config,
    cohortlink::store::AuditLog* audit) {
  using namespace cohortlink;
  // The key is DATA_DIR/audit-signing.key, made on the first start, unless
  // signing_key_file names one kept elsewhere (a Kubernetes Secret), which
  // must exist.
  const bool own_file = !config.signing_key_file.empty();
  const std::string key_path =
      own_file ? config.signing_key_file
               : absl::StrCat(config.data_dir, "/", store::kSigningKeyFile);
  auto key = keys::SigningKey::Load(key_path);
  if (!key.ok() && (own_file || !absl::IsNotFound(key.status()))) {
    return absl::Status(
        key.status().code(),
        absl::StrCat("the access-log signing key: ", key.status().message()));
  }
  std::vector<std::string> problems =
      audit->CheckIntegrity(key.ok() ? (*key)->fingerprint() : "");
  if (problems.empty()) {
    if (key.ok()) return key;
    if (audit->size() > 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("the access-log signing key ", key_path,
                       " is missing; restore it from its backup"));
    }
    return keys::SigningKey::LoadOrCreate(key_path);  // a new data directory
  }
  std::string what = absl::StrJoin(problems, "; ");
  if (!config.accept_integrity_change) {
    return absl::DataLossError(absl::StrCat(
        "refusing to start: ", what,
        ". Restore the data directory from a backup (docs/server.md, Failure "
        "modes). If you know why this happened and accept the data as it "
        "is, start once with --accept-integrity-change; that is recorded in "
        "the access log"));
  }
  Log(LogLevel::kWarning,
      absl::StrCat("accepting a changed data directory (--accept-integrity-"
                   "change): ",
                   what));
  if (!key.ok()) {
    ASSIGN_OR_RETURN(key, keys::SigningKey::LoadOrCreate(key_path));
  }
  cohortlink::v1::AuditEntry entry;
  entry.set_principal("operator (cohortlink-server --accept-integrity-change)");
  entry.set_role("admin");
  entry.set_method("cohortlink.v1.Server/AcceptIntegrityChange");
  entry.set_target("data directory");
  entry.set_message(what);
  RETURN_IF_ERROR(audit->AcceptState((*key)->fingerprint(), std::move(entry)));
  return key;
}

absl::Status Serve(cohortlink::server::ServerConfig config) {
  using namespace cohortlink;
  if (config.data_dir.empty())
    return absl::InvalidArgumentError("--data-dir is required");
  RETURN_IF_ERROR(PrepareDataDir(config.data_dir));
  server::AdminService::RemoveLeftovers(config.data_dir);
  if (config.dev) {
    ASSIGN_OR_RETURN(std::string dir, server::SetUpDevIdentities(&config));
    Log(LogLevel::kInfo,
        absl::StrCat(
            "dev mode: throwaway CA and certificates in ", dir,
            " (server, police, probation, prison, health, local-authority, "
            "analyst, auditor, admin, exporter)"));
  }
  std::shared_ptr<grpc::ServerCredentials> creds;
  std::unique_ptr<server::PeerCheck> peers;
  if (config.insecure_loopback_only) {
    RETURN_IF_ERROR(server::CheckLoopback(config.listen));
    Log(LogLevel::kWarning,
        "INSECURE: no TLS; callers name themselves in metadata. Loopback "
        "only; never use this outside tests");
    creds = grpc::InsecureServerCredentials();
  } else if (config.tls_dir.empty()) {
    return absl::InvalidArgumentError(
        "no TLS identity: give --tls DIR, tls_dir in the config, "
        "or --dev");
  } else {
    ASSIGN_OR_RETURN(peers,
                     server::PeerCheck::Create(
                         absl::StrCat(config.tls_dir, "/", keys::kCaCertFile),
                         config.crl_file));
    if (!config.crl_file.empty()) {
      server::PeerCheck::Stats st = peers->stats();
      Log(LogLevel::kInfo, "certificate revocation list loaded",
          {{"file", config.crl_file},
           {"revoked", static_cast<uint64_t>(st.revoked)},
           {"next_update", util::FormatUtc(st.crl_next_update)}});
    }
    ASSIGN_OR_RETURN(creds,
                     server::ServerTlsCredentials(config.tls_dir, peers.get()));
    creds->SetAuthMetadataProcessor(
        server::AdminOnlyReflection(config.trust_domain));
  }
  store::StoreOptions store_options;
  store_options.data_key_file = config.data_key_file;
  store_options.disk_reserve_bytes = config.disk_reserve_bytes;
  ASSIGN_OR_RETURN(
      auto db,
      store::Store::Open(absl::StrCat(config.data_dir, "/", store::kDataDbDir),
                         store_options));
  if (!config.data_key_file.empty())
    Log(LogLevel::kInfo, "database encrypted at rest (AES-256-CTR)");
  store::ExtractStoreOptions opts;
  opts.max_records = config.max_records;
  ASSIGN_OR_RETURN(auto audit, store::AuditLog::Create(
                                   db.get(), [] { return absl::Now(); },
                                   absl::StrCat(config.data_dir, "/",
                                                store::kAuditCheckpointFile)));
  // Before anything else is written: is this the data that was
  // acknowledged, signed by the key that signed it?
  ASSIGN_OR_RETURN(auto signing_key, CheckIntegrity(config, audit.get()));
  // The linkage worker is cued by every committed change.
  std::atomic<entities::LinkageRunner*> runner_ptr{nullptr};
  opts.on_change = [&runner_ptr] {
    if (auto* r = runner_ptr.load(); r != nullptr) r->Notify();
  };
  ASSIGN_OR_RETURN(auto extracts,
                   store::ExtractStore::Create(db.get(), opts, audit.get()));
  entities::RunnerOptions ro;
  ro.agency_type = [&config](const std::string& agency) {
    const server::AgencyConfig* a = config.FindAgency(agency);
    return a == nullptr ? std::string() : a->type;
  };
  // Metrics are built once everything they read exists; the runner starts
  // after them, and uploads come only once serving.
  std::atomic<server::Metrics*> metrics_ptr{nullptr};
  ro.on_run = [&metrics_ptr](const absl::Status& s,
                             const cohortlink::v1::LinkageStatus& st) {
    if (absl::IsCancelled(s)) {
      Log(LogLevel::kInfo, absl::StrCat("linkage run stopped: ", s.message()));
      return;
    }
    if (auto* m = metrics_ptr.load(); m != nullptr)
      m->ObserveLinkageRun(s.ok(), st);
    if (!s.ok()) {
      Log(LogLevel::kError, absl::StrCat("linkage run failed: ", s.message()));
      return;
    }
    Log(LogLevel::kInfo, "linkage run",
        {{"generation", st.generation()},
         {"kind", st.incremental() ? "incremental" : "full relink"},
         {"seconds", st.run_seconds()},
         {"records", st.records()},
         {"records_added", st.records_added()},
         {"records_removed", st.records_removed()},
         {"records_reclustered", st.records_touched()},
         {"entities", st.entities()},
         {"model_version", st.model_version()},
         {"model_converged", st.model_converged()},
         {"candidate_pairs", st.candidate_pairs()},
         {"reduction_ratio", st.reduction_ratio()},
         {"token_pairs", st.token_pairs()},
         {"lsh_pairs", st.lsh_pairs()},
         {"split_pairs", st.split_pairs()},
         {"oversized_blocks", st.oversized_blocks()},
         {"links", st.links()},
         {"refused_merges", st.refused_merges()},
         {"blocking_seconds", st.blocking_seconds()},
         {"training_seconds", st.training_seconds()},
         {"scoring_seconds", st.scoring_seconds()},
         {"clustering_seconds", st.clustering_seconds()},
         {"note", st.message()}});
  };
  entities::LinkageRunner runner(db.get(), extracts.get(), ro);
  runner_ptr.store(&runner);
  server::IngestService ingest(
      &config, extracts.get(), audit.get(),
      [&runner] { return runner.progress(); },
      [&metrics_ptr](uint64_t records, uint64_t bytes) {
        if (auto* m = metrics_ptr.load(); m != nullptr)
          m->ObserveUpload(records, bytes);
      });
  // When the server's own certificate (as renewed on disk) expires;
  // InfinitePast when it cannot be read. For `status` and metrics.
  auto server_cert_not_after = [&config] {
    auto pem =
        util::ReadFile(absl::StrCat(config.tls_dir, "/", keys::kCertFile));
    if (!pem.ok()) return absl::InfinitePast();
    return keys::CertificateNotAfter(*pem).value_or(absl::InfinitePast());
  };
  // What `status` tells an admin to act on: certificates and the CRL.
  auto admin_warnings = [&peers, &config, &server_cert_not_after] {
    std::vector<std::string> out;
    if (peers == nullptr) return out;
    const absl::Time now = absl::Now();
    auto days = [&](absl::Time t) {
      return static_cast<int64_t>(absl::ToDoubleHours(t - now) / 24);
    };
    server::PeerCheck::Stats st = peers->stats();
    if (const absl::Time until = server_cert_not_after();
        until != absl::InfinitePast()) {
      if (until - now < absl::Hours(24 * kWarnCertDays)) {
        out.push_back(absl::StrCat(
            "the server's certificate expires on ", util::FormatUtc(until),
            " (in ", days(until),
            " days): renew it with cohortlink keys renew --ca CA_DIR --dir ",
            config.tls_dir, "; the server picks it up without a restart"));
      }
    }
    if (st.ca_not_after - now < absl::Hours(24 * kWarnCaDays)) {
      out.push_back(absl::StrCat("the CA certificate expires on ",
                                 util::FormatUtc(st.ca_not_after), " (in ",
                                 days(st.ca_not_after),
                                 " days): plan a new CA (docs/operations.md)"));
    }
    if (st.has_crl && st.crl_next_update - now < absl::Hours(24 * 7)) {
      out.push_back(absl::StrCat(
          "the revocation list's next update ",
          st.crl_next_update < now ? "was due on " : "is due on ",
          util::FormatUtc(st.crl_next_update),
          ": re-sign it with cohortlink keys revoke --ca CA_DIR and copy it "
          "to ",
          config.crl_file));
    }
    if (st.reload_failures > 0) {
      out.push_back(absl::StrCat(
          st.reload_failures,
          " reload(s) of the CA or revocation list failed since the start; "
          "the last good list is in force (see the server's log)"));
    }
    return out;
  };
  server::LinkageService linkage(&config, &runner, extracts.get(), audit.get(),
                                 admin_warnings);
  // The sets behind every published count, for the differencing rule.
  ASSIGN_OR_RETURN(
      auto published,
      store::PublishedSetStore::Open(
          db.get(), cohort::SetSketch::WidthFor(config.disclosure_threshold)));
  cohort::DifferencingControl differencing(published.get());
  store::PrivacyBudgets budgets(db.get());
  server::QueryService queries(&config, &runner, &differencing, &budgets,
                               audit.get(), cohort::SystemRandom());
  // Signed tree heads over the access log, with the server's Ed25519 key;
  // its public key is written beside it for auditors.
  {
    const std::string pub =
        absl::StrCat(config.data_dir, "/", store::kPublicKeyFile);
    ASSIGN_OR_RETURN(auto f, util::AtomicFile::Create(pub, 0644));
    RETURN_IF_ERROR(f->Write(signing_key->public_key_pem()));
    RETURN_IF_ERROR(f->Commit());
    Log(LogLevel::kInfo,
        absl::StrCat("access log public key (for cohortlink audit "
                     "verify --pubkey): ",
                     pub));
  }
  server::TreeHeads heads(db.get(), audit.get(), std::move(signing_key));
  server::AuditService auditing(&config, audit.get(), &heads);
  server::AdminService admin(&config, db.get(), audit.get(), &heads.key());
  auto health = [&db, &runner, &peers, &server_cert_not_after] {
    server::Health h;
    if (peers != nullptr) {
      h.tls = true;
      server::PeerCheck::Stats st = peers->stats();
      h.handshakes_refused = {{"revoked", st.refused_revoked},
                              {"expired", st.refused_expired},
                              {"untrusted", st.refused_untrusted},
                              {"malformed", st.refused_malformed}};
      h.crl_reload_failures = st.reload_failures;
      h.crl_loaded = st.has_crl;
      h.crl_revoked = st.revoked;
      h.crl_next_update = st.crl_next_update;
      h.ca_not_after = st.ca_not_after;
      h.server_cert_not_after = server_cert_not_after();
    }
    absl::Status storage = db->Health();
    h.storage_ok = storage.ok();
    h.storage_full = absl::IsResourceExhausted(storage);
    h.linkage_failed = !runner.Failure().ok();
    h.linkage_failures = runner.failures();
    return h;
  };
  server::Metrics metrics(
      [&extracts, &published, &budgets, &config, &runner, &audit,
       &heads]() -> absl::StatusOr<server::Inventory> {
        ASSIGN_OR_RETURN(auto all, extracts->List(""));
        server::Inventory inv;
        const cohortlink::v1::LinkageStatus st = runner.Status();
        inv.linkage_generation = st.generation();
        inv.linkage_records = st.records();
        inv.linkage_entities = st.entities();
        inv.access_log_entries = audit->size();
        inv.access_log_signed_at = heads.last_issued();
        inv.extracts = all.size();
        for (const auto& x : all) inv.records += x.records();
        inv.published_sets = published->EstimatedEntries();
        for (const auto& p : config.projects) {
          if (!p.private_mode) continue;
          ASSIGN_OR_RETURN(store::BudgetAccount a, budgets.Get(p.name));
          inv.budgets.push_back(
              {p.name, static_cast<double>(a.spent) / cohort::kMicro,
               static_cast<double>(p.rho_total) / cohort::kMicro});
        }
        return inv;
      },
      health);
  metrics_ptr.store(&metrics);
  // The worker starts once its runs can be counted (its first, the warm
  // start's relink, included).
  runner.Start();
  if (!config.metrics_listen.empty()) {
    RETURN_IF_ERROR(metrics.Listen(config.metrics_listen));
    const std::string at = absl::StrCat(
        config.metrics_listen.substr(0, config.metrics_listen.rfind(':')), ":",
        metrics.port());
    Log(LogLevel::kInfo, absl::StrCat("metrics on http://", at, "/metrics"),
        {{"listener", "metrics"}, {"address", at}});
  }

  // Standard gRPC health checking (grpc.health.v1) and server reflection,
  // both behind the same mutual TLS as everything else.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  // The port is this server's alone: gRPC would otherwise set SO_REUSEPORT,
  // and a second server (with another data directory) could bind the same
  // port and take half of the calls.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Concurrency is bounded (docs/limits.md): streams per connection, and
  // the threads that serve calls; a call beyond them is refused with
  // RESOURCE_EXHAUSTED instead of queueing without end.
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             kMaxStreamsPerConnection);
  grpc::ResourceQuota quota("cohortlink-server");
  quota.SetMaxThreads(kMaxServerThreads);
  builder.SetResourceQuota(quota);
  builder.AddListeningPort(config.listen, creds, &port);
  builder.SetMaxReceiveMessageSize(config.max_message_bytes);
  builder.RegisterService(&ingest);
  builder.RegisterService(&linkage);
  builder.RegisterService(&queries);
  builder.RegisterService(&auditing);
  builder.RegisterService(&admin);
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(metrics.InterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", config.listen));
  }
  // Health checks for probes without a client certificate, on their own
  // plaintext listener: the health service alone (no reflection, no
  // other service), unaudited, and saying only SERVING or NOT_SERVING.
  std::unique_ptr<grpc::Server> health_server;
  HealthOnly health_only;
  if (!config.health_listen.empty()) {
    grpc::ServerBuilder hb;
    int health_port = 0;
    hb.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    hb.AddListeningPort(config.health_listen, grpc::InsecureServerCredentials(),
                        &health_port);
    hb.SetOption(std::make_unique<WithoutReflection>());
    // Any other method: UNIMPLEMENTED. (A callback service also gives the
    // server the polled completion queue it needs without sync services.)
    hb.RegisterCallbackGenericService(&health_only);
    health_server = hb.BuildAndStart();
    if (!health_server || health_port == 0) {
      server->Shutdown();
      return absl::UnavailableError(
          absl::StrCat("cannot listen on ", config.health_listen));
    }
    const std::string at = absl::StrCat(
        config.health_listen.substr(0, config.health_listen.rfind(':')), ":",
        health_port);
    Log(LogLevel::kInfo,
        absl::StrCat("health checks (no client certificate) on ", at),
        {{"listener", "health"}, {"address", at}});
  }
  // Health services: "liveness" is SERVING while the server runs;
  // "readiness", and the overall status (""), only while it can answer:
  // the database takes writes, the linkage has not failed, and the query
  // index of the stored linkage is loaded (the warm start after a restart
  // rebuilds it) or no linkage run has ever completed.
  auto set_health = [&](const std::string& service, bool ok) {
    for (grpc::Server* s : {server.get(), health_server.get()}) {
      if (s == nullptr) continue;
      if (service.empty()) {
        s->GetHealthCheckService()->SetServingStatus(ok);
      } else {
        s->GetHealthCheckService()->SetServingStatus(service, ok);
      }
    }
  };
  auto set_serving = [&](bool ok) {
    set_health("", ok);
    set_health("readiness", ok);
  };
  set_health("liveness", true);
  // The stored linkage's query index: loaded, or there is none yet (no
  // run has ever completed, so there is nothing to answer from).
  auto index_ready = [&] {
    return runner.QueryIndex() != nullptr || runner.Status().generation() == 0;
  };
  bool serving = index_ready();
  set_serving(serving);
  if (!serving) {
    Log(LogLevel::kInfo,
        "health: NOT_SERVING until the stored linkage's query index is "
        "loaded");
  }
  {
    const std::string at = absl::StrCat(
        config.listen.substr(0, config.listen.rfind(':')), ":", port);
    Log(LogLevel::kInfo,
        absl::StrCat("listening on ", at,
                     config.insecure_loopback_only ? " (INSECURE, no TLS)"
                                                   : " (mutual TLS)"),
        {{"listener", "grpc"},
         {"address", at},
         {"tls", !config.insecure_loopback_only},
         {"trust_domain", config.trust_domain}});
  }
  absl::Time next_resume = absl::InfinitePast();
  absl::Time next_crl_look = absl::InfinitePast();
  while (!g_stop.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    // Health: NOT_SERVING while the database refuses writes (a full disk)
    // or the linkage failed. A stopped database is asked to resume once a
    // second, so freeing space is enough to recover.
    server::Health h = health();
    if (!h.storage_ok && absl::Now() >= next_resume) {
      next_resume = absl::Now() + absl::Seconds(1);
      if (db->TryResume().ok()) {
        Log(LogLevel::kInfo, "storage: writes succeed again; serving");
        h = health();
      }
    }
    const bool ok = h.storage_ok && !h.linkage_failed && index_ready();
    if (ok != serving) {
      serving = ok;
      set_serving(serving);
      if (!serving) {
        Log(LogLevel::kError,
            absl::StrCat("health: NOT_SERVING (",
                         !h.storage_ok ? db->Health().message()
                         : h.linkage_failed
                             ? runner.Failure().message()
                             : "the stored linkage's query index is "
                               "loading",
                         ")"));
      } else {
        Log(LogLevel::kInfo, "health: SERVING");
      }
    }
    // The CA and CRL: at once on SIGHUP, and whenever their files change
    // (looked at once a second).
    if (peers != nullptr) {
      absl::StatusOr<bool> reloaded = false;
      if (g_reload.exchange(false)) {
        absl::Status r = peers->Reload();
        reloaded = r.ok() ? absl::StatusOr<bool>(true) : r;
      } else if (absl::Now() >= next_crl_look) {
        next_crl_look = absl::Now() + absl::Seconds(1);
        reloaded = peers->ReloadIfChanged();
      }
      if (!reloaded.ok()) {
        Log(LogLevel::kError, std::string(reloaded.status().message()));
      } else if (*reloaded) {
        server::PeerCheck::Stats st = peers->stats();
        Log(LogLevel::kInfo, "certificate revocation list reloaded",
            {{"file", config.crl_file},
             {"revoked", static_cast<uint64_t>(st.revoked)},
             {"next_update", st.has_crl ? util::FormatUtc(st.crl_next_update)
                                        : std::string("none")}});
      }
    } else {
      g_reload.store(false);
    }
    // A signed tree head at least every 1,000 entries or 60 seconds.
    if (absl::Status s = heads.MaybeIssue(1000, absl::Seconds(60)); !s.ok())
      Log(LogLevel::kError, absl::StrCat("signing a tree head: ", s.message()));
  }
  Log(LogLevel::kInfo, "shutting down: finishing in-flight calls");
  set_serving(false);
  if (health_server) health_server->Shutdown();
  // In-flight calls get kShutdownGrace; then they are cancelled (a query
  // polls for that and stops), so the final tree head is always written.
  server->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
  runner.Stop();  // a linkage run in progress finishes (it is atomic anyway)
  if (auto sth = heads.Issue(); sth.ok()) {
    Log(LogLevel::kInfo, "access log: final signed tree head",
        {{"entries", sth->tree_size()},
         {"root", util::HexEncode(sth->root_hash()).substr(0, 16)}});
  } else {
    Log(LogLevel::kError,
        absl::StrCat("signing the final tree head: ", sth.status().message()));
  }
  runner_ptr.store(nullptr);
  metrics_ptr.store(nullptr);
  Log(LogLevel::kInfo, "stopped");
  return absl::OkStatus();
}

// --check-config: what the server checks of a config before it opens
// anything, printed as a summary on success.
absl::Status CheckConfig(const std::string& path) {
  ASSIGN_OR_RETURN(cohortlink::server::ServerConfig c,
                   cohortlink::server::LoadConfig(path));
  auto fail = [&](absl::string_view field, const absl::Status& s) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", field, ": ", s.message()));
  };
  if (!c.tls_dir.empty()) {
    auto tls = cohortlink::keys::LoadTlsDir(c.tls_dir);
    if (!tls.ok()) return fail("tls_dir", tls.status());
    // The server's certificate chains to the CA and is valid now.
    if (auto v =
            cohortlink::keys::VerifyCertificate(tls->ca_pem, tls->cert_pem);
        !v.ok())
      return fail("tls_dir", v);
  }
  if (!c.crl_file.empty()) {
    if (c.tls_dir.empty())
      return fail("crl_file", absl::InvalidArgumentError("needs tls_dir"));
    auto check = cohortlink::server::PeerCheck::Create(
        absl::StrCat(c.tls_dir, "/", cohortlink::keys::kCaCertFile),
        c.crl_file);
    if (!check.ok()) return fail("crl_file", check.status());
  }
  if (!c.signing_key_file.empty()) {
    if (auto k = cohortlink::keys::SigningKey::Load(c.signing_key_file);
        !k.ok())
      return fail("signing_key_file", k.status());
  }
  if (!c.data_key_file.empty()) {
    if (auto k = cohortlink::keys::CheckPrivateFile(c.data_key_file); !k.ok())
      return fail("data_key_file", k);
  }
  size_t budgeted = 0;
  for (const auto& p : c.projects) budgeted += p.private_mode;
  std::cout << absl::StrFormat(
      "%s: OK (listen %s, %d agencies, %d codelists, %d projects of which %d "
      "with a privacy budget, TLS %s)\n",
      path, c.listen, c.agencies.size(), c.query_space.codelists.size(),
      c.projects.size(), budgeted, c.tls_dir.empty() ? "not set" : c.tls_dir);
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  // Everything the server creates is private to its user.
  ::umask(077);
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGHUP, OnHangup);
  CLI::App app{"cohortlink-server: privacy-preserving record linkage server"};
  std::string config_path, data_dir, listen, tls_dir, metrics_listen,
      health_listen, data_key_file;
  bool dev = false, insecure = false;
  app.add_option("--config", config_path,
                 "JSON configuration file (docs/server.md)")
      ->check(CLI::ExistingFile);
  app.add_option("--data-dir", data_dir,
                 "Directory for the database (and dev certificates)");
  app.add_option("--listen", listen,
                 "HOST:PORT to listen on (default 127.0.0.1:7443)");
  app.add_option("--tls", tls_dir, "The server's ca.pem, cert.pem, key.pem");
  std::string crl_file;
  app.add_option("--crl", crl_file,
                 "The CA's revocation list (cohortlink keys revoke): checked "
                 "at every handshake, reloaded on change or SIGHUP")
      ->check(CLI::ExistingFile);
  app.add_option("--metrics-listen", metrics_listen,
                 "HOST:PORT for the Prometheus /metrics endpoint (off by "
                 "default; port 0 picks a free one)");
  app.add_option("--health-listen", health_listen,
                 "HOST:PORT for plaintext gRPC health checks without a client "
                 "certificate (off by default; port 0 picks a free one)");
  app.add_option("--data-key-file", data_key_file,
                 "Encrypt the database at rest with a key derived from this "
                 "secret file (0600); also COHORTLINK_DATA_KEY_FILE");
  std::string rotate_to;
  app.add_option("--rotate-data-key", rotate_to,
                 "Re-encrypt the stopped server's database under this new key "
                 "file, then exit (the old key from --data-key-file)");
  app.add_flag("--insecure-loopback-only", insecure,
               "Serve without TLS, taking the caller's identity from request "
               "metadata; refuses non-loopback addresses. Tests only");
  bool accept_integrity_change = false;
  app.add_flag("--accept-integrity-change", accept_integrity_change,
               "Start although the data directory differs from its checkpoint "
               "(a shorter access log, a replaced signing key): accepts the "
               "data as found, and records that in the access log");
  app.add_flag("--dev", dev,
               "Create a throwaway CA and certificates under DATA_DIR/dev-tls "
               "on first start");
  std::string restore_from, signing_key;
  app.add_option("--restore", restore_from,
                 "Build a new data directory (--data-dir, absent or empty) "
                 "from this backup ('cohortlink backup create'), check it, "
                 "and exit; then start the server on it")
      ->check(CLI::ExistingDirectory);
  app.add_option("--signing-key", signing_key,
                 "The access-log signing key (default "
                 "DATA_DIR/audit-signing.key, made on the first start; "
                 "cohortlink keys signing-key makes one); with --restore, "
                 "the key kept apart from the backups")
      ->check(CLI::ExistingFile);
  std::string check_config;
  app.add_option("--check-config", check_config,
                 "Check this configuration file (every field and limit, and "
                 "its TLS directory) and exit: 0 when the server would accept "
                 "it")
      ->check(CLI::ExistingFile);
  std::string log_level = "info";
  app.add_option("--log-level", log_level,
                 "Lowest level logged: debug, info, warning or error; gRPC's "
                 "own messages follow it")
      ->check(CLI::IsMember({"debug", "info", "warning", "error"}))
      ->capture_default_str();
  app.set_version_flag("--version", "cohortlink-server " COHORTLINK_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  cohortlink::server::SetLogLevel(
      *cohortlink::server::ParseLogLevel(log_level));
  cohortlink::server::RouteGrpcLogs();
  if (!check_config.empty()) {
    absl::Status s = CheckConfig(check_config);
    if (!s.ok()) {
      std::cerr << "cohortlink-server: " << s.message() << "\n";
      return 1;
    }
    return 0;
  }
  cohortlink::server::ServerConfig config;
  if (!config_path.empty()) {
    auto c = cohortlink::server::LoadConfig(config_path);
    if (!c.ok()) {
      Log(LogLevel::kError, std::string(c.status().message()));
      return 1;
    }
    config = *c;
  }
  if (!data_dir.empty()) config.data_dir = data_dir;
  if (!listen.empty()) config.listen = listen;
  if (!tls_dir.empty()) config.tls_dir = tls_dir;
  if (!crl_file.empty()) config.crl_file = crl_file;
  if (!signing_key.empty()) config.signing_key_file = signing_key;
  if (!metrics_listen.empty()) config.metrics_listen = metrics_listen;
  if (!health_listen.empty()) config.health_listen = health_listen;
  if (const char* env = std::getenv("COHORTLINK_DATA_KEY_FILE");
      env != nullptr && *env != '\0') {
    config.data_key_file = env;
  }
  if (!data_key_file.empty()) config.data_key_file = data_key_file;
  config.dev = config.dev || dev;
  config.insecure_loopback_only = insecure;
  config.accept_integrity_change = accept_integrity_change;
  if (!rotate_to.empty()) {
    if (config.data_dir.empty()) {
      Log(LogLevel::kError, "--rotate-data-key needs --data-dir");
      return 2;
    }
    absl::Status s = cohortlink::store::Store::RotateDataKey(
        config.data_dir + "/db", config.data_key_file, rotate_to);
    if (!s.ok()) {
      Log(LogLevel::kError, std::string(s.message()));
      return 1;
    }
    Log(LogLevel::kInfo, absl::StrCat("database re-encrypted under ", rotate_to,
                                      "; the old one is in ", config.data_dir,
                                      "/db.old until you remove it"));
    return 0;
  }
  if (!restore_from.empty()) {
    if (config.data_dir.empty() || signing_key.empty()) {
      Log(LogLevel::kError,
          "--restore needs --data-dir (the new data directory) and "
          "--signing-key (the access-log signing key kept apart from the "
          "backups)");
      return 2;
    }
    cohortlink::store::RestoreOptions ro;
    ro.signing_key_file = signing_key;
    ro.data_key_file = config.data_key_file;
    const absl::Time start = absl::Now();
    auto restored =
        cohortlink::store::RestoreBackup(restore_from, config.data_dir, ro);
    if (!restored.ok()) {
      Log(LogLevel::kError,
          absl::StrCat("restore: ", restored.status().message()));
      return 1;
    }
    Log(LogLevel::kInfo,
        absl::StrCat("restored ", restore_from, " into ", config.data_dir,
                     "; start the server with --data-dir ", config.data_dir),
        {{"access_log_entries", restored->access_log_entries},
         {"extracts", restored->extracts},
         {"records", restored->records},
         {"seconds", absl::ToDoubleSeconds(absl::Now() - start)}});
    return 0;
  }
  absl::Status s = Serve(config);
  if (!s.ok()) {
    Log(LogLevel::kError, std::string(s.message()));
    return 1;
  }
  return 0;
}
