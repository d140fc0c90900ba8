#ifndef COHORTLINK_LINKAGE_ENCODING_PHONETIC_H_
#define COHORTLINK_LINKAGE_ENCODING_PHONETIC_H_

#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace cohortlink::encoding {

// Phonetic codes for blocking keys. Inputs are folded to ASCII letters
// first (non-letters are ignored); an input with no letters gives "".

// American Soundex (US National Archives rules: H and W do not separate
// letters with the same code; vowels do). Four characters, e.g. "R163".
std::string Soundex(absl::string_view name);

// NYSIIS (Taft 1970), truncated to six characters as in the original.
std::string Nysiis(absl::string_view name);

// Double Metaphone (Philips 2000): primary and alternate codes of up to
// four characters. The alternate equals the primary for most names.
std::pair<std::string, std::string> DoubleMetaphone(absl::string_view name);

}  // namespace cohortlink::encoding

#endif  // COHORTLINK_LINKAGE_ENCODING_PHONETIC_H_
