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

void CsvWriter::Row(const std::vector<std::string>& fields) {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) buf_.push_back(',');
    const std::string& v = fields[i];
    if (v.find_first_of(",\"\n\r") != std::string::npos) {
      buf_.push_back('"');
      for (char c : v) {
        if (c == '"') buf_.push_back('"');
        buf_.push_back(c);
      }
      buf_.push_back('"');
    } else {
      buf_ += v;
    }
  }
  buf_.push_back('\n');
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
