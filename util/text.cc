#include "util/text.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace cohortlink::util {

std::string HexEncode(absl::string_view bytes) {
  return absl::BytesToHexString(bytes);
}

absl::StatusOr<std::string> HexDecode(absl::string_view hex) {
  if (hex.size() % 2 != 0) {
    return absl::InvalidArgumentError("hex string has odd length");
  }
  for (char c : hex) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid hex character '", std::string(1, c), "'"));
    }
  }
  return absl::HexStringToBytes(hex);
}

std::string Base64Encode(absl::string_view bytes) {
  return absl::Base64Escape(bytes);
}

absl::StatusOr<std::string> Base64Decode(absl::string_view text) {
  std::string out;
  if (text.size() % 4 != 0 || !absl::Base64Unescape(text, &out)) {
    return absl::InvalidArgumentError("invalid base64");
  }
  return out;
}

std::string Base64UrlEncode(absl::string_view bytes) {
  return absl::WebSafeBase64Escape(bytes);
}

std::string FormatUtc(absl::Time t, bool millis) {
  return absl::FormatTime(
      millis ? "%Y-%m-%d%ET%H:%M:%E3SZ" : "%Y-%m-%d%ET%H:%M:%SZ", t,
      absl::UTCTimeZone());
}

void PutFixed32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

void PutFixed64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

uint32_t DecodeFixed32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

uint64_t DecodeFixed64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

}  // namespace cohortlink::util
