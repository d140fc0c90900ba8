#ifndef COHORTLINK_LINKAGE_ENCODING_TOKENS_H_
#define COHORTLINK_LINKAGE_ENCODING_TOKENS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace cohortlink::encoding {

// n-grams over Unicode code points, as clkhash's NgramComparison makes them:
// for n > 1 the value is padded with n-1 spaces on each side; an empty value
// gives no tokens; a positional token is "<i+1> <gram>". `padded` = false
// skips the padding (native schemas only). Input must be valid UTF-8.
void NGrams(absl::string_view value, int n, bool positional, bool padded,
            std::vector<std::string>* out);

}  // namespace cohortlink::encoding

#endif  // COHORTLINK_LINKAGE_ENCODING_TOKENS_H_
