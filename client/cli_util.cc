#include "client/cli_util.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"
#include "keys/key_check.h"
#include "linkage/encoding/csv_writer.h"
#include "util/names.h"
#include "util/text.h"

namespace cohortlink::client {

void PrintError(const absl::Status& status) {
  // Line by line: the error's details are on lines of their own (FromGrpc),
  // and each is made printable (it may quote what the server sent).
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(status.message(), '\n'))
    lines.push_back(util::Printable(line));
  std::cerr << "cohortlink: error: " << absl::StrJoin(lines, "\n") << std::endl;
}

CLI::Validator NameRule() {
  return CLI::Validator(
      [](std::string& name) -> std::string {
        absl::Status s = util::CheckName("name", name);
        return s.ok() ? "" : std::string(s.message());
      },
      "NAME");
}

CLI::Validator KeyCheckValueRule() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        auto bytes = util::HexDecode(v);
        return bytes.ok() && bytes->size() == keys::kKeyCheckValueSize
                   ? ""
                   : "must be 16 hex digits";
      },
      "HEX16");
}

void PrintKeyValues(
    const std::vector<std::pair<std::string, std::string>>& kv) {
  size_t width = 0;
  for (const auto& [k, v] : kv) width = std::max(width, k.size());
  for (const auto& [k, v] : kv) {
    std::cout << k << std::string(width - k.size() + 2, ' ')
              << util::Printable(v) << "\n";
  }
}

void PrintCsv(const std::vector<std::string>& header,
              const std::vector<std::vector<std::string>>& rows) {
  std::string out;
  auto line = [&out](const std::vector<std::string>& fields) {
    std::vector<std::string> shown;
    for (const auto& f : fields) shown.push_back(util::Printable(f));
    encoding::AppendCsvRow(shown, &out);
  };
  line(header);
  for (const auto& r : rows) line(r);
  std::cout << out;
}

void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& raw_rows) {
  // Every cell may hold text from the server: escaped, so no control or
  // bidirectional character reaches the terminal.
  std::vector<std::vector<std::string>> rows = raw_rows;
  for (auto& r : rows)
    for (auto& cell : r) cell = util::Printable(cell);
  std::vector<size_t> w(header.size());
  for (size_t c = 0; c < header.size(); ++c) w[c] = header[c].size();
  for (const auto& r : rows) {
    for (size_t c = 0; c < r.size() && c < w.size(); ++c) {
      w[c] = std::max(w[c], r[c].size());
    }
  }
  auto line = [&](const std::vector<std::string>& r) {
    std::string out;
    for (size_t c = 0; c < w.size(); ++c) {
      std::string cell = c < r.size() ? r[c] : "";
      out += cell;
      if (c + 1 < w.size()) out += std::string(w[c] - cell.size() + 2, ' ');
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    std::cout << out << "\n";
  };
  line(header);
  std::vector<std::string> rule;
  for (size_t c = 0; c < w.size(); ++c) rule.push_back(std::string(w[c], '-'));
  line(rule);
  for (const auto& r : rows) line(r);
}

google::protobuf::Value ToJsonValue(const google::protobuf::Message& m) {
  using google::protobuf::FieldDescriptor;
  const auto* d = m.GetDescriptor();
  const auto* r = m.GetReflection();
  google::protobuf::Value out;
  auto* fields = out.mutable_struct_value()->mutable_fields();
  auto scalar = [&](const FieldDescriptor* f,
                    int i) -> google::protobuf::Value {
    const bool rep = f->is_repeated();
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
        return JsonNumber(rep ? r->GetRepeatedInt32(m, f, i)
                              : r->GetInt32(m, f));
      case FieldDescriptor::CPPTYPE_INT64:
        return JsonNumber(static_cast<double>(rep ? r->GetRepeatedInt64(m, f, i)
                                                  : r->GetInt64(m, f)));
      case FieldDescriptor::CPPTYPE_UINT32:
        return JsonNumber(rep ? r->GetRepeatedUInt32(m, f, i)
                              : r->GetUInt32(m, f));
      case FieldDescriptor::CPPTYPE_UINT64:
        return JsonNumber(static_cast<double>(
            rep ? r->GetRepeatedUInt64(m, f, i) : r->GetUInt64(m, f)));
      case FieldDescriptor::CPPTYPE_DOUBLE:
        return JsonNumber(rep ? r->GetRepeatedDouble(m, f, i)
                              : r->GetDouble(m, f));
      case FieldDescriptor::CPPTYPE_FLOAT:
        return JsonNumber(rep ? r->GetRepeatedFloat(m, f, i)
                              : r->GetFloat(m, f));
      case FieldDescriptor::CPPTYPE_BOOL:
        return JsonBool(rep ? r->GetRepeatedBool(m, f, i) : r->GetBool(m, f));
      case FieldDescriptor::CPPTYPE_ENUM:
        return JsonString(
            (rep ? r->GetRepeatedEnum(m, f, i) : r->GetEnum(m, f))->name());
      case FieldDescriptor::CPPTYPE_STRING:
        return JsonString(rep ? r->GetRepeatedString(m, f, i)
                              : r->GetString(m, f));
      case FieldDescriptor::CPPTYPE_MESSAGE:
        return ToJsonValue(rep ? r->GetRepeatedMessage(m, f, i)
                               : r->GetMessage(m, f));
    }
    return {};
  };
  for (int k = 0; k < d->field_count(); ++k) {
    const FieldDescriptor* f = d->field(k);
    if (f->is_repeated()) {
      auto* list = (*fields)[f->name()].mutable_list_value();
      for (int i = 0; i < r->FieldSize(m, f); ++i)
        *list->add_values() = scalar(f, i);
    } else if ((f->has_optional_keyword() ||
                f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) &&
               !r->HasField(m, f)) {
      (*fields)[f->name()].set_null_value(google::protobuf::NULL_VALUE);
    } else {
      (*fields)[f->name()] = scalar(f, 0);
    }
  }
  return out;
}

namespace {

void AppendJsonString(absl::string_view s, std::string* out) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\r':
        out->append("\\r");
        break;
      default:
        if (c < 0x20) {
          absl::StrAppendFormat(out, "\\u%04x", c);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

// The shortest form that reads back as `d`; integers without a fraction.
void AppendJsonNumber(double d, std::string* out) {
  if (!std::isfinite(d)) {
    out->append("null");
    return;
  }
  if (d == std::floor(d) && std::fabs(d) < 9007199254740992.0) {
    absl::StrAppendFormat(out, "%.0f", d);
    return;
  }
  for (int precision = 15; precision <= 17; ++precision) {
    std::string text = absl::StrFormat("%.*g", precision, d);
    if (precision == 17 || std::strtod(text.c_str(), nullptr) == d) {
      out->append(text);
      return;
    }
  }
}

// Protobuf's JSON printer writes a Struct's keys in its map's order,
// which differs from run to run; scripts need one order, so keys are
// sorted here. Layout as protobuf's with whitespace: one space per level.
void AppendJson(const google::protobuf::Value& v, int depth, std::string* out) {
  const std::string indent(depth + 1, ' ');
  const std::string close_indent(depth, ' ');
  switch (v.kind_case()) {
    case google::protobuf::Value::kNullValue:
    case google::protobuf::Value::KIND_NOT_SET:
      out->append("null");
      return;
    case google::protobuf::Value::kNumberValue:
      AppendJsonNumber(v.number_value(), out);
      return;
    case google::protobuf::Value::kStringValue:
      AppendJsonString(v.string_value(), out);
      return;
    case google::protobuf::Value::kBoolValue:
      out->append(v.bool_value() ? "true" : "false");
      return;
    case google::protobuf::Value::kStructValue: {
      const auto& fields = v.struct_value().fields();
      if (fields.empty()) {
        out->append("{}");
        return;
      }
      std::vector<std::string> keys;
      for (const auto& [k, unused] : fields) keys.push_back(k);
      std::sort(keys.begin(), keys.end());
      out->append("{\n");
      for (size_t i = 0; i < keys.size(); ++i) {
        out->append(indent);
        AppendJsonString(keys[i], out);
        out->append(": ");
        AppendJson(fields.at(keys[i]), depth + 1, out);
        out->append(i + 1 < keys.size() ? ",\n" : "\n");
      }
      out->append(close_indent);
      out->push_back('}');
      return;
    }
    case google::protobuf::Value::kListValue: {
      const auto& values = v.list_value().values();
      if (values.empty()) {
        out->append("[]");
        return;
      }
      out->append("[\n");
      for (int i = 0; i < values.size(); ++i) {
        out->append(indent);
        AppendJson(values[i], depth + 1, out);
        out->append(i + 1 < values.size() ? ",\n" : "\n");
      }
      out->append(close_indent);
      out->push_back(']');
      return;
    }
  }
}

}  // namespace

std::string JsonText(const google::protobuf::Value& v) {
  std::string out;
  AppendJson(v, 0, &out);
  out.push_back('\n');
  return out;
}

void PrintJson(const google::protobuf::Message& v) {
  if (v.GetDescriptor() != google::protobuf::Value::descriptor()) {
    google::protobuf::Value value;
    if (v.GetDescriptor() == google::protobuf::Struct::descriptor()) {
      value.mutable_struct_value()->CopyFrom(v);
    } else {
      value = ToJsonValue(v);
    }
    std::cout << JsonText(value);
    return;
  }
  std::cout << JsonText(static_cast<const google::protobuf::Value&>(v));
}

google::protobuf::Value JsonString(const std::string& s) {
  google::protobuf::Value v;
  v.set_string_value(s);
  return v;
}

google::protobuf::Value JsonNumber(double d) {
  google::protobuf::Value v;
  v.set_number_value(d);
  return v;
}

google::protobuf::Value JsonBool(bool b) {
  google::protobuf::Value v;
  v.set_bool_value(b);
  return v;
}

std::string WithThousands(uint64_t n) {
  std::string s = absl::StrCat(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(i, ",");
  return s;
}

}  // namespace cohortlink::client
