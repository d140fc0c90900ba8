// cohortlink schema check: validate a linkage schema and summarise it.

#include <cmath>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/commands.h"
#include "linkage/encoding/record_encoder.h"
#include "util/status_macros.h"
#include "util/text.h"

namespace cohortlink::client {
namespace {

using encoding::ClkhashFeature;
using encoding::ClkhashSchema;
using encoding::NativeSchema;

struct SchemaArgs {
  std::string file;
  std::string format = "table";
};

std::string Pct(double f) { return absl::StrFormat("%.0f%%", 100 * f); }

// Expected fill of a clkhash CLK for typical 7-character values.
double ClkhashFill(const ClkhashSchema& s) {
  double bits = 0;
  for (const auto& f : s.features) {
    if (f.ignored) continue;
    double tokens = f.comparison == ClkhashFeature::Comparison::kExact
                        ? 1
                        : 7 + (f.ngram > 1 ? f.ngram - 1 : 1 - f.ngram);
    bits +=
        f.bits_per_feature > 0 ? f.bits_per_feature : f.bits_per_token * tokens;
  }
  double hash_l = static_cast<double>(s.l) * (1 << s.xor_folds);
  double fill = 1 - std::exp(-bits / hash_l);
  for (int i = 0; i < s.xor_folds; ++i) fill = 2 * fill * (1 - fill);
  return fill;
}

absl::Status CheckClkhash(const ClkhashSchema& s, const std::string& kind,
                          const SchemaArgs& a) {
  std::vector<std::vector<std::string>> rows;
  google::protobuf::Value json;
  auto* jf = json.mutable_struct_value()->mutable_fields();
  auto* features = (*jf)["features"].mutable_list_value();
  for (const auto& f : s.features) {
    std::string cmp =
        f.ignored ? "-"
        : f.comparison == ClkhashFeature::Comparison::kExact
            ? "exact"
            : absl::StrCat(f.ngram, "-gram", f.positional ? " positional" : "");
    std::string ins = f.ignored ? "-"
                      : f.bits_per_feature > 0
                          ? absl::StrCat(f.bits_per_feature, " bits/feature")
                          : absl::StrCat(f.bits_per_token, " bits/token");
    std::string hash = f.ignored ? "-"
                       : f.hash == ClkhashFeature::Hash::kBlakeHash
                           ? "blakeHash"
                           : "doubleHash";
    rows.push_back(
        {f.identifier, f.ignored ? "ignored" : "hashed", cmp, ins, hash});
    google::protobuf::Value fv;
    auto* ff = fv.mutable_struct_value()->mutable_fields();
    (*ff)["identifier"] = JsonString(f.identifier);
    (*ff)["ignored"] = JsonBool(f.ignored);
    (*ff)["comparison"] = JsonString(cmp);
    (*ff)["insertion"] = JsonString(ins);
    (*ff)["hash"] = JsonString(hash);
    *features->add_values() = fv;
  }
  double fill = ClkhashFill(s);
  if (a.format == "json") {
    (*jf)["valid"] = JsonBool(true);
    (*jf)["kind"] = JsonString(kind);
    (*jf)["fingerprint"] = JsonString(util::HexEncode(s.fingerprint));
    (*jf)["clk_bits"] = JsonNumber(static_cast<double>(s.l));
    (*jf)["xor_folds"] = JsonNumber(s.xor_folds);
    (*jf)["expected_fill"] = JsonNumber(fill);
    PrintJson(json);
    return absl::OkStatus();
  }
  PrintKeyValues(
      {{"schema", absl::StrCat(a.file, ": valid ", kind, " schema")},
       {"fingerprint", util::HexEncode(s.fingerprint)},
       {"clk", absl::StrCat(s.l, " bits, ", s.xor_folds, " XOR fold(s), ",
                            "expected fill ", Pct(fill),
                            " (typical 7-character values)")}});
  std::cout << "\n";
  PrintTable({"feature", "use", "comparison", "insertion", "hash"}, rows);
  return absl::OkStatus();
}

absl::Status CheckNative(const NativeSchema& s, const SchemaArgs& a) {
  ASSIGN_OR_RETURN(cohortlink::v1::FilterLayout layout,
                   encoding::NativeLayout(s));
  const auto& spec = s.spec;
  std::vector<std::vector<std::string>> ids;
  for (const auto& id : spec.identifiers()) {
    std::string tokens =
        id.tokens().kind() == "qgram"
            ? absl::StrCat(id.tokens().q(), "-gram",
                           id.tokens().positional() ? " positional" : "")
            : id.tokens().kind();
    std::string seg = id.has_segment() ? "yes" : "-";
    ids.push_back({id.name(), id.column(), id.type(),
                   absl::StrJoin(id.normalise(), ","), tokens, seg,
                   id.has_clk() ? "yes" : "-"});
  }
  std::vector<std::vector<std::string>> filters;
  for (const auto& f : layout.segments()) {
    filters.push_back(
        {f.name(),
         f.kind() == cohortlink::v1::FilterSegment::RECORD ? "record" : "field",
         absl::StrCat(f.length_bits()),
         f.hardening().empty() ? "none" : absl::StrJoin(f.hardening(), ","),
         f.blip_epsilon() > 0 ? absl::StrFormat("%.2f", f.blip_epsilon()) : "-",
         Pct(f.expected_fill())});
  }
  std::vector<std::string> rules;
  for (const auto& r : spec.blocking()) {
    std::vector<std::string> parts;
    for (const auto& p : r.parts())
      parts.push_back(absl::StrCat(p.transform(), "(", p.identifier(), ")"));
    rules.push_back(absl::StrCat(r.name(), " = ", absl::StrJoin(parts, " + ")));
  }
  std::vector<std::string> attrs;
  for (const auto& at : spec.attributes()) attrs.push_back(at.name());
  for (const auto& d : spec.derived())
    attrs.push_back(absl::StrCat(d.name(), " (derived)"));
  if (a.format == "json") {
    google::protobuf::Value v;
    auto* f = v.mutable_struct_value()->mutable_fields();
    (*f)["valid"] = JsonBool(true);
    (*f)["kind"] = JsonString("cohortlink/1");
    (*f)["name"] = JsonString(spec.name());
    (*f)["fingerprint"] = JsonString(util::HexEncode(s.fingerprint));
    (*f)["total_bits"] = JsonNumber(layout.total_bits());
    auto* fl = (*f)["filters"].mutable_list_value();
    for (const auto& seg : layout.segments()) {
      google::protobuf::Value sv;
      auto* sf = sv.mutable_struct_value()->mutable_fields();
      (*sf)["name"] = JsonString(seg.name());
      (*sf)["bits"] = JsonNumber(seg.length_bits());
      (*sf)["expected_fill"] = JsonNumber(seg.expected_fill());
      auto* hl = (*sf)["hardening"].mutable_list_value();
      for (const auto& h : seg.hardening()) *hl->add_values() = JsonString(h);
      *fl->add_values() = sv;
    }
    auto* bl = (*f)["blocking_rules"].mutable_list_value();
    for (const auto& r : rules) *bl->add_values() = JsonString(r);
    auto* al = (*f)["attributes"].mutable_list_value();
    for (const auto& at : attrs) *al->add_values() = JsonString(at);
    PrintJson(v);
    return absl::OkStatus();
  }
  PrintKeyValues(
      {{"schema", absl::StrCat(a.file, ": valid cohortlink schema \"",
                               spec.name(), "\"")},
       {"fingerprint", util::HexEncode(s.fingerprint)},
       {"record key", spec.record_key().column().empty()
                          ? "row number"
                          : absl::StrCat("HMAC of column \"",
                                         spec.record_key().column(), "\"")},
       {"filter bits", absl::StrCat(layout.total_bits(), " per record")},
       {"blocking", rules.empty() ? "none" : absl::StrJoin(rules, "; ")},
       {"attributes", attrs.empty() ? "none" : absl::StrJoin(attrs, ", ")}});
  std::cout << "\nidentifiers\n";
  PrintTable(
      {"name", "column", "type", "normalise", "tokens", "segment", "clk"}, ids);
  std::cout << "\nfilters (expected fill for a typical value)\n";
  PrintTable({"filter", "level", "bits", "hardening", "epsilon", "fill"},
             filters);
  return absl::OkStatus();
}

absl::Status RunCheck(const SchemaArgs& a) {
  ASSIGN_OR_RETURN(encoding::LoadedSchema schema,
                   encoding::LoadSchemaFile(a.file));
  if (schema.is_native())
    return CheckNative(std::get<NativeSchema>(schema.schema), a);
  return CheckClkhash(std::get<ClkhashSchema>(schema.schema), schema.kind(), a);
}

}  // namespace

void RegisterSchema(CLI::App& app, Context* ctx) {
  CLI::App* schema = app.add_subcommand("schema", "Work with linkage schemas");
  schema->require_subcommand(1);
  auto a = std::make_shared<SchemaArgs>();
  CLI::App* check = schema->add_subcommand(
      "check", "Validate a schema and summarise its fields, filters and fill");
  check->add_option("file", a->file, "Schema file (cohortlink or clkhash JSON)")
      ->required();
  check->add_option("--format", a->format, "Output format")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  check->callback([ctx, a] { ctx->run = [a] { return RunCheck(*a); }; });
}

}  // namespace cohortlink::client
