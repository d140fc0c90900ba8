#include "linkage/synth/synth.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "linkage/encoding/csv_writer.h"
#include "util/atomic_file.h"
#include "util/status_macros.h"

namespace cohortlink::synth {

using encoding::Date;
using encoding::DaysFromCivil;

namespace {

constexpr Date kWindowStart{2022, 1, 1};
constexpr Date kWindowEnd{2025, 12, 31};
constexpr Date kAgeReference{2024, 1, 1};

// SplitMix64 (Steele, Lea, Flood 2014): decorrelates (seed, index) pairs.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

class Life {
 public:
  Life(Person* p, const Region& region, const LifeCourseParams& params,
       Rng& rng)
      : p_(p), region_(region), params_(params), rng_(rng) {}

  void Run() {
    double years =
        (DaysFromCivil(kWindowEnd) - DaysFromCivil(kWindowStart)) / 365.25;
    std::poisson_distribution<int> n_arrests(params_.arrests_per_year *
                                             p_->propensity * years);
    int n = n_arrests(rng_);
    for (int i = 0; i < n; ++i) Arrest(RandomDay(Start(), End()), 0);
    if (Chance(0.25))
      Add(kHealth, "gp_registration", RandomDay(Start(), End()));
    if (p_->drug_misuse && Chance(0.3)) {
      Add(kHealth, "drug_treatment_start", RandomDay(Start(), End()));
    }
    if (Chance(0.08)) Accommodation(RandomDay(Start(), End()), "other", 0.7);
    if (p_->events.empty()) {
      // Everyone generated is known to some agency: a first contact once
      // they are old enough to have one.
      Date tenth = p_->identity.dob;
      tenth.year += 10;
      if (tenth.month == 2 && tenth.day == 29) tenth.day = 28;
      int64_t from = std::max(Start(), DaysFromCivil(tenth));
      if (from <= End()) Arrest(RandomDay(from, End()), 0);
      if (p_->events.empty())
        Add(kHealth, "gp_registration", RandomDay(Start(), End()));
    }
    std::sort(p_->events.begin(), p_->events.end(),
              [](const Event& a, const Event& b) {
                return DaysFromCivil(a.date) < DaysFromCivil(b.date);
              });
  }

 private:
  static int64_t Start() { return DaysFromCivil(kWindowStart); }
  static int64_t End() { return DaysFromCivil(kWindowEnd); }
  bool Chance(double p) {
    return std::uniform_real_distribution<double>(0, 1)(rng_) < p;
  }
  int64_t RandomDay(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  }
  int AgeOn(int64_t day) const {
    return encoding::AgeInYears(p_->identity.dob, encoding::CivilFromDays(day));
  }

  void Add(Agency a, const char* type, int64_t day,
           std::vector<std::pair<std::string, std::string>> attrs = {}) {
    if (day < Start() || day > End()) return;
    p_->events.push_back(
        Event{a, type, encoding::CivilFromDays(day), std::move(attrs)});
  }

  void Arrest(int64_t day, int depth) {
    if (AgeOn(day) < 10) return;
    if (AgeOn(day) < 18 && Chance(params_.child_ooc)) {
      Add(kPolice, "out_of_court_resolution", day);
      return;
    }
    Add(kPolice, "arrest", day);
    if (!Chance(params_.charge)) return;
    int64_t charged = day + RandomDay(0, 2);
    Add(kPolice, "charge", charged);
    if (AgeOn(charged) >= 18 && depth < 3 && Chance(params_.custody)) {
      Custody(charged, depth);
    } else if (AgeOn(charged) >= 18 && Chance(params_.community)) {
      Add(kProbation, "supervision_start", charged + RandomDay(20, 60));
    }
  }

  void Custody(int64_t charged, int depth) {
    int64_t reception = charged + RandomDay(14, 120);
    double u = std::uniform_real_distribution<double>(0, 1)(rng_);
    const char* band;
    int64_t served;
    if (u < 0.6) {
      band = "under-12m";
      served = RandomDay(14, 180);
    } else if (u < 0.9) {
      band = "12m-4y";
      served = RandomDay(180, 730);
    } else {
      band = "4y-plus";
      served = RandomDay(730, 2000);
    }
    const auto& prisons =
        p_->identity.female ? region_.womens_prisons : region_.prisons;
    std::string establishment = prisons[std::uniform_int_distribution<size_t>(
        0, prisons.size() - 1)(rng_)];
    std::vector<std::pair<std::string, std::string>> attrs = {
        {"establishment", establishment}, {"sentence_band", band}};
    Add(kPrison, "reception", reception, attrs);
    int64_t release = reception + served;
    Add(kPrison, "release", release, attrs);
    AfterRelease(release, depth);
  }

  void Accommodation(int64_t day, const char* checkpoint, double settled) {
    double u = std::uniform_real_distribution<double>(0, 1)(rng_);
    const char* status = u < settled ? "settled"
                         : u < settled + (1 - settled) * 0.55
                             ? "temporary"
                             : "no_fixed_abode";
    Add(kLocalAuthority, "accommodation_assessment", day,
        {{"accommodation_status", status}, {"checkpoint", checkpoint}});
  }

  void AfterRelease(int64_t r, int depth) {
    if (Chance(params_.licence)) Add(kProbation, "supervision_start", r);
    if (p_->propensity > 2.0 && Chance(params_.iom)) {
      Add(kProbation, "iom_start", r + RandomDay(0, 14));
    }
    double settled = p_->drug_misuse ? 0.5 : 0.65;
    if (Chance(params_.accommodation_release))
      Accommodation(r, "night_of_release", settled);
    if (Chance(params_.accommodation_3m)) {
      Accommodation(r + RandomDay(84, 98), "3_months", settled + 0.1);
    }
    if (Chance(params_.accommodation_12m)) {
      Accommodation(r + RandomDay(358, 372), "12_months", settled + 0.15);
    }
    if (p_->drug_misuse && Chance(params_.drug_treatment)) {
      std::exponential_distribution<double> delay(1.0 / 14);
      Add(kHealth, "drug_treatment_start",
          r + static_cast<int64_t>(delay(rng_)));
    }
    if (Chance(params_.gp_registration))
      Add(kHealth, "gp_registration", r + RandomDay(0, 90));
    if (Chance(params_.recall))
      Add(kProbation, "recall", r + RandomDay(20, 300));
    int age = AgeOn(r);
    size_t band = age < 25 ? 0 : age < 35 ? 1 : age < 50 ? 2 : 3;
    double p = params_.reoffending[band] *
               (p_->identity.female ? params_.female_reoffending_factor : 1.0) *
               (p_->drug_misuse ? 1.15 : 1.0);
    if (Chance(std::min(p, 0.95))) {
      std::exponential_distribution<double> delay(1.0 / 110);
      int64_t d =
          r + 1 + std::min<int64_t>(363, static_cast<int64_t>(delay(rng_)));
      Add(kPolice, "arrest", d);
      int64_t charged = d + RandomDay(0, 1);
      Add(kPolice, "charge", charged);
      if (depth < 3 && Chance(params_.custody)) Custody(charged, depth + 1);
    }
  }

  Person* p_;
  const Region& region_;
  const LifeCourseParams& params_;
  Rng& rng_;
};

// Age band shares among people known to criminal justice agencies.
int DrawAge(Rng& rng) {
  static constexpr double kShares[] = {0.07, 0.20, 0.31, 0.28, 0.14};
  static constexpr int kLo[] = {10, 18, 25, 35, 50};
  static constexpr int kHi[] = {17, 24, 34, 49, 70};
  double u = std::uniform_real_distribution<double>(0, 1)(rng);
  int b = 0;
  for (double acc = kShares[0]; b < 4 && u >= acc; acc += kShares[++b]) {
  }
  return std::uniform_int_distribution<int>(kLo[b], kHi[b])(rng);
}

double AgeFactor(int age) {
  return age < 18   ? 1.2
         : age < 25 ? 1.5
         : age < 35 ? 1.2
         : age < 50 ? 0.8
                    : 0.4;
}

}  // namespace

Person GeneratePerson(uint64_t seed, uint64_t index, const Region& region,
                      const NameTables& names, const LifeCourseParams& params) {
  Rng rng(Mix(Mix(seed) ^ index));
  Person p;
  p.index = index;
  Identity& id = p.identity;
  id.female = std::uniform_real_distribution<double>(0, 1)(rng) < params.female;
  p.age = DrawAge(rng);
  int64_t ref = DaysFromCivil(kAgeReference);
  int64_t born = ref - static_cast<int64_t>(p.age * 365.25) -
                 std::uniform_int_distribution<int64_t>(0, 364)(rng);
  id.dob = encoding::CivilFromDays(born);
  p.age = encoding::AgeInYears(id.dob, kAgeReference);
  id.given = names.Forename(id.female, rng);
  id.surname = names.Surname(rng);
  size_t la = RandomAuthority(region, rng);
  id.area = region.authorities[la].code;
  id.postcode = RandomPostcode(region.authorities[la], rng);
  std::gamma_distribution<double> gamma(1.3, 0.8);
  p.propensity = gamma(rng) * AgeFactor(p.age) * (id.female ? 0.6 : 1.0);
  p.drug_misuse =
      std::uniform_real_distribution<double>(0, 1)(rng) <
      std::min(0.9, params.drug_misuse * (0.6 + 0.4 * p.propensity));
  Life(&p, region, params, rng).Run();
  return p;
}

namespace {

std::vector<std::string> HeaderFor(Agency a) {
  std::vector<std::string> h = {"record_id",     "given_name", "surname",
                                "date_of_birth", "sex",        "postcode",
                                "area",          "event_type", "event_date"};
  if (a == kPrison) {
    h.push_back("establishment");
    h.push_back("sentence_band");
  }
  if (a == kLocalAuthority) {
    h.push_back("accommodation_status");
    h.push_back("checkpoint");
  }
  return h;
}

// How each agency writes identifiers (case, date format, sex coding).
std::vector<std::string> Fields(Agency a, const Identity& id, const Event& e,
                                const std::string& record_id) {
  std::string given = id.given, surname = id.surname, postcode = id.postcode;
  std::string dob, sex;
  const Date& d = id.dob;
  switch (a) {
    case kPrison:
      given = absl::AsciiStrToUpper(given);
      surname = absl::AsciiStrToUpper(surname);
      dob = encoding::FormatIsoDate(d);
      sex = id.female ? "F" : "M";
      break;
    case kHealth:
      dob = encoding::FormatIsoDate(d);
      sex = id.female ? "2"
                      : "1";  // NHS Data Dictionary person stated gender code
      postcode.erase(std::remove(postcode.begin(), postcode.end(), ' '),
                     postcode.end());
      break;
    case kLocalAuthority:
      dob = absl::StrFormat("%02d/%02d/%04d", d.day, d.month, d.year);
      sex = id.female ? "F" : "M";
      break;
    default:  // police, probation
      dob = absl::StrFormat("%02d/%02d/%04d", d.day, d.month, d.year);
      sex = id.female ? "Female" : "Male";
  }
  if (id.dob_missing) dob.clear();
  std::vector<std::string> f = {
      record_id, given,  surname,
      dob,       sex,    postcode,
      id.area,   e.type, encoding::FormatIsoDate(e.date)};
  auto attr = [&](const char* name) {
    for (const auto& [k, v] : e.attributes) {
      if (k == name) return v;
    }
    return std::string();
  };
  if (a == kPrison) {
    f.push_back(attr("establishment"));
    f.push_back(attr("sentence_band"));
  }
  if (a == kLocalAuthority) {
    f.push_back(attr("accommodation_status"));
    f.push_back(attr("checkpoint"));
  }
  return f;
}

constexpr const char* kRecordPrefix[] = {"PL", "PB", "PR", "HE", "LA"};

}  // namespace

absl::StatusOr<SynthSummary> GenerateRegion(const SynthOptions& o) {
  ASSIGN_OR_RETURN(Region region, FindRegion(o.region));
  if (o.out_dir.empty())
    return absl::InvalidArgumentError("no output directory");
  if (o.error_rate < 0)
    return absl::InvalidArgumentError("--error-rate must be >= 0");
  std::error_code ec;
  std::filesystem::create_directories(
      std::filesystem::path(o.out_dir) / "queries", ec);
  if (ec) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create ", o.out_dir, ": ", ec.message()));
  }
  NameTables names;
  CorruptionRates rates = o.rates.Scaled(o.error_rate);
  std::vector<std::unique_ptr<encoding::CsvWriter>> out;
  SynthSummary summary;
  for (int a = 0; a < 5; ++a) {
    std::string path = absl::StrCat(o.out_dir, "/", kAgencies[a], ".csv");
    ASSIGN_OR_RETURN(auto f, encoding::CsvWriter::Create(
                                 path, HeaderFor(static_cast<Agency>(a))));
    out.push_back(std::move(f));
    summary.files.push_back(path);
  }
  std::string truth_path = absl::StrCat(o.out_dir, "/truth.csv");
  ASSIGN_OR_RETURN(auto truth,
                   encoding::CsvWriter::Create(
                       truth_path, {"agency", "local_id", "person_id"}, 0600));
  summary.files.push_back(truth_path);

  for (uint64_t i = 0; i < o.people; ++i) {
    if (o.cancel != nullptr && o.cancel->load()) {
      return absl::CancelledError("interrupted; no files written");
    }
    Person p = GeneratePerson(o.seed, i, region, names, o.params);
    // Each agency's own record(s) of the person, corrupted independently.
    Rng rng(Mix(Mix(o.seed ^ 0x5eed) ^ i));
    std::string person_id = absl::StrCat("P", i);
    for (int a = 0; a < 5; ++a) {
      std::vector<const Event*> evs;
      for (const auto& e : p.events) {
        if (e.agency == a) evs.push_back(&e);
      }
      if (evs.empty()) continue;
      Identity first = Corrupt(p.identity, p.age, rates, names, region, rng);
      Identity second;
      bool dup = evs.size() >= 2 && std::uniform_real_distribution<double>(
                                        0, 1)(rng) < rates.duplicate;
      if (dup) second = Corrupt(p.identity, p.age, rates, names, region, rng);
      for (size_t k = 0; k < evs.size(); ++k) {
        bool use_second = dup && (k % 2 == 1);
        std::string rid =
            absl::StrFormat("%s%09d", kRecordPrefix[a], summary.rows[a]++);
        out[a]->Row(Fields(static_cast<Agency>(a), use_second ? second : first,
                           *evs[k], rid));
        truth->Row({kAgencies[a], rid, person_id});
      }
      RETURN_IF_ERROR(out[a]->MaybeFlush());
    }
    RETURN_IF_ERROR(truth->MaybeFlush());
    summary.people = i + 1;
    if (o.progress && (i & 1023) == 0) o.progress(i);
  }

  std::string schema_path = absl::StrCat(o.out_dir, "/schema.json");
  {
    ASSIGN_OR_RETURN(auto f, util::AtomicFile::Create(schema_path));
    RETURN_IF_ERROR(f->Write(SynthSchemaJson()));
    RETURN_IF_ERROR(f->Commit());
  }
  summary.files.push_back(schema_path);
  const std::pair<const char*, const char*> kQueries[] = {
      {"reoffending-12m.json",
       R"({
  "name": "Proven reoffending within 12 months of release",
  "cohort": {"agency_type": "prison", "event_type": "release",
             "from": "2024-01-01", "to": "2024-12-31"},
  "outcomes": [
    {"name": "charged_within_12m", "agency_type": "police", "event_type": "charge",
     "window_days": [1, 365]}
  ],
  "breakdowns": ["sex", "age_band"],
  "min_match_probability": 0.9
}
)"},
      {"accommodation-on-release.json",
       R"({
  "name": "Settled accommodation on the night of release",
  "cohort": {"agency_type": "prison", "event_type": "release",
             "from": "2024-01-01", "to": "2024-12-31"},
  "outcomes": [
    {"name": "settled_on_release", "agency_type": "local-authority",
     "event_type": "accommodation_assessment",
     "filters": {"checkpoint": "night_of_release", "accommodation_status": "settled"},
     "window_days": [0, 1]}
  ],
  "breakdowns": ["area"],
  "min_match_probability": 0.9
}
)"},
      {"drug-treatment-3w.json",
       R"({
  "name": "Drug treatment started within 3 weeks of release",
  "cohort": {"agency_type": "prison", "event_type": "release",
             "from": "2024-01-01", "to": "2024-12-31"},
  "outcomes": [
    {"name": "treatment_within_3w", "agency_type": "health",
     "event_type": "drug_treatment_start", "window_days": [0, 21]}
  ],
  "breakdowns": ["sex", "age_band"],
  "min_match_probability": 0.9
}
)"}};
  for (const auto& [name, text] : kQueries) {
    std::string path = absl::StrCat(o.out_dir, "/queries/", name);
    ASSIGN_OR_RETURN(auto f, util::AtomicFile::Create(path));
    RETURN_IF_ERROR(f->Write(text));
    RETURN_IF_ERROR(f->Commit());
    summary.files.push_back(path);
  }
  for (auto& f : out) RETURN_IF_ERROR(f->Commit());
  RETURN_IF_ERROR(truth->Commit());
  return summary;
}

const char* SynthSchemaJson() {
  return R"({
  "cohortlink_schema": 1,
  "name": "synthetic-region",
  "description": "Native schema for `cohortlink synth` extracts: the identifiers of examples/schemas/uk-default.json, XOR-folded but without uk-default's salting of names by year of birth (a salted name cannot be compared when a date of birth is missing or its year mistyped), with the synthetic agencies' event and attribute columns.",
  "record_key": {"column": "record_id"},
  "identifiers": [
    {"name": "given_name", "normalise": ["fold", "letters", "name", "first_word"],
     "segment": {"bits": 512, "insert": {"bits_per_token": 12},
                 "hardening": {"xor_fold": 1}}},
    {"name": "surname", "normalise": ["fold", "letters", "name"],
     "segment": {"bits": 512, "insert": {"bits_per_token": 12},
                 "hardening": {"xor_fold": 1}}},
    {"name": "date_of_birth", "type": "date", "date_formats": ["%Y-%m-%d", "%d/%m/%Y"],
     "tokens": {"q": 1, "positional": true},
     "segment": {"bits": 256, "insert": {"bits_per_token": 10}, "hardening": {"xor_fold": 1}}},
    {"name": "postcode", "normalise": ["postcode_uk", "remove_space"],
     "segment": {"bits": 512, "insert": {"bits_per_token": 10}, "hardening": {"xor_fold": 1}}},
    {"name": "sex", "normalise": ["sex"], "tokens": {"kind": "exact"}}
  ],
  "blocking": [
    {"name": "sdx-surname-yob", "parts": [{"identifier": "surname", "transform": "soundex"},
                                          {"identifier": "date_of_birth", "transform": "year"}]},
    {"name": "dm-given-dob", "parts": [{"identifier": "given_name", "transform": "metaphone"},
                                        {"identifier": "date_of_birth"}]},
    {"name": "sdx-names-any-order-yob", "unordered": true,
     "parts": [{"identifier": "given_name", "transform": "soundex"},
               {"identifier": "surname", "transform": "soundex"},
               {"identifier": "date_of_birth", "transform": "year"}]},
    {"name": "dob-sex-postcode-area", "parts": [{"identifier": "date_of_birth"},
                                                 {"identifier": "sex"},
                                                 {"identifier": "postcode", "transform": "first3"}]}
  ],
  "event": {"type": {"column": "event_type"}, "date_column": "event_date"},
  "attributes": [
    {"name": "sex", "normalise": ["sex"]},
    {"name": "area"},
    {"name": "establishment", "optional": true},
    {"name": "sentence_band", "optional": true},
    {"name": "accommodation_status", "optional": true},
    {"name": "checkpoint", "optional": true}
  ],
  "derived": [
    {"name": "age_band", "kind": "age_band", "from": "date_of_birth", "bands": [10, 18, 25, 35, 50]}
  ]
}
)";
}

}  // namespace cohortlink::synth
