#include "linkage/encoding/unicode.h"

#include <unicode/locid.h>
#include <unicode/unistr.h>

#include "absl/strings/str_cat.h"

namespace cohortlink::encoding {

bool DecodeUtf8(absl::string_view s, std::vector<char32_t>* out) {
  out->clear();
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    char32_t cp;
    int extra;
    if (c < 0x80) {
      out->push_back(c);
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      cp = c & 0x1F;
      extra = 1;
    } else if ((c & 0xF0) == 0xE0) {
      cp = c & 0x0F;
      extra = 2;
    } else if ((c & 0xF8) == 0xF0) {
      cp = c & 0x07;
      extra = 3;
    } else {
      return false;
    }
    for (int k = 1; k <= extra; ++k) {
      if (i + k >= n) return false;
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Reject overlong encodings, surrogates and values above U+10FFFF.
    static constexpr char32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    out->push_back(cp);
    i += extra + 1;
  }
  return true;
}

bool IsValidUtf8(absl::string_view s) {
  std::vector<char32_t> tmp;
  return DecodeUtf8(s, &tmp);
}

bool IsAscii(absl::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

namespace {
std::string CaseMap(absl::string_view s, bool upper) {
  if (IsAscii(s)) {
    std::string out(s);
    for (char& c : out) {
      if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
      if (!upper && c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    }
    return out;
  }
  icu::UnicodeString u = icu::UnicodeString::fromUTF8(
      icu::StringPiece(s.data(), static_cast<int32_t>(s.size())));
  if (upper) {
    u.toUpper(icu::Locale::getRoot());
  } else {
    u.toLower(icu::Locale::getRoot());
  }
  std::string out;
  u.toUTF8String(out);
  return out;
}
}  // namespace

std::string ToUpper(absl::string_view s) { return CaseMap(s, true); }
std::string ToLower(absl::string_view s) { return CaseMap(s, false); }

absl::StatusOr<TextEncoding> ParseTextEncoding(absl::string_view name) {
  if (name == "ascii") return TextEncoding::kAscii;
  if (name == "utf-8") return TextEncoding::kUtf8;
  if (name == "utf-16") return TextEncoding::kUtf16;
  if (name == "utf-32") return TextEncoding::kUtf32;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown encoding '", name,
                   "' (expected ascii, utf-8, utf-16 or utf-32)"));
}

absl::StatusOr<std::string> EncodeText(absl::string_view utf8,
                                       TextEncoding enc) {
  switch (enc) {
    case TextEncoding::kUtf8:
      return std::string(utf8);
    case TextEncoding::kAscii:
      if (!IsAscii(utf8)) {
        return absl::InvalidArgumentError("value is not ASCII");
      }
      return std::string(utf8);
    case TextEncoding::kUtf16:
    case TextEncoding::kUtf32: {
      std::vector<char32_t> cps;
      if (!DecodeUtf8(utf8, &cps)) {
        return absl::InvalidArgumentError("value is not valid UTF-8");
      }
      std::string out;
      auto put16 = [&out](uint32_t v) {
        out.push_back(static_cast<char>(v & 0xFF));
        out.push_back(static_cast<char>(v >> 8));
      };
      if (enc == TextEncoding::kUtf16) {
        put16(0xFEFF);  // Python's "utf-16" codec writes a little-endian BOM.
        for (char32_t cp : cps) {
          if (cp >= 0x10000) {
            cp -= 0x10000;
            put16(0xD800 | (cp >> 10));
            put16(0xDC00 | (cp & 0x3FF));
          } else {
            put16(cp);
          }
        }
      } else {
        put16(0xFEFF);
        put16(0);
        for (char32_t cp : cps) {
          put16(cp & 0xFFFF);
          put16(cp >> 16);
        }
      }
      return out;
    }
  }
  return absl::InternalError("unhandled encoding");
}

}  // namespace cohortlink::encoding
