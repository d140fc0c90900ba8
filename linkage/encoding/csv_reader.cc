#include "linkage/encoding/csv_reader.h"

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "util/atomic_file.h"

namespace cohortlink::encoding {
namespace {
constexpr size_t kChunk = 1 << 20;
}  // namespace

absl::StatusOr<std::unique_ptr<CsvReader>> CsvReader::Open(
    const std::string& path, CsvOptions options) {
  if (path == "-") {
    return std::unique_ptr<CsvReader>(
        new CsvReader(stdin, false, "", "<stdin>", options));
  }
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr)
    return util::ErrnoStatus(errno, absl::StrCat("cannot open ", path));
  return std::unique_ptr<CsvReader>(new CsvReader(f, true, "", path, options));
}

std::unique_ptr<CsvReader> CsvReader::FromString(std::string data,
                                                 std::string name,
                                                 CsvOptions options) {
  return std::unique_ptr<CsvReader>(
      new CsvReader(nullptr, false, std::move(data), std::move(name), options));
}

CsvReader::CsvReader(std::FILE* file, bool owns, std::string data,
                     std::string name, CsvOptions options)
    : file_(file),
      owns_file_(owns),
      buffer_(std::move(data)),
      eof_(file == nullptr),
      name_(std::move(name)),
      options_(options) {}

CsvReader::~CsvReader() {
  if (owns_file_ && file_ != nullptr) std::fclose(file_);
}

bool CsvReader::Refill() {
  if (eof_) return false;
  consumed_ += pos_;
  buffer_.erase(0, pos_);
  pos_ = 0;
  size_t old = buffer_.size();
  buffer_.resize(old + kChunk);
  size_t n = std::fread(buffer_.data() + old, 1, kChunk, file_);
  buffer_.resize(old + n);
  if (n == 0) eof_ = true;
  return n > 0;
}

int CsvReader::Peek() {
  if (pos_ >= buffer_.size() && !Refill()) return -1;
  return static_cast<unsigned char>(buffer_[pos_]);
}

int CsvReader::Get() {
  int c = Peek();
  if (c < 0) return c;
  ++pos_;
  ++column_;
  return c;
}

absl::Status CsvReader::Error(uint64_t line, uint64_t column,
                              absl::string_view what) const {
  return absl::InvalidArgumentError(
      absl::StrCat(name_, ":", line, ":", column, ": ", what));
}

absl::StatusOr<bool> CsvReader::Next(CsvRow* row) {
  if (!started_) {
    started_ = true;
    // Skip a UTF-8 byte-order mark.
    if (Peek() == 0xEF) {
      if (pos_ + 3 > buffer_.size()) Refill();
      if (buffer_.compare(pos_, 3, "\xEF\xBB\xBF") == 0) pos_ += 3;
    }
  }
  row->fields.clear();
  // Skip blank lines.
  for (;;) {
    int c = Peek();
    if (c < 0) return false;
    if (c == '\n' || c == '\r') {
      Get();
      if (c == '\r' && Peek() == '\n') Get();
      ++line_;
      column_ = 0;
      continue;
    }
    break;
  }
  row->line = line_;
  std::string field;
  for (;;) {  // one field per iteration
    field.clear();
    if (options_.skip_initial_space) {
      while (Peek() == ' ') Get();
    }
    if (Peek() == '"') {
      Get();
      uint64_t open_line = line_, open_col = column_;
      for (;;) {
        int c = Get();
        if (c < 0) {
          return Error(open_line, open_col,
                       "quoted field is not terminated before end of file");
        }
        if (c == '"') {
          if (Peek() == '"') {
            Get();
            field.push_back('"');
            continue;
          }
          break;  // closing quote
        }
        if (c == '\n' || c == '\r') {
          // Line ends inside quotes are data; keep them as written.
          field.push_back(static_cast<char>(c));
          if (c == '\r' && Peek() == '\n')
            field.push_back(static_cast<char>(Get()));
          ++line_;
          column_ = 0;
          continue;
        }
        field.push_back(static_cast<char>(c));
      }
      int c = Peek();
      if (c >= 0 && c != options_.delimiter && c != '\n' && c != '\r') {
        return Error(line_, column_ + 1,
                     "unexpected character after closing quote (a quote "
                     "inside a quoted field must be doubled)");
      }
    } else {
      for (;;) {
        int c = Peek();
        if (c < 0 || c == options_.delimiter || c == '\n' || c == '\r') break;
        field.push_back(static_cast<char>(Get()));
      }
    }
    row->fields.push_back(field);
    int c = Get();
    if (c == options_.delimiter) continue;
    if (c == '\r' && Peek() == '\n') Get();
    if (c == '\n' || c == '\r') {
      ++line_;
      column_ = 0;
    }
    break;
  }
  return true;
}

}  // namespace cohortlink::encoding
