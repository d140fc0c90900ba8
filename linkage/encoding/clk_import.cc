#include "linkage/encoding/clk_import.h"

#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "linkage/encoding/clkhash_schema.h"
#include "linkage/encoding/extract_file.h"
#include "util/status_macros.h"
#include "util/text.h"

namespace cohortlink::encoding {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool IsBase64(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
}

// A cursor over the document; errors name the byte offset.
class Cursor {
 public:
  explicit Cursor(absl::string_view doc) : doc_(doc) {}
  void SkipSpace() {
    while (pos_ < doc_.size() && IsSpace(doc_[pos_])) ++pos_;
  }
  bool Take(char c) {
    SkipSpace();
    if (pos_ < doc_.size() && doc_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool AtEnd() {
    SkipSpace();
    return pos_ == doc_.size();
  }
  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(what, " at byte ", pos_));
  }
  // A JSON string of base64 characters (the escape \/ allowed) into `out`.
  absl::Status Base64String(std::string* out) {
    out->clear();
    if (!Take('"')) return Error("expected a string");
    while (pos_ < doc_.size() && doc_[pos_] != '"') {
      char c = doc_[pos_];
      if (c == '\\' && pos_ + 1 < doc_.size() && doc_[pos_ + 1] == '/') {
        out->push_back('/');
        pos_ += 2;
        continue;
      }
      if (!IsBase64(c)) return Error("not a base64 character");
      out->push_back(c);
      ++pos_;
    }
    if (pos_ == doc_.size()) return Error("unterminated string");
    ++pos_;
    return absl::OkStatus();
  }

 private:
  absl::string_view doc_;
  size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<cohortlink::v1::ExtractHeader> ClkhashExtractHeader(
    const LoadedSchema& schema, const std::string& key_check_value) {
  if (schema.is_native()) {
    return absl::InvalidArgumentError(
        absl::StrCat(schema.path,
                     " is a cohortlink schema; clkhash CLKs "
                     "need the clkhash schema they were made "
                     "with"));
  }
  const auto& cs = std::get<ClkhashSchema>(schema.schema);
  cohortlink::v1::ExtractHeader header;
  header.set_schema_kind(schema.kind());
  header.set_schema_name(schema.path);
  header.set_schema_fingerprint(cs.fingerprint);
  header.set_key_check_value(key_check_value);
  auto* layout = header.mutable_layout();
  layout->set_total_bits(static_cast<uint32_t>(cs.l));
  auto* seg = layout->add_segments();
  seg->set_name("clk");
  seg->set_kind(cohortlink::v1::FilterSegment::RECORD);
  seg->set_offset_bits(0);
  seg->set_length_bits(static_cast<uint32_t>(cs.l));
  if (cs.xor_folds > 0) seg->add_hardening("xor_fold");
  return header;
}

absl::Status ParseClkhashJson(
    absl::string_view doc, size_t clk_bytes,
    const std::function<absl::Status(std::string_view)>& clk) {
  Cursor c(doc);
  std::string text, key;
  if (!c.Take('{')) return c.Error("expected '{'");
  RETURN_IF_ERROR(c.Base64String(&key));  // "clks" is base64 characters
  if (key != "clks") {
    return c.Error("expected the one key \"clks\" ({\"clks\": [...]})");
  }
  if (!c.Take(':')) return c.Error("expected ':'");
  if (!c.Take('[')) return c.Error("expected '['");
  uint64_t n = 0;
  if (!c.Take(']')) {
    do {
      if (n >= kMaxImportedClks) {
        return c.Error(absl::StrCat("more than ", kMaxImportedClks, " CLKs"));
      }
      RETURN_IF_ERROR(c.Base64String(&text));
      // Base64 of clk_bytes bytes is 4 * ceil(clk_bytes / 3) characters.
      if (text.size() != 4 * ((clk_bytes + 2) / 3)) {
        return c.Error(absl::StrCat("CLK ", n, " is not ", clk_bytes,
                                    " bytes of base64 (the schema's l)"));
      }
      auto bytes = util::Base64Decode(text);
      if (!bytes.ok() || bytes->size() != clk_bytes) {
        return c.Error(absl::StrCat("CLK ", n, " is not ", clk_bytes,
                                    " bytes of base64 (the schema's l)"));
      }
      absl::Status s = clk(*bytes);
      if (!s.ok()) {
        return absl::Status(s.code(),
                            absl::StrCat("CLK ", n, ": ", s.message()));
      }
      ++n;
    } while (c.Take(','));
    if (!c.Take(']')) return c.Error("expected ',' or ']'");
  }
  if (!c.Take('}')) return c.Error("expected '}'");
  if (!c.AtEnd()) return c.Error("unexpected content after the document");
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> ImportClkhashJson(
    const std::string& json_path, const cohortlink::v1::ExtractHeader& header,
    const std::string& out_path) {
  struct stat st;
  if (stat(json_path.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat(json_path, ": cannot be read"));
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxClkJsonBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(json_path, " is larger than the limit of ",
                     kMaxClkJsonBytes, " bytes"));
  }
  ASSIGN_OR_RETURN(std::string doc, util::ReadFile(json_path));
  const size_t clk_bytes = header.layout().total_bits() / 8;
  ASSIGN_OR_RETURN(auto writer, ExtractWriter::Create(out_path, header));
  cohortlink::v1::EncodedRecord rec;
  std::string bytes;
  uint64_t n = 0;
  absl::Status s = ParseClkhashJson(doc, clk_bytes, [&](std::string_view clk) {
    rec.set_record_key(absl::StrCat(n++));
    rec.set_filters(std::string(clk));
    bytes.clear();
    rec.SerializeToString(&bytes);
    return writer->AppendSerialized(bytes);
  });
  if (!s.ok()) {
    return absl::Status(s.code(), absl::StrCat(json_path, ": ", s.message()));
  }
  RETURN_IF_ERROR(writer->Finish().status());
  return n;
}

}  // namespace cohortlink::encoding
