// libFuzzer target: schema parsing (native and clkhash) must never crash on
// any input; a schema it accepts must build an encoder that can encode a
// row of arbitrary text without crashing.

#include <cstddef>
#include <cstdint>
#include <string>

#include "linkage/encoding/clkhash_schema.h"
#include "linkage/encoding/json.h"
#include "linkage/encoding/native_schema.h"
#include "linkage/encoding/record_encoder.h"

using namespace cohortlink::encoding;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto doc = ParseJson(text, "fuzz.json");
  if (!doc.ok()) return 0;
  LoadedSchema loaded;
  if (IsNativeSchema(*doc)) {
    auto s = ParseNativeSchema(text, "fuzz.json");
    if (!s.ok()) return 0;
    loaded.schema = *std::move(s);
  } else if (IsClkhashSchema(*doc)) {
    auto s = ParseClkhashSchema(*doc);
    if (!s.ok()) return 0;
    loaded.schema = *std::move(s);
  } else {
    return 0;
  }
  EncoderOptions opts;
  opts.blip_seed = "fuzz";
  opts.check_header = false;
  auto enc = NewRecordEncoder(loaded, "fuzz secret", opts);
  if (!enc.ok()) return 0;
  // A header naming every column a native schema could ask for.
  std::vector<std::string> header;
  if (loaded.is_native()) {
    const auto& spec = std::get<NativeSchema>(loaded.schema).spec;
    for (const auto& id : spec.identifiers()) header.push_back(id.column());
    if (!spec.record_key().column().empty())
      header.push_back(spec.record_key().column());
    if (!spec.event().type().column().empty())
      header.push_back(spec.event().type().column());
    if (!spec.event().date_column().empty())
      header.push_back(spec.event().date_column());
    for (const auto& a : spec.attributes()) header.push_back(a.column());
  } else {
    for (const auto& f : std::get<ClkhashSchema>(loaded.schema).features) {
      header.push_back(f.identifier);
    }
  }
  if (!(*enc)->BindHeader(header).ok()) return 0;
  CsvRow row;
  row.line = 2;
  for (size_t i = 0; i < header.size(); ++i) {
    row.fields.push_back(text.substr(i % (size + 1), 12));
  }
  cohortlink::v1::EncodedRecord out;
  (void)(*enc)->Encode(row, 0, &out);
  return 0;
}
