#include "linkage/encoding/normalise.h"

#include <unicode/translit.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <cctype>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "linkage/encoding/unicode.h"

namespace cohortlink::encoding {
namespace {

constexpr const char* kFoldRules =
    "NFKD; [:Nonspacing Mark:] Remove; Any-Latin; Latin-ASCII; Lower; NFC";

std::unique_ptr<icu::Transliterator> NewFolder() {
  UErrorCode err = U_ZERO_ERROR;
  std::unique_ptr<icu::Transliterator> t(icu::Transliterator::createInstance(
      icu::UnicodeString(kFoldRules), UTRANS_FORWARD, err));
  if (U_FAILURE(err)) return nullptr;
  return t;
}

std::string AsciiFold(absl::string_view s) { return absl::AsciiStrToLower(s); }

std::string FoldWith(icu::Transliterator* t, absl::string_view s) {
  if (IsAscii(s)) return AsciiFold(s);
  icu::UnicodeString u = icu::UnicodeString::fromUTF8(
      icu::StringPiece(s.data(), static_cast<int32_t>(s.size())));
  t->transliterate(u);
  std::string out;
  u.toUTF8String(out);
  // Anything the transliterator could not map to ASCII is dropped, so two
  // agencies' spellings meet on the same alphabet.
  std::string ascii;
  for (char c : out) {
    if (static_cast<unsigned char>(c) < 0x80) ascii.push_back(c);
  }
  return ascii;
}

bool IsSpaceChar(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

template <typename Keep>
std::string Filter(absl::string_view s, Keep keep) {
  std::string out;
  std::vector<char32_t> cps;
  if (!DecodeUtf8(s, &cps)) return std::string(s);
  for (char32_t cp : cps) {
    char32_t mapped = keep(cp);
    if (mapped != 0) AppendUtf8(mapped, &out);
  }
  return out;
}

const absl::flat_hash_set<std::string>& Titles() {
  static const auto* s = new absl::flat_hash_set<std::string>{
      "mr",   "mrs", "miss", "ms",   "mx",   "dr", "prof", "rev",
      "revd", "sir", "dame", "lady", "lord", "fr", "sr.",  "master"};
  return *s;
}
const absl::flat_hash_set<std::string>& Suffixes() {
  static const auto* s = new absl::flat_hash_set<std::string>{
      "jr",  "jnr", "junior", "sr",  "snr", "senior", "ii",
      "iii", "iv",  "esq",    "phd", "obe", "mbe",    "cbe"};
  return *s;
}
const absl::flat_hash_set<std::string>& Particles() {
  static const auto* s = new absl::flat_hash_set<std::string>{
      "van", "von", "der", "den", "de",  "del", "della", "di",  "da",
      "du",  "la",  "le",  "mac", "mc",  "o",   "st",    "bin", "ibn",
      "al",  "el",  "ap",  "ter", "ten", "dos", "das"};
  return *s;
}

}  // namespace

absl::StatusOr<NormaliseStep> ParseNormaliseStep(absl::string_view name) {
  static const std::pair<const char*, NormaliseStep> kSteps[] = {
      {"trim", NormaliseStep::kTrim},
      {"fold", NormaliseStep::kFold},
      {"lower", NormaliseStep::kLower},
      {"upper", NormaliseStep::kUpper},
      {"collapse_space", NormaliseStep::kCollapseSpace},
      {"remove_space", NormaliseStep::kRemoveSpace},
      {"letters", NormaliseStep::kLetters},
      {"alnum", NormaliseStep::kAlnum},
      {"digits", NormaliseStep::kDigits},
      {"name", NormaliseStep::kName},
      {"postcode_uk", NormaliseStep::kPostcodeUk},
      {"sex", NormaliseStep::kSex},
      {"first_word", NormaliseStep::kFirstWord},
  };
  std::vector<std::string> names;
  for (const auto& [n, step] : kSteps) {
    if (name == n) return step;
    names.push_back(n);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown normaliser '", name,
                   "' (known: ", absl::StrJoin(names, ", "), ")"));
}

std::string FoldText(absl::string_view utf8) {
  auto t = NewFolder();
  return FoldWith(t.get(), utf8);
}

std::string CollapseSpace(absl::string_view s) {
  std::string out;
  bool pending = false;
  for (char c : s) {
    if (IsSpaceChar(c)) {
      pending = !out.empty();
      continue;
    }
    if (pending) out.push_back(' ');
    pending = false;
    out.push_back(c);
  }
  return out;
}

std::string NameParticles(absl::string_view s) {
  std::vector<std::string> words =
      absl::StrSplit(CollapseSpace(s), ' ', absl::SkipEmpty());
  while (words.size() > 1 && Titles().contains(words.front())) {
    words.erase(words.begin());
  }
  while (words.size() > 1 && Suffixes().contains(words.back())) {
    words.pop_back();
  }
  std::vector<std::string> out;
  std::string carry;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i + 1 < words.size() && Particles().contains(words[i])) {
      carry += words[i];
      continue;
    }
    out.push_back(carry + words[i]);
    carry.clear();
  }
  return absl::StrJoin(out, " ");
}

std::string NormalisePostcodeUk(absl::string_view s) {
  std::string compact;
  for (char c : s) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c))) {
      compact.push_back(absl::ascii_toupper(static_cast<unsigned char>(c)));
    }
  }
  // Inward code: digit + two letters; outward code: 2-4 characters starting
  // with a letter (A9, A99, AA9, AA99, A9A, AA9A).
  if (compact.size() < 5 || compact.size() > 7) return compact;
  absl::string_view in = absl::string_view(compact).substr(compact.size() - 3);
  absl::string_view out =
      absl::string_view(compact).substr(0, compact.size() - 3);
  bool in_ok = absl::ascii_isdigit(in[0]) && absl::ascii_isalpha(in[1]) &&
               absl::ascii_isalpha(in[2]);
  // Outward code shapes: A9, A99, AA9, AA99, A9A, AA9A.
  auto l = [&](size_t i) { return absl::ascii_isalpha(out[i]) != 0; };
  auto d = [&](size_t i) { return absl::ascii_isdigit(out[i]) != 0; };
  bool out_ok = false;
  if (out.size() == 2) out_ok = l(0) && d(1);
  if (out.size() == 3)
    out_ok = l(0) && ((d(1) && d(2)) || (l(1) && d(2)) || (d(1) && l(2)));
  if (out.size() == 4) out_ok = l(0) && l(1) && d(2) && (d(3) || l(3));
  if (!in_ok || !out_ok) return compact;
  return absl::StrCat(out, " ", in);
}

std::string NormaliseSex(absl::string_view s) {
  std::string v = absl::AsciiStrToLower(absl::StripAsciiWhitespace(s));
  if (v == "m" || v == "male" || v == "man" || v == "1") return "m";
  if (v == "f" || v == "female" || v == "woman" || v == "2") return "f";
  if (v == "x" || v == "other" || v == "indeterminate" || v == "9") return "x";
  return "";
}

struct Normaliser::Impl {
  std::vector<NormaliseStep> steps;
  std::unique_ptr<icu::Transliterator> folder;
};

Normaliser::Normaliser(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Normaliser::~Normaliser() = default;

absl::StatusOr<std::unique_ptr<Normaliser>> Normaliser::Create(
    std::vector<NormaliseStep> steps) {
  auto impl = std::make_unique<Impl>();
  impl->steps = std::move(steps);
  for (NormaliseStep s : impl->steps) {
    if (s == NormaliseStep::kFold && !impl->folder) {
      impl->folder = NewFolder();
      if (!impl->folder) {
        return absl::InternalError("ICU transliterator could not be created");
      }
    }
  }
  return std::unique_ptr<Normaliser>(new Normaliser(std::move(impl)));
}

absl::StatusOr<std::unique_ptr<Normaliser>> Normaliser::Clone() const {
  return Create(impl_->steps);
}

std::string Normaliser::Apply(absl::string_view input) {
  std::string v(input);
  for (NormaliseStep step : impl_->steps) {
    switch (step) {
      case NormaliseStep::kTrim:
        v = std::string(absl::StripAsciiWhitespace(v));
        break;
      case NormaliseStep::kFold:
        v = FoldWith(impl_->folder.get(), v);
        break;
      case NormaliseStep::kLower:
        v = ToLower(v);
        break;
      case NormaliseStep::kUpper:
        v = ToUpper(v);
        break;
      case NormaliseStep::kCollapseSpace:
        v = CollapseSpace(v);
        break;
      case NormaliseStep::kRemoveSpace:
        v.erase(std::remove_if(v.begin(), v.end(), IsSpaceChar), v.end());
        break;
      case NormaliseStep::kLetters:
        v = CollapseSpace(Filter(v, [](char32_t c) -> char32_t {
          if (c == '-' || c == '_' || u_isspace(c)) return ' ';
          return u_isalpha(c) ? c : 0;
        }));
        break;
      case NormaliseStep::kAlnum:
        v = CollapseSpace(Filter(v, [](char32_t c) -> char32_t {
          if (c == '-' || c == '_' || u_isspace(c)) return ' ';
          return u_isalnum(c) ? c : 0;
        }));
        break;
      case NormaliseStep::kDigits:
        v = Filter(v, [](char32_t c) -> char32_t {
          return c >= '0' && c <= '9' ? c : 0;
        });
        break;
      case NormaliseStep::kName:
        v = NameParticles(v);
        break;
      case NormaliseStep::kPostcodeUk:
        v = NormalisePostcodeUk(v);
        break;
      case NormaliseStep::kSex:
        v = NormaliseSex(v);
        break;
      case NormaliseStep::kFirstWord: {
        std::string c = CollapseSpace(v);
        v = c.substr(0, c.find(' '));
        break;
      }
    }
  }
  return v;
}

}  // namespace cohortlink::encoding
