#ifndef COHORTLINK_LINKAGE_ENCODING_UNICODE_H_
#define COHORTLINK_LINKAGE_ENCODING_UNICODE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cohortlink::encoding {

// Decodes UTF-8 into code points. Returns false on malformed input
// (overlong forms, surrogates and truncated sequences included).
bool DecodeUtf8(absl::string_view s, std::vector<char32_t>* out);
bool IsValidUtf8(absl::string_view s);
void AppendUtf8(char32_t cp, std::string* out);
bool IsAscii(absl::string_view s);

// Unicode default (root-locale, full) case mapping, as Python's str.upper()
// and str.lower() do: "ß".upper() == "SS". Input must be valid UTF-8.
std::string ToUpper(absl::string_view s);
std::string ToLower(absl::string_view s);

// How clkhash turns a token into bytes before hashing; these match Python's
// str.encode(), including the byte-order mark "utf-16" and "utf-32" emit.
enum class TextEncoding { kAscii, kUtf8, kUtf16, kUtf32 };
absl::StatusOr<TextEncoding> ParseTextEncoding(absl::string_view name);
// Fails (INVALID_ARGUMENT) when the text cannot be represented (non-ASCII
// text under kAscii).
absl::StatusOr<std::string> EncodeText(absl::string_view utf8,
                                       TextEncoding enc);

}  // namespace cohortlink::encoding

#endif  // COHORTLINK_LINKAGE_ENCODING_UNICODE_H_
