#ifndef COHORTLINK_LINKAGE_ENCODING_CSV_READER_H_
#define COHORTLINK_LINKAGE_ENCODING_CSV_READER_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cohortlink::encoding {

struct CsvOptions {
  char delimiter = ',';
  // Drop spaces that follow a delimiter (Febrl files use ", ").
  bool skip_initial_space = false;
};

// One parsed row. `line` is the 1-based physical line the row starts on.
struct CsvRow {
  std::vector<std::string> fields;
  uint64_t line = 0;
};

// Streaming RFC 4180 reader with the quoting rules of Python's csv module
// (the reader clkhash uses): fields may be quoted with '"', a doubled quote
// inside a quoted field is one quote, quoted fields may span lines, and a
// quote inside an unquoted field is kept literally. Accepts LF, CRLF and CR
// line ends and skips a UTF-8 byte-order mark and blank lines.
//
// Stricter than Python where Python silently guesses: text after a closing
// quote, and an unterminated quoted field, are errors naming the file, line
// and column. Memory is bounded by the longest row.
//
// Not thread-safe.
class CsvReader {
 public:
  // Opens `path` ("-" reads standard input).
  static absl::StatusOr<std::unique_ptr<CsvReader>> Open(
      const std::string& path, CsvOptions options = {});
  // Reads from memory (tests, fuzzing). `name` is used in messages.
  static std::unique_ptr<CsvReader> FromString(std::string data,
                                               std::string name = "<input>",
                                               CsvOptions options = {});
  ~CsvReader();
  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;

  // Reads the next row into `row`. Returns false at end of input.
  // INVALID_ARGUMENT for malformed input, with "<name>:<line>:<column>: ...".
  absl::StatusOr<bool> Next(CsvRow* row);

  const std::string& name() const { return name_; }
  // Input bytes consumed so far.
  uint64_t bytes_read() const { return consumed_ + pos_; }

 private:
  CsvReader(std::FILE* file, bool owns, std::string data, std::string name,
            CsvOptions options);
  // Returns the next byte, or -1 at end of input.
  int Get();
  int Peek();
  bool Refill();
  absl::Status Error(uint64_t line, uint64_t column,
                     absl::string_view what) const;

  std::FILE* file_;
  bool owns_file_;
  std::string buffer_;
  size_t pos_ = 0;
  bool eof_ = false;
  std::string name_;
  CsvOptions options_;
  uint64_t line_ = 1;
  uint64_t column_ = 0;  // column of the last byte returned by Get()
  bool started_ = false;
  uint64_t consumed_ = 0;  // bytes dropped from the front of buffer_
};

}  // namespace cohortlink::encoding

#endif  // COHORTLINK_LINKAGE_ENCODING_CSV_READER_H_
