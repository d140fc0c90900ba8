#include "linkage/encoding/record_encoder.h"

#include "absl/strings/str_cat.h"
#include "keys/key_check.h"
#include "linkage/encoding/clk_import.h"
#include "linkage/encoding/clkhash_encoder.h"
#include "linkage/encoding/json.h"
#include "util/atomic_file.h"
#include "util/status_macros.h"

namespace cohortlink::encoding {
namespace {

// Adapts ClkhashEncoder: one record-level filter, record key = row number.
class ClkhashRecordEncoder : public RecordEncoder {
 public:
  ClkhashRecordEncoder(std::unique_ptr<ClkhashEncoder> enc,
                       cohortlink::v1::ExtractHeader header, bool check_header)
      : enc_(std::move(enc)),
        header_(std::move(header)),
        check_header_(check_header) {}

  absl::Status BindHeader(const std::vector<std::string>& header) override {
    const auto& features = enc_->schema().features;
    if (header.empty() || !check_header_) return absl::OkStatus();
    if (header.size() != features.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "header has ", header.size(), " columns; the schema has ",
          features.size(), " features"));
    }
    for (size_t i = 0; i < header.size(); ++i) {
      if (header[i] != features[i].identifier) {
        return absl::InvalidArgumentError(absl::StrCat(
            "header column ", i + 1, " is \"", header[i],
            "\" but the schema's feature ", i + 1, " is \"",
            features[i].identifier, "\" (use --no-header-check to accept)"));
      }
    }
    return absl::OkStatus();
  }

  absl::Status Encode(const CsvRow& row, uint64_t row_index,
                      cohortlink::v1::EncodedRecord* out) override {
    out->Clear();
    RETURN_IF_ERROR(enc_->Encode(row.fields, out->mutable_filters()));
    out->set_record_key(absl::StrCat(row_index));
    return absl::OkStatus();
  }

  const std::string& last_local_id() const override { return empty_; }

  absl::StatusOr<std::unique_ptr<RecordEncoder>> Clone() const override {
    ASSIGN_OR_RETURN(auto enc, enc_->Clone());
    return std::unique_ptr<RecordEncoder>(
        new ClkhashRecordEncoder(std::move(enc), header_, check_header_));
  }

  const cohortlink::v1::ExtractHeader& header() const override {
    return header_;
  }

 private:
  std::unique_ptr<ClkhashEncoder> enc_;
  cohortlink::v1::ExtractHeader header_;
  bool check_header_;
  std::string empty_;
};

}  // namespace

const std::string& LoadedSchema::fingerprint() const {
  if (is_native()) return std::get<NativeSchema>(schema).fingerprint;
  return std::get<ClkhashSchema>(schema).fingerprint;
}

std::string LoadedSchema::kind() const {
  if (is_native()) return "cohortlink/1";
  return absl::StrCat("clkhash/", std::get<ClkhashSchema>(schema).version);
}

absl::StatusOr<LoadedSchema> LoadSchemaFile(const std::string& path) {
  auto text = util::ReadFile(path);
  if (!text.ok()) {
    return absl::Status(text.status().code(),
                        absl::StrCat("schema ", text.status().message()));
  }
  ASSIGN_OR_RETURN(google::protobuf::Value doc, ParseJson(*text, path));
  LoadedSchema out;
  out.path = path;
  if (IsNativeSchema(doc)) {
    ASSIGN_OR_RETURN(out.schema, ParseNativeSchema(*text, path));
    return out;
  }
  if (IsClkhashSchema(doc)) {
    auto s = ParseClkhashSchema(doc);
    if (!s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": ", s.status().message()));
    }
    out.schema = *std::move(s);
    return out;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      path,
      ": not a linkage schema (a cohortlink schema has "
      "\"cohortlink_schema\": 1; a clkhash schema has \"clkConfig\")"));
}

absl::StatusOr<std::unique_ptr<RecordEncoder>> NewRecordEncoder(
    const LoadedSchema& schema, absl::string_view secret,
    const EncoderOptions& options) {
  if (secret.empty()) return absl::InvalidArgumentError("the secret is empty");
  if (schema.is_native()) {
    return NewNativeEncoder(std::get<NativeSchema>(schema.schema), secret,
                            options);
  }
  const auto& cs = std::get<ClkhashSchema>(schema.schema);
  ASSIGN_OR_RETURN(auto enc, ClkhashEncoder::Create(cs, secret));
  ASSIGN_OR_RETURN(std::string kcv,
                   keys::KeyCheckValue(secret, cs.fingerprint));
  ASSIGN_OR_RETURN(cohortlink::v1::ExtractHeader header,
                   ClkhashExtractHeader(schema, kcv));
  return std::unique_ptr<RecordEncoder>(new ClkhashRecordEncoder(
      std::move(enc), std::move(header), options.check_header));
}

}  // namespace cohortlink::encoding
