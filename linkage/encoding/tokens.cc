#include "linkage/encoding/tokens.h"

#include "absl/strings/str_cat.h"
#include "linkage/encoding/unicode.h"

namespace cohortlink::encoding {

void NGrams(absl::string_view value, int n, bool positional, bool padded,
            std::vector<std::string>* out) {
  out->clear();
  if (value.empty()) return;
  std::vector<char32_t> cps;
  if (!DecodeUtf8(value, &cps)) return;
  if (n > 1 && padded) {
    cps.insert(cps.begin(), n - 1, U' ');
    cps.insert(cps.end(), n - 1, U' ');
  }
  if (n < 1 || cps.size() < static_cast<size_t>(n)) return;
  size_t count = cps.size() - n + 1;
  out->reserve(count);
  for (size_t i = 0; i < count; ++i) {
    std::string tok = positional ? absl::StrCat(i + 1, " ") : std::string();
    for (int j = 0; j < n; ++j) AppendUtf8(cps[i + j], &tok);
    out->push_back(std::move(tok));
  }
}

}  // namespace cohortlink::encoding
