#ifndef COHORTLINK_SERVER_CONFIG_H_
#define COHORTLINK_SERVER_CONFIG_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "linkage/cohort/query_space.h"
#include "linkage/store/extract_store.h"

namespace cohortlink::server {

struct AgencyConfig {
  std::string id;    // the <agency-id> of submitter identities
  std::string type;  // police | probation | prison | health | local-authority
  std::string display_name;
};

// A group of analysts working on one question (docs/disclosure.md). With a
// privacy budget, its answers are differentially private and charged to
// the budget; without one they are controlled like every other answer.
struct ProjectConfig {
  std::string name;
  std::set<std::string> analysts;  // user names of analyst identities
  bool private_mode = false;       // has a privacy budget
  uint64_t rho_total = 0;          // micro-rho (zCDP)
  uint64_t rho_per_query = 0;      // micro-rho: the default charge
  double delta = 1e-6;             // for the (epsilon, delta) shown
};
inline constexpr size_t kMaxProjects = 256;
inline constexpr size_t kMaxProjectAnalysts = 1000;

// The agency types, and the built-in event types and attributes of each
// (docs/server.md). Every type may send sex, age_band and area.
const std::vector<std::string>& AgencyTypes();
std::map<std::string, store::RecordPolicy> DefaultAgencyTypePolicies();

// The ranges of the configurable limits (docs/limits.md).
inline constexpr int64_t kMaxRecordsLimit = 1'000'000'000;  // per extract
inline constexpr int64_t kMinMessageBytes = 64 << 10;
inline constexpr int64_t kMaxMessageBytes = 64 << 20;

// cohortlink-server configuration (docs/server.md). Command-line flags
// override the file.
struct ServerConfig {
  std::string data_dir;
  std::string listen = "127.0.0.1:7443";
  std::string tls_dir;  // ca.pem, cert.pem, key.pem of the server
  // The CA's certificate revocation list (`cohortlink keys revoke`),
  // checked at every handshake and reloaded when it changes or on SIGHUP;
  // empty: none.
  std::string crl_file;
  // The access-log signing key; empty: DATA_DIR/audit-signing.key, made
  // on the first start. A file named here must exist.
  std::string signing_key_file;
  std::string trust_domain = "cohortlink.local";
  std::vector<AgencyConfig> agencies;
  // Event types and attributes each agency type may send
  // (DefaultAgencyTypePolicies() unless the config's "agency_types" replaces
  // a type's lists).
  std::map<std::string, store::RecordPolicy> agency_types =
      DefaultAgencyTypePolicies();
  std::string metrics_listen;  // empty: no Prometheus endpoint
  // Plaintext gRPC health checks only, for probes without a client
  // certificate; empty: none.
  std::string health_listen;
  // Encryption at rest: a secret file (0600) the database key is derived
  // from; empty for none (docs/server.md).
  std::string data_key_file;
  // Disclosure control of every cohort count (docs/disclosure.md).
  uint32_t disclosure_threshold = 10;
  uint32_t disclosure_rounding = 5;
  // The questions analysts may ask: cohort periods on a calendar grid,
  // outcome windows from a menu (docs/disclosure.md).
  cohort::QuerySpace query_space;
  bool insecure_loopback_only = false;
  // Start although the data directory differs from its access-log
  // checkpoint (command line only; audited).
  bool accept_integrity_change = false;
  uint64_t max_records = 50'000'000;
  // Free space the store keeps in reserve (limits.disk_reserve_mib).
  uint64_t disk_reserve_bytes = uint64_t{128} << 20;
  int max_message_bytes = 16 << 20;
  bool dev = false;
  std::vector<ProjectConfig> projects;

  const AgencyConfig* FindAgency(const std::string& id) const;
  const ProjectConfig* FindProject(const std::string& name) const;
  // The record policy of a registered agency's type.
  store::RecordPolicy PolicyFor(const AgencyConfig& agency) const;
};

// Reads a JSON config; INVALID_ARGUMENT names the field.
absl::StatusOr<ServerConfig> LoadConfig(const std::string& path);
// The same from the file's text; `path` names it in errors.
absl::StatusOr<ServerConfig> ParseConfig(const std::string& text,
                                         const std::string& path);

// The agencies `--dev` registers (ids = types).
std::vector<AgencyConfig> DevAgencies();

// --dev: creates (once) a throwaway CA and certificates under
// <data_dir>/dev-tls/<name>/ for "server", one submitter per dev agency,
// and "analyst", "auditor", "admin", "exporter"; sets tls_dir, trust
// domain and agencies. Returns the directory.
absl::StatusOr<std::string> SetUpDevIdentities(ServerConfig* config);

}  // namespace cohortlink::server

#endif  // COHORTLINK_SERVER_CONFIG_H_
