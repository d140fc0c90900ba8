#include "server/config.h"

#include <cmath>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "keys/pki.h"
#include "linkage/cohort/private_counts.h"
#include "linkage/cohort/query_spec.h"
#include "linkage/encoding/json.h"
#include "util/atomic_file.h"
#include "util/names.h"
#include "util/status_macros.h"

namespace cohortlink::server {

const AgencyConfig* ServerConfig::FindAgency(const std::string& id) const {
  for (const auto& a : agencies) {
    if (a.id == id) return &a;
  }
  return nullptr;
}

const ProjectConfig* ServerConfig::FindProject(const std::string& name) const {
  for (const auto& p : projects) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

const std::vector<std::string>& AgencyTypes() {
  static const auto* kTypes = new std::vector<std::string>{
      "police", "probation", "prison", "health", "local-authority"};
  return *kTypes;
}

std::map<std::string, store::RecordPolicy> DefaultAgencyTypePolicies() {
  struct Row {
    const char* type;
    std::vector<std::string> events, attributes;
  };
  const std::vector<Row> rows = {
      {"police",
       {"arrest", "charge", "caution", "out_of_court_resolution", "conviction"},
       {"offence_group"}},
      {"probation",
       {"supervision_start", "supervision_end", "iom_start", "iom_end",
        "recall"},
       {"tier"}},
      {"prison",
       {"reception", "release", "transfer"},
       {"establishment", "sentence_band"}},
      {"health",
       {"gp_registration", "drug_treatment_start", "drug_treatment_end",
        "alcohol_treatment_start", "mental_health_referral"},
       {}},
      {"local-authority",
       {"accommodation_assessment", "homelessness_application",
        "housing_allocation", "children_services_referral"},
       {"accommodation_status", "checkpoint"}},
  };
  std::map<std::string, store::RecordPolicy> out;
  for (const Row& r : rows) {
    store::RecordPolicy p;
    p.agency_type = r.type;
    p.event_types.insert(r.events.begin(), r.events.end());
    p.attributes = {"sex", "age_band", "area"};
    p.attributes.insert(r.attributes.begin(), r.attributes.end());
    out[r.type] = std::move(p);
  }
  return out;
}

store::RecordPolicy ServerConfig::PolicyFor(const AgencyConfig& agency) const {
  auto it = agency_types.find(agency.type);
  store::RecordPolicy p;  // an unknown type may send linkage-only records
  if (it != agency_types.end()) {
    p = it->second;
  } else {
    p.agency_type = agency.type;
  }
  for (const auto& [name, values] : query_space.codelists)
    p.codelists[name].insert(values.begin(), values.end());
  return p;
}

std::vector<AgencyConfig> DevAgencies() {
  return {{"police", "police", "Police (dev)"},
          {"probation", "probation", "Probation (dev)"},
          {"prison", "prison", "Prison (dev)"},
          {"health", "health", "Health (dev)"},
          {"local-authority", "local-authority", "Local authority (dev)"}};
}

absl::StatusOr<ServerConfig> LoadConfig(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, util::ReadFile(path));
  return ParseConfig(text, path);
}

namespace {

// A rho in the config, to whole micro-rho: 1e-6 to cohort::kMaxRho.
absl::StatusOr<uint64_t> MicroRho(const encoding::JsonObject& o,
                                  absl::string_view key) {
  ASSIGN_OR_RETURN(double rho, o.GetNumber(key, -1));
  const std::optional<uint64_t> micro = cohort::ToMicroRho(rho);
  if (!micro.has_value()) {
    return o.Error(key, absl::StrCat("must be 0.000001 to ", cohort::kMaxRho,
                                     ", in steps of 0.000001"));
  }
  return *micro;
}

absl::Status ParseProjects(const encoding::JsonObject& root, ServerConfig* c) {
  ASSIGN_OR_RETURN(auto list, root.GetList("projects"));
  if (static_cast<size_t>(list->values_size()) > kMaxProjects) {
    return root.Error(
        "projects",
        absl::StrCat(list->values_size(), " projects; at most ", kMaxProjects));
  }
  for (int i = 0; i < list->values_size(); ++i) {
    ASSIGN_OR_RETURN(
        auto p, encoding::JsonObject::Of(list->values(i),
                                         absl::StrCat("projects[", i, "]")));
    RETURN_IF_ERROR(p.AllowOnly({"name", "analysts", "privacy_budget"}));
    ProjectConfig project;
    ASSIGN_OR_RETURN(project.name, p.GetString("name"));
    RETURN_IF_ERROR(util::CheckName(p.PathOf("name"), project.name,
                                    cohort::kMaxLabelBytes));
    if (c->FindProject(project.name) != nullptr)
      return p.Error("name", "duplicate project");
    ASSIGN_OR_RETURN(auto analysts, p.GetStringList("analysts"));
    if (analysts.empty() || analysts.size() > kMaxProjectAnalysts) {
      return p.Error("analysts",
                     absl::StrCat("must name 1 to ", kMaxProjectAnalysts,
                                  " analysts (user names)"));
    }
    for (size_t a = 0; a < analysts.size(); ++a) {
      RETURN_IF_ERROR(
          util::CheckName(p.PathOf(absl::StrCat("analysts[", a, "]")),
                          analysts[a], cohort::kMaxLabelBytes));
      if (!project.analysts.insert(analysts[a]).second)
        return p.Error("analysts",
                       absl::StrCat("'", analysts[a], "' is named twice"));
    }
    if (p.Has("privacy_budget")) {
      ASSIGN_OR_RETURN(auto b, p.GetObject("privacy_budget"));
      RETURN_IF_ERROR(b.AllowOnly({"rho", "rho_per_query", "delta"}));
      project.private_mode = true;
      ASSIGN_OR_RETURN(project.rho_total, MicroRho(b, "rho"));
      ASSIGN_OR_RETURN(project.rho_per_query, MicroRho(b, "rho_per_query"));
      if (project.rho_per_query > project.rho_total)
        return b.Error("rho_per_query", "must not exceed rho");
      ASSIGN_OR_RETURN(project.delta, b.GetNumber("delta", project.delta));
      if (!(project.delta >= 1e-12 && project.delta <= 1e-3))
        return b.Error("delta", "must be 1e-12 to 1e-3");
    }
    c->projects.push_back(std::move(project));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ServerConfig> ParseConfig(const std::string& text,
                                         const std::string& path) {
  auto doc = encoding::ParseJson(text, path);
  if (!doc.ok()) return doc.status();
  auto fail = [&](const absl::Status& s) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", s.message()));
  };
  auto root = encoding::JsonObject::Of(*doc, "");
  if (!root.ok()) return fail(root.status());
  if (auto s = root->AllowOnly({"data_dir", "listen", "tls_dir", "crl_file",
                                "signing_key_file", "trust_domain",
                                "metrics_listen", "health_listen", "agencies",
                                "agency_types", "limits", "disclosure",
                                "query_space", "data_key_file", "projects"});
      !s.ok()) {
    return fail(s);
  }
  ServerConfig c;
  for (auto [key, dest] :
       {std::pair{"data_dir", &c.data_dir}, std::pair{"listen", &c.listen},
        std::pair{"tls_dir", &c.tls_dir}, std::pair{"crl_file", &c.crl_file},
        std::pair{"signing_key_file", &c.signing_key_file},
        std::pair{"trust_domain", &c.trust_domain},
        std::pair{"metrics_listen", &c.metrics_listen},
        std::pair{"health_listen", &c.health_listen},
        std::pair{"data_key_file", &c.data_key_file}}) {
    auto v = root->GetString(key, *dest);
    if (!v.ok()) return fail(v.status());
    *dest = *v;
  }
  if (root->Has("agencies")) {
    auto list = root->GetList("agencies");
    if (!list.ok()) return fail(list.status());
    if (static_cast<size_t>((*list)->values_size()) > store::kMaxAgencies) {
      return fail(root->Error("agencies", absl::StrCat((*list)->values_size(),
                                                       " agencies; at most ",
                                                       store::kMaxAgencies)));
    }
    for (int i = 0; i < (*list)->values_size(); ++i) {
      auto a = encoding::JsonObject::Of((*list)->values(i),
                                        absl::StrCat("agencies[", i, "]"));
      if (!a.ok()) return fail(a.status());
      if (auto s = a->AllowOnly({"id", "type", "display_name"}); !s.ok())
        return fail(s);
      AgencyConfig ag;
      auto id = a->GetString("id");
      auto type = a->GetString("type");
      auto name = a->GetString("display_name", "");
      if (!id.ok()) return fail(id.status());
      if (!type.ok()) return fail(type.status());
      if (!name.ok()) return fail(name.status());
      ag.id = *id;
      ag.type = *type;
      ag.display_name = name->empty() ? *id : *name;
      if (std::find(AgencyTypes().begin(), AgencyTypes().end(), ag.type) ==
          AgencyTypes().end()) {
        return fail(a->Error("type",
                             "must be police, probation, prison, health or "
                             "local-authority"));
      }
      if (c.FindAgency(ag.id) != nullptr)
        return fail(a->Error("id", "duplicate agency"));
      c.agencies.push_back(ag);
    }
  }
  if (root->Has("agency_types")) {
    auto types = root->GetObject("agency_types");
    if (!types.ok()) return fail(types.status());
    for (const std::string& type : AgencyTypes()) {
      if (!types->Has(type)) continue;
      auto t = types->GetObject(type);
      if (!t.ok()) return fail(t.status());
      if (auto s = t->AllowOnly({"event_types", "attributes"}); !s.ok())
        return fail(s);
      store::RecordPolicy& p = c.agency_types[type];
      for (auto [key, dest] : {std::pair{"event_types", &p.event_types},
                               std::pair{"attributes", &p.attributes}}) {
        if (!t->Has(key)) continue;
        auto names = t->GetStringList(key);
        if (!names.ok()) return fail(names.status());
        dest->clear();
        dest->insert(names->begin(), names->end());
      }
    }
    if (auto s = types->AllowOnly({AgencyTypes().begin(), AgencyTypes().end()});
        !s.ok()) {
      return fail(s);
    }
  }
  if (root->Has("disclosure")) {
    auto d = root->GetObject("disclosure");
    if (!d.ok()) return fail(d.status());
    if (auto s = d->AllowOnly({"threshold", "rounding"}); !s.ok())
      return fail(s);
    auto t = d->GetInt("threshold", c.disclosure_threshold);
    auto r = d->GetInt("rounding", c.disclosure_rounding);
    if (!t.ok()) return fail(t.status());
    if (!r.ok()) return fail(r.status());
    if (*t < 1 || *t > cohort::kMaxThreshold) {
      return fail(d->Error(
          "threshold", absl::StrCat("must be 1 to ", cohort::kMaxThreshold)));
    }
    if (*r < 1 || *r > cohort::kMaxRounding) {
      return fail(d->Error(
          "rounding", absl::StrCat("must be 1 to ", cohort::kMaxRounding)));
    }
    c.disclosure_threshold = static_cast<uint32_t>(*t);
    c.disclosure_rounding = static_cast<uint32_t>(*r);
  }
  if (root->Has("query_space")) {
    auto q = root->GetObject("query_space");
    if (!q.ok()) return fail(q.status());
    if (auto s = q->AllowOnly({"cohort_grid", "outcome_windows", "codelists"});
        !s.ok())
      return fail(s);
    auto grid = q->GetString("cohort_grid", "month");
    if (!grid.ok()) return fail(grid.status());
    const auto parsed = cohort::ParseCohortGrid(*grid);
    if (!parsed.has_value())
      return fail(q->Error("cohort_grid", "must be month, quarter or year"));
    c.query_space.grid = *parsed;
    if (q->Has("outcome_windows")) {
      auto list = q->GetList("outcome_windows");
      if (!list.ok()) return fail(list.status());
      // Bounded before it is copied (ValidateQuerySpace checks it again).
      if (static_cast<size_t>((*list)->values_size()) >
          cohort::kMaxWindowMenu) {
        return fail(q->Error(
            "outcome_windows",
            absl::StrCat("at most ", cohort::kMaxWindowMenu, " lengths")));
      }
      c.query_space.windows.clear();
      for (const auto& v : (*list)->values()) {
        if (!v.has_number_value() ||
            v.number_value() != std::floor(v.number_value()) ||
            std::abs(v.number_value()) > 1e9) {
          return fail(q->Error("outcome_windows", "lengths are whole days"));
        }
        c.query_space.windows.push_back(static_cast<int32_t>(v.number_value()));
      }
    }
    if (q->Has("codelists")) {
      auto lists = q->GetObject("codelists");
      if (!lists.ok()) return fail(lists.status());
      const auto* fields = q->Find("codelists");
      // Bounded before anything is copied (ValidateQuerySpace checks the
      // rest).
      if (fields->struct_value().fields_size() >
          static_cast<int>(cohort::kMaxCodelists)) {
        return fail(q->Error(
            "codelists",
            absl::StrCat("at most ", cohort::kMaxCodelists, " attributes")));
      }
      for (const auto& [name, unused] : fields->struct_value().fields()) {
        auto values = lists->GetStringList(name);
        if (!values.ok()) return fail(values.status());
        auto& set = c.query_space.codelists[name];
        set.insert(values->begin(), values->end());
        if (set.size() != values->size())
          return fail(lists->Error(name, "a value is given twice"));
      }
    }
    // Its errors ("outcome_windows[2]: ...") are named within the object.
    if (auto s = cohort::ValidateQuerySpace(c.query_space); !s.ok())
      return fail(absl::InvalidArgumentError(q->PathOf(s.message())));
  }
  if (root->Has("projects")) {
    if (auto s = ParseProjects(*root, &c); !s.ok()) return fail(s);
  }
  if (root->Has("limits")) {
    auto l = root->GetObject("limits");
    if (!l.ok()) return fail(l.status());
    if (auto s = l->AllowOnly(
            {"max_records", "max_message_bytes", "disk_reserve_mib"});
        !s.ok())
      return fail(s);
    auto mr = l->GetInt("max_records", static_cast<int64_t>(c.max_records));
    auto mm = l->GetInt("max_message_bytes", c.max_message_bytes);
    auto dr = l->GetInt("disk_reserve_mib",
                        static_cast<int64_t>(c.disk_reserve_bytes >> 20));
    if (!mr.ok()) return fail(mr.status());
    if (!mm.ok()) return fail(mm.status());
    if (!dr.ok()) return fail(dr.status());
    if (*mr < 1 || *mr > kMaxRecordsLimit) {
      return fail(l->Error("max_records",
                           absl::StrCat("must be 1 to ", kMaxRecordsLimit)));
    }
    if (*mm < kMinMessageBytes || *mm > kMaxMessageBytes) {
      return fail(l->Error("max_message_bytes",
                           absl::StrCat("must be ", kMinMessageBytes, " to ",
                                        kMaxMessageBytes)));
    }
    if (*dr < 0 || *dr > (1 << 20))
      return fail(l->Error("disk_reserve_mib", "must be 0 to 1048576 (MiB)"));
    c.max_records = static_cast<uint64_t>(*mr);
    c.max_message_bytes = static_cast<int>(*mm);
    c.disk_reserve_bytes = static_cast<uint64_t>(*dr) << 20;
  }
  return c;
}

absl::StatusOr<std::string> SetUpDevIdentities(ServerConfig* c) {
  std::string base = absl::StrCat(c->data_dir, "/dev-tls");
  c->trust_domain = "cohortlink.dev";
  c->agencies = DevAgencies();
  c->tls_dir = absl::StrCat(base, "/server");
  std::error_code ec;
  if (std::filesystem::exists(absl::StrCat(base, "/ca/", keys::kCaCertFile),
                              ec))
    return base;
  RETURN_IF_ERROR(keys::InitCa(absl::StrCat(base, "/ca"),
                               {.common_name = "cohortlink dev CA"}));
  auto issue = [&](const std::string& name,
                   const std::string& id) -> absl::Status {
    keys::IssueOptions o;
    o.spiffe_id = absl::StrCat("spiffe://", c->trust_domain, id);
    if (name == "server") {
      o.dns = {"localhost"};
      o.ips = {"127.0.0.1", "::1"};
    }
    return keys::IssueCertificate(absl::StrCat(base, "/ca"), o,
                                  absl::StrCat(base, "/", name));
  };
  RETURN_IF_ERROR(issue("server", "/server/cohortlink-server"));
  for (const auto& a : c->agencies) {
    RETURN_IF_ERROR(issue(a.id, absl::StrCat("/agency/", a.id, "/submitter")));
  }
  RETURN_IF_ERROR(issue("analyst", "/user/analyst/analyst"));
  RETURN_IF_ERROR(issue("auditor", "/user/auditor/auditor"));
  RETURN_IF_ERROR(issue("admin", "/user/admin/admin"));
  RETURN_IF_ERROR(issue("exporter", "/user/exporter/linkage-export"));
  return base;
}

}  // namespace cohortlink::server
