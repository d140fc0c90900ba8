#ifndef COHORTLINK_UTIL_TEXT_H_
#define COHORTLINK_UTIL_TEXT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace cohortlink::util {

// Lower-case hexadecimal of `bytes`.
std::string HexEncode(absl::string_view bytes);
absl::StatusOr<std::string> HexDecode(absl::string_view hex);

// Standard padded base64 (RFC 4648 section 4), as clkhash writes CLKs.
std::string Base64Encode(absl::string_view bytes);
// Accepts standard padded base64; rejects anything else.
absl::StatusOr<std::string> Base64Decode(absl::string_view text);
// URL-safe base64 without padding (RFC 4648 section 5), for secrets.
std::string Base64UrlEncode(absl::string_view bytes);

// RFC 3339 time in UTC with a "Z" suffix: "2025-06-15T15:06:40Z", or with
// milliseconds ("2025-06-15T15:06:40.123Z") when `millis` is set.
std::string FormatUtc(absl::Time t, bool millis = false);

// `text` made safe to print on a terminal: control characters (C0, DEL,
// C1), Unicode bidirectional controls (U+061C, U+200E-F, U+202A-E,
// U+2066-9) and bytes that are not UTF-8 are escaped as \xNN or \u{XXXX};
// a backslash becomes "\\". Everything else passes unchanged.
std::string Printable(absl::string_view text);

// Little-endian fixed-width integers.
void PutFixed32(std::string* out, uint32_t v);
void PutFixed64(std::string* out, uint64_t v);
uint32_t DecodeFixed32(const char* p);
uint64_t DecodeFixed64(const char* p);

}  // namespace cohortlink::util

#endif  // COHORTLINK_UTIL_TEXT_H_
