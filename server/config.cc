#include "server/config.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "keys/pki.h"
#include "linkage/encoding/json.h"
#include "util/atomic_file.h"
#include "util/status_macros.h"

namespace cohortlink::server {

const AgencyConfig* ServerConfig::FindAgency(const std::string& id) const {
  for (const auto& a : agencies) {
    if (a.id == id) return &a;
  }
  return nullptr;
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
  auto doc = encoding::ParseJson(text, path);
  if (!doc.ok()) return doc.status();
  auto fail = [&](const absl::Status& s) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", s.message()));
  };
  auto root = encoding::JsonObject::Of(*doc, "");
  if (!root.ok()) return fail(root.status());
  if (auto s = root->AllowOnly({"data_dir", "listen", "tls_dir", "trust_domain",
                                "agencies", "limits"});
      !s.ok()) {
    return fail(s);
  }
  ServerConfig c;
  for (auto [key, dest] :
       {std::pair{"data_dir", &c.data_dir}, std::pair{"listen", &c.listen},
        std::pair{"tls_dir", &c.tls_dir},
        std::pair{"trust_domain", &c.trust_domain}}) {
    auto v = root->GetString(key, *dest);
    if (!v.ok()) return fail(v.status());
    *dest = *v;
  }
  if (root->Has("agencies")) {
    auto list = root->GetList("agencies");
    if (!list.ok()) return fail(list.status());
    static const char* kTypes[] = {"police", "probation", "prison", "health",
                                   "local-authority"};
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
      if (std::find(std::begin(kTypes), std::end(kTypes), ag.type) ==
          std::end(kTypes)) {
        return fail(a->Error("type",
                             "must be police, probation, prison, health or "
                             "local-authority"));
      }
      if (c.FindAgency(ag.id) != nullptr)
        return fail(a->Error("id", "duplicate agency"));
      c.agencies.push_back(ag);
    }
  }
  if (root->Has("limits")) {
    auto l = root->GetObject("limits");
    if (!l.ok()) return fail(l.status());
    if (auto s = l->AllowOnly({"max_records", "max_message_bytes"}); !s.ok())
      return fail(s);
    auto mr = l->GetInt("max_records", static_cast<int64_t>(c.max_records));
    auto mm = l->GetInt("max_message_bytes", c.max_message_bytes);
    if (!mr.ok()) return fail(mr.status());
    if (!mm.ok()) return fail(mm.status());
    c.max_records = static_cast<uint64_t>(*mr);
    c.max_message_bytes = static_cast<int>(*mm);
  }
  return c;
}

absl::StatusOr<std::string> SetUpDevIdentities(ServerConfig* c) {
  std::string base = absl::StrCat(c->data_dir, "/dev-tls");
  c->trust_domain = "cohortlink.dev";
  c->agencies = DevAgencies();
  c->tls_dir = absl::StrCat(base, "/server");
  if (std::filesystem::exists(absl::StrCat(base, "/ca/", keys::kCaCertFile)))
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
