#include "linkage/synth/corrupt.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "linkage/encoding/json.h"
#include "util/status_macros.h"

namespace cohortlink::synth {
bool Chance(double p, Rng& rng) {
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng) < p;
}

namespace {

int Uniform(int lo, int hi, Rng& rng) {
  return std::uniform_int_distribution<int>(lo, hi)(rng);
}

char RandomLetter(bool upper, Rng& rng) {
  char c = static_cast<char>('a' + Uniform(0, 25, rng));
  return upper ? absl::ascii_toupper(c) : c;
}

}  // namespace

CorruptionRates CorruptionRates::Scaled(double f) const {
  CorruptionRates r = *this;
  for (double* p : {&r.typo, &r.ocr, &r.nickname, &r.variant, &r.name_swap,
                    &r.marriage, &r.dob_day_month, &r.dob_year, &r.dob_day,
                    &r.missing_given, &r.missing_surname, &r.missing_dob,
                    &r.missing_postcode, &r.moved, &r.duplicate}) {
    *p = std::clamp(*p * f, 0.0, 1.0);
  }
  return r;
}

absl::StatusOr<CorruptionRates> CorruptionRates::FromJson(
    absl::string_view json, absl::string_view source) {
  ASSIGN_OR_RETURN(google::protobuf::Value doc,
                   encoding::ParseJson(json, source));
  ASSIGN_OR_RETURN(encoding::JsonObject obj, encoding::JsonObject::Of(doc, ""));
  CorruptionRates r;
  const std::pair<const char*, double*> fields[] = {
      {"typo", &r.typo},
      {"ocr", &r.ocr},
      {"nickname", &r.nickname},
      {"variant", &r.variant},
      {"name_swap", &r.name_swap},
      {"marriage", &r.marriage},
      {"dob_day_month", &r.dob_day_month},
      {"dob_year", &r.dob_year},
      {"dob_day", &r.dob_day},
      {"missing_given", &r.missing_given},
      {"missing_surname", &r.missing_surname},
      {"missing_dob", &r.missing_dob},
      {"missing_postcode", &r.missing_postcode},
      {"moved", &r.moved},
      {"duplicate", &r.duplicate}};
  std::vector<absl::string_view> names;
  for (const auto& [name, unused] : fields) names.push_back(name);
  if (auto s = obj.AllowOnly(names); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", s.message()));
  }
  for (const auto& [name, dest] : fields) {
    ASSIGN_OR_RETURN(*dest, obj.GetNumber(name, *dest));
    if (*dest < 0 || *dest > 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": ", name, ": a rate must be between 0 and 1"));
    }
  }
  return r;
}

std::string Typo(const std::string& s, Rng& rng) {
  if (s.empty()) return s;
  std::string out = s;
  int n = static_cast<int>(out.size());
  int pos = Uniform(0, n - 1, rng);
  bool upper = absl::ascii_isupper(static_cast<unsigned char>(out[pos]));
  switch (Uniform(0, 3, rng)) {
    case 0:  // insert
      out.insert(out.begin() + pos, RandomLetter(upper, rng));
      break;
    case 1:  // delete
      if (n > 2) out.erase(out.begin() + pos);
      break;
    case 2:  // substitute
      out[pos] = RandomLetter(upper, rng);
      break;
    default:  // transpose
      if (n > 1) {
        int p = std::min(pos, n - 2);
        std::swap(out[p], out[p + 1]);
      }
  }
  return out;
}

std::string OcrConfuse(const std::string& s, Rng& rng) {
  static const std::pair<const char*, const char*> kConfusions[] = {
      {"O", "0"}, {"o", "0"}, {"0", "O"},  {"I", "1"}, {"l", "1"},  {"1", "l"},
      {"S", "5"}, {"5", "S"}, {"B", "8"},  {"8", "B"}, {"rn", "m"}, {"m", "rn"},
      {"Z", "2"}, {"G", "6"}, {"cl", "d"}, {"e", "c"}};
  std::vector<std::pair<size_t, int>> options;
  for (int k = 0; k < static_cast<int>(std::size(kConfusions)); ++k) {
    for (size_t p = s.find(kConfusions[k].first); p != std::string::npos;
         p = s.find(kConfusions[k].first, p + 1)) {
      options.push_back({p, k});
    }
  }
  if (options.empty()) return s;
  auto [pos, k] =
      options[Uniform(0, static_cast<int>(options.size()) - 1, rng)];
  std::string out = s;
  out.replace(pos, std::char_traits<char>::length(kConfusions[k].first),
              kConfusions[k].second);
  return out;
}

Identity Corrupt(const Identity& t, int age, const CorruptionRates& r,
                 const NameTables& names, const Region& region, Rng& rng) {
  Identity id = t;
  if (id.female && age >= 18 && Chance(r.marriage, rng))
    id.surname = names.Surname(rng);
  if (Chance(r.nickname, rng)) {
    std::string nick = names.Nickname(id.given, rng);
    if (!nick.empty()) id.given = nick;
  }
  for (std::string* name : {&id.given, &id.surname}) {
    if (Chance(r.variant, rng)) {
      std::string v = names.Variant(*name, rng);
      if (!v.empty()) *name = v;
    }
    if (Chance(r.typo, rng)) *name = Typo(*name, rng);
    if (Chance(r.ocr, rng)) *name = OcrConfuse(*name, rng);
  }
  if (Chance(r.name_swap, rng)) std::swap(id.given, id.surname);
  if (Chance(r.dob_day_month, rng) && id.dob.day <= 12)
    std::swap(id.dob.day, id.dob.month);
  if (Chance(r.dob_year, rng)) id.dob.year += Chance(0.5, rng) ? 1 : -1;
  if (Chance(r.dob_day, rng)) {
    id.dob.day = std::clamp(id.dob.day + Uniform(-3, 3, rng), 1, 28);
  }
  if (!encoding::IsValidDate(id.dob.year, id.dob.month, id.dob.day))
    id.dob = t.dob;
  if (Chance(r.moved, rng)) {
    size_t la = RandomAuthority(region, rng);
    id.postcode = RandomPostcode(region.authorities[la], rng);
    id.area = region.authorities[la].code;
  }
  if (Chance(r.missing_given, rng)) id.given.clear();
  if (Chance(r.missing_surname, rng)) id.surname.clear();
  if (Chance(r.missing_dob, rng)) id.dob_missing = true;
  if (Chance(r.missing_postcode, rng)) id.postcode.clear();
  return id;
}

}  // namespace cohortlink::synth
