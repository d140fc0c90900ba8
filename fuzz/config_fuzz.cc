// libFuzzer target: the server's config file. Anything it accepts must be
// within the limits the server relies on (docs/limits.md).

#include <cstddef>
#include <cstdint>
#include <string>

#include "linkage/cohort/query_spec.h"
#include "server/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto c = cohortlink::server::ParseConfig(text, "fuzz.json");
  if (!c.ok()) return 0;
  if (c->disclosure_threshold < 1 ||
      c->disclosure_threshold > cohortlink::cohort::kMaxThreshold ||
      c->disclosure_rounding < 1 ||
      c->disclosure_rounding > cohortlink::cohort::kMaxRounding ||
      c->max_records < 1 ||
      c->max_records >
          static_cast<uint64_t>(cohortlink::server::kMaxRecordsLimit) ||
      c->max_message_bytes < cohortlink::server::kMinMessageBytes ||
      c->max_message_bytes > cohortlink::server::kMaxMessageBytes)
    __builtin_trap();
  return 0;
}
