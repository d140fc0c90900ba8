#include "linkage/encoding/encode_pipeline.h"

#include <chrono>
#include <deque>
#include <future>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "linkage/encoding/extract_file.h"
#include "linkage/encoding/record_key_index.h"
#include "util/atomic_file.h"
#include "util/status_macros.h"
#include "util/text.h"

namespace cohortlink::encoding {
namespace {

struct Batch {
  std::vector<CsvRow> rows;
  uint64_t first_index = 0;
};

struct BatchResult {
  absl::Status status;
  std::string data;  // framed records, or JSON array items
  uint64_t records = 0;
  std::vector<std::string> record_keys;  // native with a key column
  std::vector<std::string> local_ids;
  std::vector<uint64_t> lines;
};

BatchResult EncodeBatch(RecordEncoder* enc, const Batch& batch,
                        OutputFormat format, const std::string& csv_name,
                        bool keep_keys) {
  BatchResult r;
  cohortlink::v1::EncodedRecord rec;
  std::string bytes;
  for (size_t i = 0; i < batch.rows.size(); ++i) {
    const CsvRow& row = batch.rows[i];
    absl::Status s = enc->Encode(row, batch.first_index + i, &rec);
    if (!s.ok()) {
      r.status = absl::Status(
          s.code(), absl::StrCat(csv_name, ":", row.line, ": ", s.message()));
      return r;
    }
    ++r.records;
    if (format == OutputFormat::kNative) {
      rec.SerializeToString(&bytes);
      AppendLengthDelimited(bytes, &r.data);
    } else {
      if (!r.data.empty() || batch.first_index > 0 || i > 0)
        r.data.append(",\n");
      absl::StrAppend(&r.data, "  \"", util::Base64Encode(rec.filters()), "\"");
    }
    if (keep_keys) {
      r.record_keys.push_back(rec.record_key());
      r.local_ids.push_back(enc->last_local_id());
      r.lines.push_back(row.line);
    }
  }
  return r;
}

}  // namespace

absl::StatusOr<EncodeResult> EncodeCsv(RecordEncoder& encoder,
                                       const std::string& csv_path,
                                       const std::string& out_path,
                                       const EncodeOptions& options) {
  ASSIGN_OR_RETURN(auto reader, CsvReader::Open(csv_path, options.csv));
  CsvRow row;
  std::vector<std::string> header;
  if (options.has_header) {
    ASSIGN_OR_RETURN(bool any, reader->Next(&row));
    if (!any) {
      return absl::InvalidArgumentError(
          absl::StrCat(csv_path, ": file is empty"));
    }
    header = row.fields;
  }
  if (auto s = encoder.BindHeader(header); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(csv_path, ":1: ", s.message()));
  }
  const bool native = options.format == OutputFormat::kNative;
  if (native && encoder.header().layout().total_bits() % 64 != 0) {
    return absl::InvalidArgumentError(
        "the native extract format needs filters that are a multiple of 64 "
        "bits; use --format clkhash-json for this schema");
  }
  EncodeResult result;
  result.header = encoder.header();
  result.header.set_encoder("cohortlink " COHORTLINK_VERSION);
  result.header.set_created_at(
      absl::FormatTime(absl::RFC3339_sec, absl::Now(), absl::UTCTimeZone()));

  std::unique_ptr<ExtractWriter> writer;
  std::unique_ptr<util::AtomicFile> json;
  if (native) {
    ASSIGN_OR_RETURN(writer, ExtractWriter::Create(out_path, result.header));
  } else {
    ASSIGN_OR_RETURN(json, util::AtomicFile::Create(out_path, 0644));
    RETURN_IF_ERROR(json->Write("{\"clks\": [\n"));
  }
  std::unique_ptr<util::AtomicFile> key_map;
  bool keep_keys = native && encoder.header().schema_kind() == "cohortlink/1";
  if (!options.key_map_path.empty()) {
    ASSIGN_OR_RETURN(key_map,
                     util::AtomicFile::Create(options.key_map_path, 0600));
    RETURN_IF_ERROR(key_map->Write("local_id,record_key\n"));
    keep_keys = true;
  }

  const int threads = std::max(1, options.threads);
  std::vector<std::unique_ptr<RecordEncoder>> workers;
  for (int t = 0; t < threads; ++t) {
    ASSIGN_OR_RETURN(auto w, encoder.Clone());
    workers.push_back(std::move(w));
  }
  std::deque<std::future<BatchResult>> inflight;
  // Record key -> first line, for duplicate detection. Only keys from a
  // record key column can repeat; row-number keys are unique by
  // construction.
  RecordKeyIndex seen_keys;
  uint64_t next_index = 0, batches = 0;

  auto drain_one = [&]() -> absl::Status {
    BatchResult r = inflight.front().get();
    inflight.pop_front();
    RETURN_IF_ERROR(r.status);
    if (native) {
      // The worker framed the records already; write them as they are.
      RETURN_IF_ERROR(writer->AppendFramed(r.data, r.records));
    } else {
      RETURN_IF_ERROR(json->Write(r.data));
    }
    for (size_t i = 0; i < r.record_keys.size(); ++i) {
      if (!r.local_ids[i].empty()) {
        if (auto first = seen_keys.Insert(r.record_keys[i], r.lines[i])) {
          return absl::InvalidArgumentError(absl::StrCat(
              csv_path, ":", r.lines[i],
              ": duplicate record key: the same id as line ", *first));
        }
      }
      if (key_map) {
        RETURN_IF_ERROR(key_map->Write(absl::StrCat(
            r.local_ids[i].empty() ? r.record_keys[i] : r.local_ids[i], ",",
            r.record_keys[i], "\n")));
      }
    }
    if (options.progress) options.progress(next_index, 0);
    return absl::OkStatus();
  };

  for (;;) {
    if (options.cancel != nullptr && options.cancel->load()) {
      return absl::CancelledError("encoding interrupted; no output written");
    }
    auto batch = std::make_shared<Batch>();
    batch->first_index = next_index;
    while (batch->rows.size() < options.batch_rows) {
      ASSIGN_OR_RETURN(bool more, reader->Next(&row));
      if (!more) break;
      batch->rows.push_back(std::move(row));
    }
    if (batch->rows.empty()) break;
    next_index += batch->rows.size();
    if (inflight.size() >= static_cast<size_t>(threads))
      RETURN_IF_ERROR(drain_one());
    RecordEncoder* w = workers[batches++ % threads].get();
    OutputFormat format = options.format;
    std::string name = reader->name();
    inflight.push_back(
        std::async(std::launch::async, [w, batch, format, name, keep_keys]() {
          return EncodeBatch(w, *batch, format, name, keep_keys);
        }));
    if (options.progress) options.progress(next_index, reader->bytes_read());
  }
  while (!inflight.empty()) RETURN_IF_ERROR(drain_one());

  result.records = next_index;
  if (native) {
    ASSIGN_OR_RETURN(result.content_digest, writer->Finish());
  } else {
    RETURN_IF_ERROR(json->Write("\n]}\n"));
    RETURN_IF_ERROR(json->Commit());
  }
  if (key_map) RETURN_IF_ERROR(key_map->Commit());
  return result;
}

}  // namespace cohortlink::encoding
