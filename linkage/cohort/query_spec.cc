#include "linkage/cohort/query_spec.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "linkage/cohort/private_counts.h"
#include "linkage/encoding/dates.h"
#include "linkage/encoding/json.h"
#include "util/names.h"
#include "util/status_macros.h"

namespace cohortlink::cohort {
namespace {

using encoding::JsonObject;
using google::protobuf::Value;

constexpr const char* kAgencyTypes[] = {"police", "probation", "prison",
                                        "health", "local-authority"};

absl::Status ParseSelector(const JsonObject& o,
                           cohortlink::v1::EventSelector* s) {
  ASSIGN_OR_RETURN(std::string agency, o.GetString("agency_type"));
  ASSIGN_OR_RETURN(std::string event, o.GetString("event_type"));
  s->set_agency_type(agency);
  s->set_event_type(event);
  if (!o.Has("filters")) return absl::OkStatus();
  ASSIGN_OR_RETURN(JsonObject filters, o.GetObject("filters"));
  const Value* fv = o.Find("filters");
  for (const auto& [name, v] : fv->struct_value().fields()) {
    auto& values = (*s->mutable_filters())[name];
    if (v.kind_case() == Value::kStringValue) {
      values.add_values(v.string_value());
    } else {
      ASSIGN_OR_RETURN(auto list, filters.GetStringList(name));
      for (auto& x : list) values.add_values(x);
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateSelector(const cohortlink::v1::EventSelector& s,
                              const std::string& where) {
  bool known = false;
  for (const char* t : kAgencyTypes) known |= s.agency_type() == t;
  if (!known) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ".agency_type: '", s.agency_type(),
        "' is not police, probation, prison, health or local-authority"));
  }
  RETURN_IF_ERROR(util::CheckName(absl::StrCat(where, ".event_type"),
                                  s.event_type(), kMaxLabelBytes));
  if (s.filters_size() > kMaxFilters) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ".filters: at most ", kMaxFilters, " attributes"));
  }
  for (const auto& [name, values] : s.filters()) {
    RETURN_IF_ERROR(
        util::CheckName(absl::StrCat(where, ".filters"), name, kMaxLabelBytes));
    if (values.values().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".filters.", name, ": no values"));
    }
    if (values.values_size() > kMaxFilterValues) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ".filters.", name, ": at most ", kMaxFilterValues, " values"));
    }
    for (const auto& v : values.values()) {
      if (!util::IsValidLabel(v, kMaxLabelBytes)) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ".filters.", name, ": a value is at most ",
                         kMaxLabelBytes, " bytes of printable UTF-8"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateQuery(const cohortlink::v1::CohortQuery& q) {
  if (!util::IsValidLabel(q.name(), kMaxQueryNameBytes)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "name: at most ", kMaxQueryNameBytes, " bytes of printable UTF-8"));
  }
  RETURN_IF_ERROR(ValidateSelector(q.cohort().event(), "cohort"));
  for (const char* f : {"from", "to"}) {
    const std::string& d =
        std::string(f) == "from" ? q.cohort().from() : q.cohort().to();
    if (d.size() != 10 || !encoding::ParseDate(d, "%Y-%m-%d").ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("cohort.", f, ": '", d, "' is not a date (YYYY-MM-DD)"));
    }
  }
  if (q.cohort().from() > q.cohort().to())
    return absl::InvalidArgumentError("cohort: 'from' is after 'to'");
  if (q.outcomes().empty())
    return absl::InvalidArgumentError("outcomes: at least one is needed");
  if (q.outcomes_size() > kMaxOutcomes) {
    return absl::InvalidArgumentError(
        absl::StrCat("outcomes: at most ", kMaxOutcomes));
  }
  for (int i = 0; i < q.outcomes_size(); ++i) {
    const auto& o = q.outcomes(i);
    std::string where = absl::StrCat("outcomes[", i, "]");
    RETURN_IF_ERROR(util::CheckName(absl::StrCat(where, ".name"), o.name(),
                                    kMaxLabelBytes));
    for (int j = 0; j < i; ++j) {
      if (q.outcomes(j).name() == o.name()) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ".name: '", o.name(), "' is used twice"));
      }
    }
    RETURN_IF_ERROR(ValidateSelector(o.event(), where));
    if (o.from_day() < -kMaxWindowDays || o.to_day() > kMaxWindowDays) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".window_days: days lie within -", kMaxWindowDays,
                       " and ", kMaxWindowDays));
    }
    if (o.from_day() > o.to_day()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".window_days: the first day is after the last"));
    }
  }
  if (q.breakdowns_size() > kMaxBreakdowns) {
    return absl::InvalidArgumentError(
        absl::StrCat("breakdowns: at most ", kMaxBreakdowns));
  }
  for (int i = 0; i < q.breakdowns_size(); ++i) {
    RETURN_IF_ERROR(util::CheckName(absl::StrCat("breakdowns[", i, "]"),
                                    q.breakdowns(i), kMaxLabelBytes));
    for (int j = 0; j < i; ++j) {
      if (q.breakdowns(i) == q.breakdowns(j)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "breakdowns[", i, "]: '", q.breakdowns(i), "' is used twice"));
      }
    }
  }
  // Written so that NaN fails too.
  if (!(q.min_match_probability() >= 0 && q.min_match_probability() <= 1)) {
    return absl::InvalidArgumentError(
        "min_match_probability: must be between 0 and 1");
  }
  if (!q.project().empty())
    RETURN_IF_ERROR(util::CheckName("project", q.project(), kMaxLabelBytes));
  if (!(q.privacy_rho() >= 0 && q.privacy_rho() <= kMaxRho)) {
    return absl::InvalidArgumentError(
        absl::StrCat("privacy_rho: must be 0 to ", kMaxRho));
  }
  if (q.disclosure().threshold() > kMaxThreshold) {
    return absl::InvalidArgumentError(
        absl::StrCat("disclosure.threshold: at most ", kMaxThreshold));
  }
  if (q.disclosure().rounding() > kMaxRounding) {
    return absl::InvalidArgumentError(
        absl::StrCat("disclosure.rounding: at most ", kMaxRounding));
  }
  return absl::OkStatus();
}

absl::StatusOr<cohortlink::v1::CohortQuery> ParseQuerySpec(
    const std::string& json, const std::string& source) {
  auto fail = [&](const absl::Status& s) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", s.message()));
  };
  auto doc = encoding::ParseJson(json, source);
  if (!doc.ok()) return doc.status();
  auto root = JsonObject::Of(*doc, "");
  if (!root.ok()) return fail(root.status());
  if (auto s = root->AllowOnly({"name", "description", "cohort", "outcomes",
                                "breakdowns", "min_match_probability",
                                "disclosure", "project", "privacy_rho"});
      !s.ok()) {
    return fail(s);
  }
  cohortlink::v1::CohortQuery q;
  auto body = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::string name, root->GetString("name", ""));
    q.set_name(name);
    ASSIGN_OR_RETURN(JsonObject cohort, root->GetObject("cohort"));
    RETURN_IF_ERROR(cohort.AllowOnly(
        {"agency_type", "event_type", "from", "to", "filters"}));
    RETURN_IF_ERROR(ParseSelector(cohort, q.mutable_cohort()->mutable_event()));
    ASSIGN_OR_RETURN(std::string from, cohort.GetString("from"));
    ASSIGN_OR_RETURN(std::string to, cohort.GetString("to"));
    q.mutable_cohort()->set_from(from);
    q.mutable_cohort()->set_to(to);
    ASSIGN_OR_RETURN(auto* outcomes, root->GetList("outcomes"));
    for (int i = 0; i < outcomes->values_size(); ++i) {
      ASSIGN_OR_RETURN(JsonObject o,
                       JsonObject::Of(outcomes->values(i),
                                      absl::StrCat("outcomes[", i, "]")));
      RETURN_IF_ERROR(o.AllowOnly(
          {"name", "agency_type", "event_type", "filters", "window_days"}));
      auto* out = q.add_outcomes();
      ASSIGN_OR_RETURN(std::string oname, o.GetString("name"));
      out->set_name(oname);
      RETURN_IF_ERROR(ParseSelector(o, out->mutable_event()));
      ASSIGN_OR_RETURN(auto* window, o.GetList("window_days"));
      if (window->values_size() != 2 ||
          window->values(0).kind_case() != Value::kNumberValue ||
          window->values(1).kind_case() != Value::kNumberValue) {
        return o.Error("window_days", "expected [first_day, last_day]");
      }
      const double lo = window->values(0).number_value(),
                   hi = window->values(1).number_value();
      // Range-checked as doubles (converting a larger one is undefined);
      // NaN fails every comparison.
      auto whole_day = [](double v) {
        return v >= -kMaxWindowDays && v <= kMaxWindowDays &&
               v == std::floor(v);
      };
      if (!whole_day(lo) || !whole_day(hi)) {
        return o.Error("window_days",
                       absl::StrCat("whole days within -", kMaxWindowDays,
                                    " and ", kMaxWindowDays));
      }
      out->set_from_day(static_cast<int>(lo));
      out->set_to_day(static_cast<int>(hi));
    }
    if (root->Has("breakdowns")) {
      ASSIGN_OR_RETURN(auto b, root->GetStringList("breakdowns"));
      for (auto& x : b) q.add_breakdowns(x);
    }
    ASSIGN_OR_RETURN(std::string project, root->GetString("project", ""));
    q.set_project(project);
    ASSIGN_OR_RETURN(double rho, root->GetNumber("privacy_rho", 0));
    q.set_privacy_rho(rho);
    ASSIGN_OR_RETURN(double p, root->GetNumber("min_match_probability", 0.9));
    q.set_min_match_probability(p);
    if (root->Has("disclosure")) {
      ASSIGN_OR_RETURN(JsonObject d, root->GetObject("disclosure"));
      RETURN_IF_ERROR(d.AllowOnly({"threshold", "rounding"}));
      ASSIGN_OR_RETURN(int64_t t, d.GetInt("threshold", 0));
      ASSIGN_OR_RETURN(int64_t r, d.GetInt("rounding", 0));
      if (t < 0 || t > kMaxThreshold)
        return d.Error("threshold", absl::StrCat("0 to ", kMaxThreshold));
      if (r < 0 || r > kMaxRounding)
        return d.Error("rounding", absl::StrCat("0 to ", kMaxRounding));
      q.mutable_disclosure()->set_threshold(static_cast<uint32_t>(t));
      q.mutable_disclosure()->set_rounding(static_cast<uint32_t>(r));
    }
    return absl::OkStatus();
  };
  if (auto s = body(); !s.ok()) return fail(s);
  if (auto s = ValidateQuery(q); !s.ok()) return fail(s);
  return q;
}

std::string QueryToJson(const cohortlink::v1::CohortQuery& q) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(q, &out, o);
  return out;
}

}  // namespace cohortlink::cohort
