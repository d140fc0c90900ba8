#include "linkage/encoding/extract_file.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "keys/secret.h"
#include "util/status_macros.h"
#include "util/text.h"

namespace cohortlink::encoding {

void AppendLengthDelimited(absl::string_view record, std::string* out) {
  uint32_t n = static_cast<uint32_t>(record.size());
  while (n >= 0x80) {
    out->push_back(static_cast<char>((n & 0x7F) | 0x80));
    n >>= 7;
  }
  out->push_back(static_cast<char>(n));
  out->append(record.data(), record.size());
}

absl::StatusOr<std::unique_ptr<ExtractWriter>> ExtractWriter::Create(
    const std::string& path, const cohortlink::v1::ExtractHeader& header) {
  ASSIGN_OR_RETURN(auto file, util::AtomicFile::Create(path, 0644));
  std::string header_bytes;
  if (!header.SerializeToString(&header_bytes)) {
    return absl::InternalError("cannot serialise the extract header");
  }
  std::string pre(kExtractMagic, 8);
  util::PutFixed32(&pre, kExtractFormatVersion);
  util::PutFixed32(&pre, static_cast<uint32_t>(header_bytes.size()));
  util::PutFixed64(&pre, 0);  // patched by Finish()
  RETURN_IF_ERROR(file->Write(pre));
  RETURN_IF_ERROR(file->Write(header_bytes));
  return std::unique_ptr<ExtractWriter>(
      new ExtractWriter(std::move(file), std::move(header_bytes)));
}

absl::Status ExtractWriter::AppendSerialized(absl::string_view record) {
  std::string framed;
  AppendLengthDelimited(record, &framed);
  return AppendFramed(framed, 1);
}

absl::Status ExtractWriter::AppendFramed(absl::string_view framed,
                                         uint64_t records) {
  records_digest_.Update(framed);
  count_ += records;
  return file_->Write(framed);
}

absl::StatusOr<std::string> ExtractWriter::Finish() {
  std::string count;
  util::PutFixed64(&count, count_);
  RETURN_IF_ERROR(file_->WriteAt(16, count));
  std::string pre(kExtractMagic, 8);
  util::PutFixed32(&pre, kExtractFormatVersion);
  util::PutFixed32(&pre, static_cast<uint32_t>(header_bytes_.size()));
  pre += count;
  std::string digest = records_digest_.Finish();
  std::string trailer(kExtractEndMagic, 8);
  util::PutFixed64(&trailer, count_);
  trailer += digest;
  trailer += keys::Sha256::Digest(pre + header_bytes_);
  RETURN_IF_ERROR(file_->Write(trailer));
  RETURN_IF_ERROR(file_->Commit());
  return digest;
}

ExtractReader::~ExtractReader() {
  if (file_ != nullptr) std::fclose(file_);
}

absl::Status ExtractReader::Corrupt(absl::string_view what) const {
  return absl::DataLossError(
      absl::StrCat(path_, ": not a valid cohortlink extract: ", what));
}

absl::StatusOr<std::unique_ptr<ExtractReader>> ExtractReader::Open(
    const std::string& path) {
  auto r = std::unique_ptr<ExtractReader>(new ExtractReader());
  r->path_ = path;
  r->file_ = std::fopen(path.c_str(), "rb");
  if (r->file_ == nullptr) {
    return util::ErrnoStatus(errno, absl::StrCat("cannot open ", path));
  }
  char pre[kExtractPreamble];
  if (std::fread(pre, 1, sizeof pre, r->file_) != sizeof pre ||
      std::memcmp(pre, kExtractMagic, 8) != 0) {
    return r->Corrupt("bad magic (is this an encoded extract?)");
  }
  uint32_t version = util::DecodeFixed32(pre + 8);
  if (version != kExtractFormatVersion) {
    return r->Corrupt(absl::StrCat("format version ", version,
                                   " is not supported (expected 1)"));
  }
  uint32_t hlen = util::DecodeFixed32(pre + 12);
  r->count_ = util::DecodeFixed64(pre + 16);
  if (hlen > (16u << 20)) return r->Corrupt("header too large");
  std::string hbytes(hlen, '\0');
  if (std::fread(hbytes.data(), 1, hlen, r->file_) != hlen ||
      !r->header_.ParseFromString(hbytes)) {
    return r->Corrupt("header cannot be read");
  }
  if (std::fseek(r->file_, 0, SEEK_END) != 0) return r->Corrupt("cannot seek");
  long size = std::ftell(r->file_);
  r->records_begin_ = kExtractPreamble + hlen;
  if (size < 0 ||
      static_cast<uint64_t>(size) < r->records_begin_ + kExtractTrailer) {
    return r->Corrupt("file is truncated");
  }
  r->records_end_ = static_cast<uint64_t>(size) - kExtractTrailer;
  char trailer[kExtractTrailer];
  std::fseek(r->file_, static_cast<long>(r->records_end_), SEEK_SET);
  if (std::fread(trailer, 1, kExtractTrailer, r->file_) != kExtractTrailer ||
      std::memcmp(trailer, kExtractEndMagic, 8) != 0) {
    return r->Corrupt("trailer missing (file truncated?)");
  }
  if (util::DecodeFixed64(trailer + 8) != r->count_) {
    return r->Corrupt("record counts in header and trailer differ");
  }
  r->records_digest_ = std::string(trailer + 16, 32);
  std::string expect_header(trailer + 48, 32);
  std::string pre_s(pre, sizeof pre);
  if (!keys::ConstantTimeEquals(keys::Sha256::Digest(pre_s + hbytes),
                                expect_header)) {
    return r->Corrupt("header checksum mismatch");
  }
  std::fseek(r->file_, static_cast<long>(r->records_begin_), SEEK_SET);
  r->pos_ = r->records_begin_;
  return r;
}

absl::StatusOr<bool> ExtractReader::Next(std::string* bytes) {
  if (pos_ >= records_end_) {
    if (read_ != count_) {
      return Corrupt(
          absl::StrCat("header says ", count_, " records, found ", read_));
    }
    if (running_.Finish() != records_digest_) {
      return Corrupt("records checksum mismatch");
    }
    pos_ = records_end_ + 1;  // finished
    return false;
  }
  uint32_t len = 0;
  std::string prefix;
  for (int shift = 0;; shift += 7) {
    int c = std::fgetc(file_);
    if (c == EOF || shift > 28) return Corrupt("bad record length");
    prefix.push_back(static_cast<char>(c));
    len |= static_cast<uint32_t>(c & 0x7F) << shift;
    if ((c & 0x80) == 0) break;
  }
  if (len > kMaxRecordBytes || pos_ + prefix.size() + len > records_end_) {
    return Corrupt(absl::StrCat("record ", read_, " has a bad length"));
  }
  bytes->resize(len);
  if (len > 0 && std::fread(bytes->data(), 1, len, file_) != len) {
    return Corrupt("unexpected end of file");
  }
  running_.Update(prefix);
  running_.Update(*bytes);
  pos_ += prefix.size() + len;
  ++read_;
  return true;
}

}  // namespace cohortlink::encoding
