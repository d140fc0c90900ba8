#ifndef COHORTLINK_LINKAGE_ENCODING_CSV_WRITER_H_
#define COHORTLINK_LINKAGE_ENCODING_CSV_WRITER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "util/atomic_file.h"

namespace cohortlink::encoding {

// Appends `fields` as one RFC 4180 row, with its line feed, to `out`:
// fields holding a comma, quote or line break are quoted, quotes doubled.
void AppendCsvRow(const std::vector<std::string>& fields, std::string* out);

// Buffered RFC 4180 CSV output (AppendCsvRow) through an AtomicFile.
// Nothing appears at `path` until Commit().
class CsvWriter {
 public:
  static absl::StatusOr<std::unique_ptr<CsvWriter>> Create(
      const std::string& path, const std::vector<std::string>& header,
      unsigned mode = 0644);
  void Row(const std::vector<std::string>& fields);
  // Writes the buffer out once it holds 1 MiB.
  absl::Status MaybeFlush();
  absl::Status Flush();
  absl::Status Commit();

 private:
  explicit CsvWriter(std::unique_ptr<util::AtomicFile> f)
      : file_(std::move(f)) {}
  std::unique_ptr<util::AtomicFile> file_;
  std::string buf_;
};

}  // namespace cohortlink::encoding

#endif  // COHORTLINK_LINKAGE_ENCODING_CSV_WRITER_H_
