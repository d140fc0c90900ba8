#ifndef COHORTLINK_LINKAGE_ENCODING_NORMALISE_H_
#define COHORTLINK_LINKAGE_ENCODING_NORMALISE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cohortlink::encoding {

// The normaliser steps a native schema can chain (docs/schema.md):
//   trim            strip leading and trailing whitespace
//   fold            Unicode compatibility decomposition, diacritics removed,
//                   other scripts transliterated to Latin, then to ASCII
//                   ("Zoë Ø'Brien" -> "zoe o'brien"), lower case
//   lower, upper    case mapping only
//   collapse_space  runs of whitespace become one space; trimmed
//   remove_space    all whitespace removed
//   letters         only letters and spaces kept ('-' and '_' become spaces)
//   alnum           only letters, digits and spaces kept
//   digits          only digits kept
//   name            drops titles (mr, mrs, dr, ...) and generational
//                   suffixes (jr, snr, iii, ...), and joins particles to the
//                   following word ("van der berg" -> "vanderberg",
//                   "o brien" -> "obrien"); expects lower-case words
//   postcode_uk     UK postcode in canonical form "BS1 4DJ"; a value that is
//                   not a postcode is kept upper-case without spaces
//   sex             m/male/man/1 -> "m", f/female/woman/2 -> "f",
//                   x/other/indeterminate/9 -> "x", anything else -> missing
//   first_word      keeps the first word only
enum class NormaliseStep {
  kTrim,
  kFold,
  kLower,
  kUpper,
  kCollapseSpace,
  kRemoveSpace,
  kLetters,
  kAlnum,
  kDigits,
  kName,
  kPostcodeUk,
  kSex,
  kFirstWord
};

absl::StatusOr<NormaliseStep> ParseNormaliseStep(absl::string_view name);

// Applies a chain of steps. Holds an ICU transliterator, so one instance per
// thread (Clone()).
class Normaliser {
 public:
  static absl::StatusOr<std::unique_ptr<Normaliser>> Create(
      std::vector<NormaliseStep> steps);
  ~Normaliser();
  Normaliser(const Normaliser&) = delete;
  Normaliser& operator=(const Normaliser&) = delete;

  // `input` must be valid UTF-8. The result may be empty (= missing).
  std::string Apply(absl::string_view input);
  absl::StatusOr<std::unique_ptr<Normaliser>> Clone() const;

 private:
  struct Impl;
  explicit Normaliser(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Individual steps, exposed for tests and for other components.
std::string FoldText(
    absl::string_view utf8);  // creates a transliterator per call
std::string CollapseSpace(absl::string_view s);
std::string NameParticles(absl::string_view s);
std::string NormalisePostcodeUk(absl::string_view s);
std::string NormaliseSex(absl::string_view s);

}  // namespace cohortlink::encoding

#endif  // COHORTLINK_LINKAGE_ENCODING_NORMALISE_H_
