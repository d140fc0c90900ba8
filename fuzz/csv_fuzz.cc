// libFuzzer target: the CSV reader must never crash, hang or loop on any
// input, and every row it accepts must be well formed.

#include <cstddef>
#include <cstdint>
#include <string>

#include "linkage/encoding/csv_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  cohortlink::encoding::CsvOptions opts;
  opts.delimiter = (data[0] & 1) ? ';' : ',';
  opts.skip_initial_space = (data[0] & 2) != 0;
  std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  auto reader =
      cohortlink::encoding::CsvReader::FromString(text, "fuzz.csv", opts);
  cohortlink::encoding::CsvRow row;
  uint64_t last_line = 0;
  for (size_t rows = 0; rows <= size; ++rows) {
    auto more = reader->Next(&row);
    if (!more.ok() || !*more) return 0;
    if (row.fields.empty() || row.line < last_line) __builtin_trap();
    last_line = row.line;
  }
  __builtin_trap();  // more rows than bytes: the reader failed to advance
}
