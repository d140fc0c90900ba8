#include "linkage/synth/dedupe_extract.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "linkage/encoding/csv_reader.h"
#include "linkage/encoding/csv_writer.h"
#include "linkage/synth/corrupt.h"
#include "util/status_macros.h"

namespace cohortlink::synth {
namespace {

enum Column {
  kRecId,
  kGiven,
  kSurname,
  kStreetNumber,
  kAddress1,
  kAddress2,
  kSuburb,
  kPostcode,
  kState,
  kDob,
  kSsn,
  kColumns
};
constexpr std::array<const char*, kColumns> kNames = {
    "rec_id",    "given_name",    "surname",   "street_number",
    "address_1", "address_2",     "suburb",    "postcode",
    "state",     "date_of_birth", "soc_sec_id"};
using Row = std::array<std::string, kColumns>;

std::string Digit(const std::string& s, Rng& rng) {
  if (s.empty()) return s;
  std::string out = s;
  out[rng() % out.size()] = static_cast<char>('0' + rng() % 10);
  return out;
}

Row Corrupt(const Row& truth, const std::vector<Row>& others, double moved,
            Rng& rng) {
  Row r = truth;
  for (int f : {kGiven, kSurname}) {
    double u = std::uniform_real_distribution<double>(0, 1)(rng);
    for (int k = 0; k < (u < 0.3) + (u < 0.05); ++k) r[f] = Typo(r[f], rng);
    if (Chance(0.05, rng)) r[f].clear();
  }
  if (Chance(0.03, rng)) std::swap(r[kGiven], r[kSurname]);
  double u = std::uniform_real_distribution<double>(0, 1)(rng);
  const std::string dob = r[kDob];
  if (u < 0.05) {
    r[kDob].clear();
  } else if (u < 0.15 && dob.size() == 8) {
    r[kDob] = Digit(dob, rng);
  } else if (u < 0.20 && dob.size() == 8) {
    r[kDob] = dob.substr(0, 4) + dob.substr(6, 2) + dob.substr(4, 2);
  }
  if (Chance(moved, rng)) {
    const Row& o = others[rng() % others.size()];
    for (int f :
         {kStreetNumber, kAddress1, kAddress2, kSuburb, kPostcode, kState})
      r[f] = o[f];
  } else {
    for (int f : {kAddress1, kSuburb})
      if (Chance(0.15, rng)) r[f] = Typo(r[f], rng);
    for (int f : {kStreetNumber, kPostcode})
      if (Chance(0.08, rng)) r[f] = Digit(r[f], rng);
  }
  for (int f : {kAddress2, kStreetNumber, kSuburb, kPostcode})
    if (Chance(0.10, rng)) r[f].clear();
  u = std::uniform_real_distribution<double>(0, 1)(rng);
  if (u < 0.20) {
    r[kSsn].clear();
  } else if (u < 0.30) {
    r[kSsn] = Digit(r[kSsn], rng);
  }
  return r;
}

}  // namespace

absl::Status WriteDedupeExtract(const std::string& source,
                                const std::string& out,
                                const DedupeExtractOptions& o) {
  encoding::CsvOptions co;
  co.skip_initial_space = true;
  ASSIGN_OR_RETURN(auto reader, encoding::CsvReader::Open(source, co));
  encoding::CsvRow row;
  ASSIGN_OR_RETURN(bool any, reader->Next(&row));
  if (!any) return absl::InvalidArgumentError(source + ": empty");
  std::array<int, kColumns> at;
  for (int c = 0; c < kColumns; ++c) {
    auto it = std::find_if(row.fields.begin(), row.fields.end(),
                           [&](const std::string& h) {
                             return absl::StripAsciiWhitespace(h) == kNames[c];
                           });
    if (it == row.fields.end())
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": no column ", kNames[c]));
    at[c] = static_cast<int>(it - row.fields.begin());
  }
  std::vector<Row> originals;
  while (true) {
    ASSIGN_OR_RETURN(bool more, reader->Next(&row));
    if (!more) break;
    Row r;
    for (int c = 0; c < kColumns; ++c) {
      if (static_cast<size_t>(at[c]) >= row.fields.size())
        return absl::InvalidArgumentError(
            absl::StrCat(source, ":", row.line, ": too few fields"));
      r[c] = std::string(absl::StripAsciiWhitespace(row.fields[at[c]]));
    }
    if (absl::EndsWith(r[kRecId], "-org")) originals.push_back(std::move(r));
  }
  if (originals.size() < 2 * o.people)
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": ", originals.size(), " originals, ", 2 * o.people,
        " needed (the people, and others whose addresses records move to)"));
  Rng rng(o.seed);
  std::shuffle(originals.begin(), originals.end(), rng);
  // People, and the others whose addresses a moved record takes (so that
  // no two people of the extract share an address by chance).
  std::vector<Row> others(originals.begin() + o.people, originals.end());
  std::vector<Row> rows;
  std::exponential_distribution<double> extra(1 / o.mean_extra_records);
  for (uint64_t n = 0; n < o.people; ++n) {
    int k = std::min(o.max_records, 1 + static_cast<int>(extra(rng)));
    for (int d = 0; d < k; ++d) {
      Row r = Corrupt(originals[n], others, o.moved, rng);
      r[kRecId] = d == 0 ? absl::StrCat("rec-", n, "-org")
                         : absl::StrCat("rec-", n, "-dup-", d - 1);
      rows.push_back(std::move(r));
    }
  }
  std::shuffle(rows.begin(), rows.end(), rng);
  ASSIGN_OR_RETURN(auto writer, encoding::CsvWriter::Create(
                                    out, std::vector<std::string>(
                                             kNames.begin(), kNames.end())));
  for (const Row& r : rows) {
    writer->Row(std::vector<std::string>(r.begin(), r.end()));
    RETURN_IF_ERROR(writer->MaybeFlush());
  }
  return writer->Commit();
}

}  // namespace cohortlink::synth
