#include "linkage/encoding/json.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/json_util.h"

namespace cohortlink::encoding {

using google::protobuf::Value;

absl::StatusOr<Value> ParseJson(absl::string_view text,
                                absl::string_view source) {
  Value v;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(text.data(), text.size()), &v);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": not valid JSON: ", std::string(status.message())));
  }
  return v;
}

namespace {
void Canon(const Value& v, std::string* out) {
  switch (v.kind_case()) {
    case Value::kNullValue:
      out->append("null");
      break;
    case Value::kBoolValue:
      out->append(v.bool_value() ? "true" : "false");
      break;
    case Value::kNumberValue: {
      double d = v.number_value();
      if (std::floor(d) == d && std::fabs(d) < 9.007199254740992e15) {
        absl::StrAppend(out, static_cast<int64_t>(d));
      } else {
        absl::StrAppend(out, d);
      }
      break;
    }
    case Value::kStringValue:
      absl::StrAppend(out, "\"", absl::CEscape(v.string_value()), "\"");
      break;
    case Value::kListValue: {
      out->push_back('[');
      bool first = true;
      for (const Value& e : v.list_value().values()) {
        if (!first) out->push_back(',');
        first = false;
        Canon(e, out);
      }
      out->push_back(']');
      break;
    }
    case Value::kStructValue: {
      std::vector<std::string> keys;
      for (const auto& [k, unused] : v.struct_value().fields())
        keys.push_back(k);
      std::sort(keys.begin(), keys.end());
      out->push_back('{');
      bool first = true;
      for (const auto& k : keys) {
        if (!first) out->push_back(',');
        first = false;
        absl::StrAppend(out, "\"", absl::CEscape(k), "\":");
        Canon(v.struct_value().fields().at(k), out);
      }
      out->push_back('}');
      break;
    }
    default:
      out->append("null");
  }
}

const char* KindName(const Value& v) {
  switch (v.kind_case()) {
    case Value::kNullValue:
      return "null";
    case Value::kBoolValue:
      return "a boolean";
    case Value::kNumberValue:
      return "a number";
    case Value::kStringValue:
      return "a string";
    case Value::kListValue:
      return "an array";
    case Value::kStructValue:
      return "an object";
    default:
      return "nothing";
  }
}
}  // namespace

std::string CanonicalJson(const Value& v) {
  std::string out;
  Canon(v, &out);
  return out;
}

absl::StatusOr<JsonObject> JsonObject::Of(const Value& v, std::string path) {
  if (v.kind_case() != Value::kStructValue) {
    return absl::InvalidArgumentError(
        absl::StrCat(path.empty() ? "document" : path,
                     ": expected an object, found ", KindName(v)));
  }
  return JsonObject(&v.struct_value(), std::move(path));
}

std::string JsonObject::PathOf(absl::string_view key) const {
  return path_.empty() ? std::string(key) : absl::StrCat(path_, ".", key);
}

absl::Status JsonObject::Error(absl::string_view key,
                               absl::string_view what) const {
  return absl::InvalidArgumentError(absl::StrCat(PathOf(key), ": ", what));
}

bool JsonObject::Has(absl::string_view key) const {
  return struct_->fields().contains(std::string(key));
}

const Value* JsonObject::Find(absl::string_view key) const {
  auto it = struct_->fields().find(std::string(key));
  return it == struct_->fields().end() ? nullptr : &it->second;
}

absl::Status JsonObject::AllowOnly(
    const std::vector<absl::string_view>& allowed) const {
  for (const auto& [k, unused] : struct_->fields()) {
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      return Error(k, absl::StrCat("unknown field (allowed here: ",
                                   absl::StrJoin(allowed, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status JsonObject::Require(absl::string_view key) const {
  if (!Has(key)) return Error(key, "required field is missing");
  return absl::OkStatus();
}

absl::StatusOr<JsonObject> JsonObject::GetObject(absl::string_view key) const {
  const Value* v = Find(key);
  if (v == nullptr) return Error(key, "required field is missing");
  return Of(*v, PathOf(key));
}

absl::StatusOr<std::string> JsonObject::GetString(absl::string_view key) const {
  const Value* v = Find(key);
  if (v == nullptr) return Error(key, "required field is missing");
  if (v->kind_case() != Value::kStringValue) {
    return Error(key, absl::StrCat("expected a string, found ", KindName(*v)));
  }
  return v->string_value();
}

absl::StatusOr<std::string> JsonObject::GetString(
    absl::string_view key, absl::string_view fallback) const {
  if (!Has(key)) return std::string(fallback);
  return GetString(key);
}

absl::StatusOr<int64_t> JsonObject::GetInt(absl::string_view key) const {
  const Value* v = Find(key);
  if (v == nullptr) return Error(key, "required field is missing");
  if (v->kind_case() != Value::kNumberValue ||
      std::floor(v->number_value()) != v->number_value() ||
      std::fabs(v->number_value()) > 9.007199254740992e15) {
    return Error(key,
                 absl::StrCat("expected an integer, found ", KindName(*v)));
  }
  return static_cast<int64_t>(v->number_value());
}

absl::StatusOr<int64_t> JsonObject::GetInt(absl::string_view key,
                                           int64_t fallback) const {
  if (!Has(key)) return fallback;
  return GetInt(key);
}

absl::StatusOr<double> JsonObject::GetNumber(absl::string_view key,
                                             double fallback) const {
  const Value* v = Find(key);
  if (v == nullptr) return fallback;
  if (v->kind_case() != Value::kNumberValue) {
    return Error(key, absl::StrCat("expected a number, found ", KindName(*v)));
  }
  return v->number_value();
}

absl::StatusOr<bool> JsonObject::GetBool(absl::string_view key,
                                         bool fallback) const {
  const Value* v = Find(key);
  if (v == nullptr) return fallback;
  if (v->kind_case() != Value::kBoolValue) {
    return Error(key,
                 absl::StrCat("expected true or false, found ", KindName(*v)));
  }
  return v->bool_value();
}

absl::StatusOr<const google::protobuf::ListValue*> JsonObject::GetList(
    absl::string_view key) const {
  const Value* v = Find(key);
  if (v == nullptr) return Error(key, "required field is missing");
  if (v->kind_case() != Value::kListValue) {
    return Error(key, absl::StrCat("expected an array, found ", KindName(*v)));
  }
  return &v->list_value();
}

std::string JsonQuote(absl::string_view s) {
  Value v;
  v.set_string_value(std::string(s));
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(v, &out);
  return out;
}

absl::StatusOr<std::vector<std::string>> JsonObject::GetStringList(
    absl::string_view key) const {
  auto list = GetList(key);
  if (!list.ok()) return list.status();
  std::vector<std::string> out;
  for (int i = 0; i < (*list)->values_size(); ++i) {
    if ((*list)->values(i).kind_case() != Value::kStringValue) {
      return Error(absl::StrCat(key, "[", i, "]"), "expected a string");
    }
    out.push_back((*list)->values(i).string_value());
  }
  return out;
}

}  // namespace cohortlink::encoding
