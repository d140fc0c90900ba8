#include "linkage/encoding/csv_writer.h"

#include "util/status_macros.h"

namespace cohortlink::encoding {

absl::StatusOr<std::unique_ptr<CsvWriter>> CsvWriter::Create(
    const std::string& path, const std::vector<std::string>& header,
    unsigned mode) {
  ASSIGN_OR_RETURN(auto f, util::AtomicFile::Create(path, mode));
  auto out = std::unique_ptr<CsvWriter>(new CsvWriter(std::move(f)));
  out->Row(header);
  return out;
}

void AppendCsvRow(const std::vector<std::string>& fields, std::string* out) {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out->push_back(',');
    const std::string& v = fields[i];
    if (v.find_first_of(",\"\n\r") != std::string::npos) {
      out->push_back('"');
      for (char c : v) {
        if (c == '"') out->push_back('"');
        out->push_back(c);
      }
      out->push_back('"');
    } else {
      *out += v;
    }
  }
  out->push_back('\n');
}

void CsvWriter::Row(const std::vector<std::string>& fields) {
  AppendCsvRow(fields, &buf_);
}

absl::Status CsvWriter::MaybeFlush() {
  if (buf_.size() < (1 << 20)) return absl::OkStatus();
  return Flush();
}

absl::Status CsvWriter::Flush() {
  RETURN_IF_ERROR(file_->Write(buf_));
  buf_.clear();
  return absl::OkStatus();
}

absl::Status CsvWriter::Commit() {
  RETURN_IF_ERROR(Flush());
  return file_->Commit();
}

}  // namespace cohortlink::encoding
