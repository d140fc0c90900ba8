// libFuzzer target: the .clx extract reader (what `cohortlink upload` reads
// and sends). Any file must be refused with DATA_LOSS or read to its end,
// never crash or loop; every record it yields must parse.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

#include "cohortlink/v1/extract.pb.h"
#include "linkage/encoding/extract_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path =
      "/tmp/clx_fuzz_" + std::to_string(::getpid()) + ".clx";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data),
              static_cast<std::streamsize>(size));
  }
  auto reader = cohortlink::encoding::ExtractReader::Open(path);
  if (!reader.ok()) return 0;
  std::string bytes;
  for (uint64_t n = 0;; ++n) {
    auto more = (*reader)->Next(&bytes);
    if (!more.ok() || !*more) break;
    if (n > size) __builtin_trap();  // more records than bytes
    cohortlink::v1::EncodedRecord r;
    if (!r.ParseFromString(bytes)) break;
  }
  return 0;
}
