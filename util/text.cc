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

namespace {

// The length of the UTF-8 sequence at `p` and its code point, or 0 when
// the bytes there are not well-formed UTF-8 (RFC 3629).
size_t DecodeUtf8(absl::string_view s, size_t p, uint32_t* cp) {
  const auto b = [&](size_t i) { return static_cast<uint8_t>(s[p + i]); };
  const uint8_t c = b(0);
  size_t n = c < 0x80         ? 1
             : (c >> 5) == 6  ? 2
             : (c >> 4) == 14 ? 3
             : (c >> 3) == 30 ? 4
                              : 0;
  if (n == 0 || p + n > s.size()) return 0;
  uint32_t v = n == 1 ? c : c & (0x7F >> n);
  for (size_t i = 1; i < n; ++i) {
    if ((b(i) & 0xC0) != 0x80) return 0;
    v = (v << 6) | (b(i) & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (v < kMin[n] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  *cp = v;
  return n;
}

bool Unsafe(uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x061C ||
         cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

}  // namespace

std::string Printable(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t p = 0; p < text.size();) {
    uint32_t cp = 0;
    size_t n = DecodeUtf8(text, p, &cp);
    if (n == 0) {
      absl::StrAppend(
          &out, "\\x",
          absl::Hex(static_cast<uint8_t>(text[p]), absl::kZeroPad2));
      ++p;
      continue;
    }
    if (cp == '\\') {
      out += "\\\\";
    } else if (Unsafe(cp)) {
      if (cp < 0x100) {
        absl::StrAppend(&out, "\\x", absl::Hex(cp, absl::kZeroPad2));
      } else {
        absl::StrAppend(&out, "\\u{", absl::Hex(cp, absl::kZeroPad4), "}");
      }
    } else {
      out.append(text.data() + p, n);
    }
    p += n;
  }
  return out;
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
