#include "linkage/encoding/native_schema.h"

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/json_util.h"
#include "keys/mac.h"
#include "linkage/encoding/dates.h"
#include "linkage/encoding/normalise.h"
#include "util/status_macros.h"

namespace cohortlink::encoding {

using cohortlink::v1::HardeningSpec;
using cohortlink::v1::IdentifierSpec;
using cohortlink::v1::InsertionSpec;
using cohortlink::v1::LinkageSchema;
using cohortlink::v1::ValueRef;

namespace {

absl::Status Err(const std::string& path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
}

bool ValidName(const std::string& s);

// Names of identifiers, rules and attributes: [a-z0-9_-]{1,64}.
absl::Status CheckName(const std::string& path, const std::string& name) {
  if (ValidName(name)) return absl::OkStatus();
  return Err(path + ".name",
             "required: 1-64 characters of a-z, 0-9, '_' or '-'");
}

bool ValidName(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-')) {
      return false;
    }
  }
  return true;
}

const std::set<std::string>& Transforms() {
  static const auto* t = new std::set<std::string>{
      "value", "soundex", "nysiis",  "metaphone", "year",
      "month", "day",     "initial", "first3"};
  return *t;
}

absl::Status CheckInsertion(const InsertionSpec& ins, const std::string& path) {
  if ((ins.bits_per_token() > 0) == (ins.bits_per_feature() > 0)) {
    return Err(path, "set exactly one of bits_per_token or bits_per_feature");
  }
  if (ins.bits_per_token() > 64)
    return Err(path + ".bits_per_token", "must be <= 64");
  if (ins.bits_per_feature() > 4096) {
    return Err(path + ".bits_per_feature", "must be <= 4096");
  }
  return absl::OkStatus();
}

absl::Status CheckValueRef(const ValueRef& ref, const std::string& path,
                           const LinkageSchema& s) {
  const IdentifierSpec* id = nullptr;
  for (const auto& i : s.identifiers()) {
    if (i.name() == ref.identifier()) id = &i;
  }
  if (id == nullptr) {
    return Err(path + ".identifier",
               absl::StrCat("no identifier named '", ref.identifier(), "'"));
  }
  if (!Transforms().contains(ref.transform())) {
    return Err(path + ".transform",
               absl::StrCat("unknown transform '", ref.transform(),
                            "' (value, soundex, nysiis, metaphone, year, "
                            "month, day, initial, first3)"));
  }
  bool date_only = ref.transform() == "year" || ref.transform() == "month" ||
                   ref.transform() == "day";
  if (date_only && id->type() != "date") {
    return Err(path + ".transform",
               absl::StrCat("'", ref.transform(), "' needs a date identifier"));
  }
  return absl::OkStatus();
}

absl::Status CheckFilter(uint32_t bits, const HardeningSpec& h,
                         const std::string& path, const LinkageSchema& s,
                         const std::string& self) {
  if (bits == 0) return Err(path + ".bits", "required, a multiple of 64");
  if (bits > (1u << 20)) return Err(path + ".bits", "must be at most 1048576");
  if (h.xor_fold() > 4)
    return Err(path + ".hardening.xor_fold", "must be 0..4");
  uint32_t folded = bits >> h.xor_fold();
  if (bits % (64u << h.xor_fold()) != 0) {
    return Err(path + ".bits",
               absl::StrCat("must be a multiple of ", 64u << h.xor_fold(),
                            " so the filter stays a multiple of 64 bits after ",
                            h.xor_fold(), " XOR fold(s)"));
  }
  (void)folded;
  if (h.blip_epsilon() < 0) {
    return Err(path + ".hardening.blip_epsilon",
               "must be >= 0 (0 disables BLIP)");
  }
  for (int i = 0; i < h.salt_size(); ++i) {
    std::string p = absl::StrCat(path, ".hardening.salt[", i, "]");
    RETURN_IF_ERROR(CheckValueRef(h.salt(i), p, s));
    if (h.salt(i).identifier() == self) {
      return Err(p + ".identifier", "an identifier cannot salt itself");
    }
  }
  return absl::OkStatus();
}

void FillDefaults(LinkageSchema* s) {
  for (auto& id : *s->mutable_identifiers()) {
    if (id.type().empty()) id.set_type("text");
    if (id.column().empty()) id.set_column(id.name());
    if (id.on_invalid().empty()) id.set_on_invalid("missing");
    if (id.normalise().empty() && id.type() == "text") {
      id.add_normalise("fold");
      id.add_normalise("collapse_space");
    }
    if (id.type() == "date" && id.date_formats().empty()) {
      id.add_date_formats("%Y-%m-%d");
    }
    auto* t = id.mutable_tokens();
    if (t->kind().empty()) t->set_kind("qgram");
    if (t->q() == 0) t->set_q(2);
    if (!t->has_padded()) t->set_padded(true);
    if (id.has_segment()) {
      for (auto& r :
           *id.mutable_segment()->mutable_hardening()->mutable_salt()) {
        if (r.transform().empty()) r.set_transform("value");
      }
    }
  }
  if (s->has_clk()) {
    for (auto& r : *s->mutable_clk()->mutable_hardening()->mutable_salt()) {
      if (r.transform().empty()) r.set_transform("value");
    }
  }
  for (auto& rule : *s->mutable_blocking()) {
    for (auto& p : *rule.mutable_parts()) {
      if (p.transform().empty()) p.set_transform("value");
    }
  }
  if (s->has_event() && s->event().date_formats().empty() &&
      !s->event().date_column().empty()) {
    s->mutable_event()->add_date_formats("%Y-%m-%d");
  }
  for (auto& a : *s->mutable_attributes()) {
    if (a.column().empty()) a.set_column(a.name());
  }
}

absl::Status Validate(const LinkageSchema& s) {
  if (s.cohortlink_schema() != 1) {
    return Err("cohortlink_schema", "must be 1 (the only version so far)");
  }
  if (s.identifiers().empty()) return Err("identifiers", "must not be empty");
  std::set<std::string> names;
  int filters = s.clk().bits() > 0 ? 1 : 0;
  bool any_clk_member = false;
  for (int i = 0; i < s.identifiers_size(); ++i) {
    const IdentifierSpec& id = s.identifiers(i);
    std::string path = absl::StrCat("identifiers[", i, "]");
    RETURN_IF_ERROR(CheckName(path, id.name()));
    if (!names.insert(id.name()).second) {
      return Err(path + ".name",
                 absl::StrCat("duplicate identifier '", id.name(), "'"));
    }
    if (id.type() != "text" && id.type() != "date") {
      return Err(path + ".type", "must be \"text\" or \"date\"");
    }
    for (int j = 0; j < id.normalise_size(); ++j) {
      auto step = ParseNormaliseStep(id.normalise(j));
      if (!step.ok()) {
        return Err(absl::StrCat(path, ".normalise[", j, "]"),
                   step.status().message());
      }
    }
    for (int j = 0; j < id.date_formats_size(); ++j) {
      if (auto st = ValidateDateFormat(id.date_formats(j)); !st.ok()) {
        return Err(absl::StrCat(path, ".date_formats[", j, "]"), st.message());
      }
    }
    if (id.on_invalid() != "missing" && id.on_invalid() != "error") {
      return Err(path + ".on_invalid", "must be \"missing\" or \"error\"");
    }
    const auto& t = id.tokens();
    if (t.kind() != "qgram" && t.kind() != "exact" &&
        t.kind() != "date_parts") {
      return Err(path + ".tokens.kind", "must be qgram, exact or date_parts");
    }
    if (t.kind() == "date_parts" && id.type() != "date") {
      return Err(path + ".tokens.kind", "date_parts needs type \"date\"");
    }
    if (t.q() > 5) return Err(path + ".tokens.q", "must be 1..5");
    if (id.has_segment()) {
      ++filters;
      RETURN_IF_ERROR(CheckFilter(id.segment().bits(), id.segment().hardening(),
                                  path + ".segment", s, id.name()));
      RETURN_IF_ERROR(
          CheckInsertion(id.segment().insert(), path + ".segment.insert"));
    }
    if (id.has_clk()) {
      if (s.clk().bits() == 0) {
        return Err(path + ".clk",
                   "needs a record-level \"clk\" with bits in the schema");
      }
      RETURN_IF_ERROR(CheckInsertion(id.clk(), path + ".clk"));
      any_clk_member = true;
    }
  }
  if (s.clk().bits() > 0) {
    RETURN_IF_ERROR(
        CheckFilter(s.clk().bits(), s.clk().hardening(), "clk", s, ""));
    if (!any_clk_member) {
      return Err("clk",
                 "no identifier contributes to it (set identifiers[].clk)");
    }
  }
  if (filters == 0) {
    return Err("identifiers",
               "no filter: give at least one identifier a "
               "\"segment\" or add a record-level \"clk\"");
  }
  if (filters > 32) return Err("identifiers", "at most 32 filters");
  for (int i = 0; i < s.identifiers_size(); ++i) {
    const auto& id = s.identifiers(i);
    if (id.compare_group().empty()) continue;
    const std::string path = absl::StrCat("identifiers[", i, "].compare_group");
    RETURN_IF_ERROR(CheckName(path, id.compare_group()));
    if (!id.has_segment())
      return Err(path, "only an identifier with a \"segment\" is compared");
    for (const auto& other : s.identifiers()) {
      if (other.name() == id.compare_group())
        return Err(path, "must not be an identifier's name");
    }
  }
  std::set<std::string> rule_names;
  for (int i = 0; i < s.blocking_size(); ++i) {
    std::string path = absl::StrCat("blocking[", i, "]");
    RETURN_IF_ERROR(CheckName(path, s.blocking(i).name()));
    if (!rule_names.insert(s.blocking(i).name()).second) {
      return Err(path + ".name", "duplicate rule name");
    }
    if (s.blocking(i).parts().empty())
      return Err(path + ".parts", "must not be empty");
    for (int j = 0; j < s.blocking(i).parts_size(); ++j) {
      RETURN_IF_ERROR(CheckValueRef(s.blocking(i).parts(j),
                                    absl::StrCat(path, ".parts[", j, "]"), s));
    }
  }
  if (s.has_event()) {
    const auto& e = s.event();
    if (!e.type().column().empty() && !e.type().constant().empty()) {
      return Err("event.type", "set column or constant, not both");
    }
    for (int j = 0; j < e.date_formats_size(); ++j) {
      if (auto st = ValidateDateFormat(e.date_formats(j)); !st.ok()) {
        return Err(absl::StrCat("event.date_formats[", j, "]"), st.message());
      }
    }
  }
  std::set<std::string> attrs;
  for (int i = 0; i < s.attributes_size(); ++i) {
    std::string path = absl::StrCat("attributes[", i, "]");
    RETURN_IF_ERROR(CheckName(path, s.attributes(i).name()));
    if (!attrs.insert(s.attributes(i).name()).second) {
      return Err(path + ".name", "duplicate attribute");
    }
    for (int j = 0; j < s.attributes(i).normalise_size(); ++j) {
      auto step = ParseNormaliseStep(s.attributes(i).normalise(j));
      if (!step.ok()) {
        return Err(absl::StrCat(path, ".normalise[", j, "]"),
                   step.status().message());
      }
    }
  }
  for (int i = 0; i < s.derived_size(); ++i) {
    const auto& d = s.derived(i);
    std::string path = absl::StrCat("derived[", i, "]");
    RETURN_IF_ERROR(CheckName(path, d.name()));
    if (!attrs.insert(d.name()).second) {
      return Err(path + ".name", "clashes with another attribute");
    }
    if (d.kind() != "age_band")
      return Err(path + ".kind", "must be \"age_band\"");
    bool found = false;
    for (const auto& id : s.identifiers()) {
      if (id.name() == d.from() && id.type() == "date") found = true;
    }
    if (!found) return Err(path + ".from", "must name a date identifier");
    if (s.event().date_column().empty()) {
      return Err(path, "age_band needs event.date_column (age at the event)");
    }
    if (d.bands().empty()) return Err(path + ".bands", "must not be empty");
    for (int j = 1; j < d.bands_size(); ++j) {
      if (d.bands(j) <= d.bands(j - 1)) {
        return Err(path + ".bands", "must be strictly ascending");
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

bool IsNativeSchema(const google::protobuf::Value& doc) {
  return doc.kind_case() == google::protobuf::Value::kStructValue &&
         (doc.struct_value().fields().contains("cohortlink_schema") ||
          doc.struct_value().fields().contains("cohortlinkSchema"));
}

uint32_t FinalBits(uint32_t bits, const HardeningSpec& h) {
  uint32_t b = bits >> h.xor_fold();
  return h.balance() ? 2 * b : b;
}

absl::StatusOr<NativeSchema> ParseNativeSchema(absl::string_view json,
                                               absl::string_view source) {
  NativeSchema out;
  google::protobuf::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = false;
  auto st = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &out.spec, opts);
  if (!st.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": ", std::string(st.message())));
  }
  FillDefaults(&out.spec);
  if (auto v = Validate(out.spec); !v.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", v.message()));
  }
  LinkageSchema linkage = out.spec;
  linkage.clear_name();
  linkage.clear_description();
  linkage.clear_event();
  linkage.clear_attributes();
  linkage.clear_derived();
  linkage.mutable_record_key()->clear_column();
  for (auto& id : *linkage.mutable_identifiers()) {
    id.clear_column();
    id.clear_on_invalid();
  }
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream sos(&bytes);
    google::protobuf::io::CodedOutputStream cos(&sos);
    cos.SetSerializationDeterministic(true);
    linkage.SerializeToCodedStream(&cos);
  }
  out.fingerprint =
      keys::Sha256::Digest(absl::StrCat("cohortlink-schema/1\n", bytes));
  return out;
}

}  // namespace cohortlink::encoding
