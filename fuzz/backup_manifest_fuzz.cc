// libFuzzer target: a backup's manifest (backup.json), which a restore
// reads before anything else. Anything but a well-formed manifest of this
// format with safe paths is refused; one it accepts lists only paths that
// stay inside the backup, and signs the same bytes after a round trip.

#include <cstddef>
#include <cstdint>
#include <string>

#include "google/protobuf/util/json_util.h"
#include "linkage/store/backup_manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto m = cohortlink::store::ParseManifest(text, "fuzz.json");
  if (!m.ok()) return 0;
  for (const auto& f : m->files()) {
    // Inside the backup: relative, and no component climbs out of it
    // ("..name" is a file name like any other).
    const std::string& path = f.path();
    if (!cohortlink::store::CheckBackupPath(path).ok() || path.empty() ||
        path.front() == '/')
      __builtin_trap();
    for (size_t start = 0; start <= path.size();) {
      size_t end = path.find('/', start);
      if (end == std::string::npos) end = path.size();
      const std::string part = path.substr(start, end - start);
      if (part.empty() || part == "." || part == "..") __builtin_trap();
      start = end + 1;
    }
  }
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(*m, &json).ok()) return 0;
  auto again = cohortlink::store::ParseManifest(json, "again");
  if (!again.ok() || cohortlink::store::ManifestSignedBytes(*again) !=
                         cohortlink::store::ManifestSignedBytes(*m))
    __builtin_trap();
  return 0;
}
