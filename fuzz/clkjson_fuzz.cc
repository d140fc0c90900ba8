// libFuzzer target: the clkhash JSON CLK parser (what `cohortlink upload
// --input-format clkhash-json` reads). Any document must be refused with
// INVALID_ARGUMENT or yield CLKs of exactly the size asked for, never
// crash or loop. The first byte picks the CLK size (1-64 bytes).

#include <cstddef>
#include <cstdint>
#include <string>

#include "linkage/encoding/clk_import.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t clk_bytes = 1 + data[0] % 64;
  absl::string_view doc(reinterpret_cast<const char*>(data) + 1, size - 1);
  uint64_t n = 0;
  absl::Status s = cohortlink::encoding::ParseClkhashJson(
      doc, clk_bytes, [&](std::string_view clk) {
        if (clk.size() != clk_bytes) __builtin_trap();
        if (++n > size) __builtin_trap();  // more CLKs than bytes
        return absl::OkStatus();
      });
  if (!s.ok() && s.code() != absl::StatusCode::kInvalidArgument)
    __builtin_trap();
  return 0;
}
