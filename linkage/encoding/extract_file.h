#ifndef COHORTLINK_LINKAGE_ENCODING_EXTRACT_FILE_H_
#define COHORTLINK_LINKAGE_ENCODING_EXTRACT_FILE_H_

// The encoded extract container (docs/extract-format.md):
//
//   offset 0   magic "CLNKXTR1"                        8 bytes
//          8   format version (u32 LE) = 1             4
//         12   header length H (u32 LE)                4
//         16   record count (u64 LE)                   8
//         24   ExtractHeader (protobuf)                H
//     24 + H   records: varint length + EncodedRecord, repeated
//     end-80   trailer: magic "CLNKEND1", record count (u64 LE),
//              SHA-256 of the records section, SHA-256 of bytes [0, 24+H)
//
// The records digest is the extract's content digest (what an upload
// declares and the server recomputes).

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cohortlink/v1/extract.pb.h"
#include "keys/mac.h"
#include "util/atomic_file.h"

namespace cohortlink::encoding {

inline constexpr char kExtractMagic[] = "CLNKXTR1";
inline constexpr char kExtractEndMagic[] = "CLNKEND1";
inline constexpr uint32_t kExtractFormatVersion = 1;
inline constexpr size_t kExtractPreamble = 24;
inline constexpr size_t kExtractTrailer = 80;
// Upper bound on one serialised record, against corrupt length prefixes.
inline constexpr uint32_t kMaxRecordBytes = 1 << 20;

// Writes an extract atomically: nothing appears at `path` unless Finish()
// succeeds. Not thread-safe.
class ExtractWriter {
 public:
  static absl::StatusOr<std::unique_ptr<ExtractWriter>> Create(
      const std::string& path, const cohortlink::v1::ExtractHeader& header);
  // Appends one already-serialised EncodedRecord.
  [[nodiscard]] absl::Status AppendSerialized(absl::string_view record);
  // Appends `records` records already framed with AppendLengthDelimited.
  [[nodiscard]] absl::Status AppendFramed(absl::string_view framed,
                                          uint64_t records);
  // Patches the count, writes the trailer, fsyncs and renames into place.
  // Returns the content digest (SHA-256 of the records section).
  absl::StatusOr<std::string> Finish();
  uint64_t count() const { return count_; }

 private:
  ExtractWriter(std::unique_ptr<util::AtomicFile> file,
                std::string header_bytes)
      : file_(std::move(file)), header_bytes_(std::move(header_bytes)) {}
  std::unique_ptr<util::AtomicFile> file_;
  std::string header_bytes_;
  keys::Sha256 records_digest_;
  uint64_t count_ = 0;
};

// Appends the varint length prefix and `record` to `out`.
void AppendLengthDelimited(absl::string_view record, std::string* out);

// Reads and verifies an extract. Open() checks the magic, version, header
// and trailer; Next() streams records; after the last record the records
// digest is checked. Any corruption is DATA_LOSS naming the file.
class ExtractReader {
 public:
  static absl::StatusOr<std::unique_ptr<ExtractReader>> Open(
      const std::string& path);
  ~ExtractReader();
  ExtractReader(const ExtractReader&) = delete;
  ExtractReader& operator=(const ExtractReader&) = delete;

  const cohortlink::v1::ExtractHeader& header() const { return header_; }
  uint64_t record_count() const { return count_; }
  const std::string& content_digest() const { return records_digest_; }
  // Bytes of the records section (for progress reporting).
  uint64_t records_bytes() const { return records_end_ - records_begin_; }
  uint64_t position() const { return pos_ - records_begin_; }

  // Reads the next record (its serialised bytes into `bytes`). Returns false
  // after the last record, once the digest has been verified.
  absl::StatusOr<bool> Next(std::string* bytes);

 private:
  ExtractReader() = default;
  absl::Status Corrupt(absl::string_view what) const;
  std::string path_;
  std::FILE* file_ = nullptr;
  cohortlink::v1::ExtractHeader header_;
  uint64_t count_ = 0, read_ = 0;
  uint64_t records_begin_ = 0, records_end_ = 0, pos_ = 0;
  std::string records_digest_;
  keys::Sha256 running_;
};

}  // namespace cohortlink::encoding

#endif  // COHORTLINK_LINKAGE_ENCODING_EXTRACT_FILE_H_
