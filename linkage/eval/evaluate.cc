#include "linkage/eval/evaluate.h"

#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "linkage/encoding/csv_reader.h"
#include "util/status_macros.h"

namespace cohortlink::eval {
namespace {

constexpr char kSep = '\x1f';

std::string Key(const std::string& a, const std::string& b) {
  return absl::StrCat(a, std::string(1, kSep), b);
}

// Opens a CSV, checks its header names `expected` (in any order) and
// returns the column index of each.
absl::StatusOr<std::unique_ptr<encoding::CsvReader>> OpenWithHeader(
    const std::string& path, const std::vector<std::string>& expected,
    std::vector<int>* cols) {
  ASSIGN_OR_RETURN(auto reader, encoding::CsvReader::Open(path));
  encoding::CsvRow row;
  ASSIGN_OR_RETURN(bool any, reader->Next(&row));
  if (!any)
    return absl::InvalidArgumentError(absl::StrCat(path, ": file is empty"));
  cols->clear();
  for (const auto& name : expected) {
    int found = -1;
    for (size_t i = 0; i < row.fields.size(); ++i) {
      if (row.fields[i] == name) found = static_cast<int>(i);
    }
    if (found < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":1: missing column \"", name, "\" (expected ",
                       absl::StrJoin(expected, ","), ")"));
    }
    cols->push_back(found);
  }
  return reader;
}

uint64_t Pairs(uint64_t n) { return n * (n - (n > 0 ? 1 : 0)) / 2; }

PairScores Score(uint64_t tp, uint64_t predicted, uint64_t actual) {
  PairScores s;
  s.true_positive = tp;
  s.predicted = predicted;
  s.actual = actual;
  s.precision = predicted == 0 ? 1.0 : static_cast<double>(tp) / predicted;
  s.recall = actual == 0 ? 1.0 : static_cast<double>(tp) / actual;
  s.f1 = s.precision + s.recall == 0
             ? 0
             : 2 * s.precision * s.recall / (s.precision + s.recall);
  return s;
}

struct Scored {
  std::string entity, person, agency;
};

// Pair counts over records grouped by entity and by person.
struct Counts {
  uint64_t tp = 0, predicted = 0, actual = 0;
  uint64_t tp_x = 0, predicted_x = 0, actual_x = 0;  // cross-agency
  uint64_t tp_w = 0, predicted_w = 0, actual_w = 0;  // within an agency
  double bcubed_p = 0, bcubed_r = 0;
  uint64_t entities = 0, persons = 0;
};

Counts Count(const std::vector<Scored>& recs) {
  absl::flat_hash_map<std::string, uint64_t> e, p, ep, ea, pa, epa;
  for (const auto& r : recs) {
    ++e[r.entity];
    ++p[r.person];
    ++ep[Key(r.entity, r.person)];
    ++ea[Key(r.entity, r.agency)];
    ++pa[Key(r.person, r.agency)];
    ++epa[Key(Key(r.entity, r.person), r.agency)];
  }
  Counts c;
  c.entities = e.size();
  c.persons = p.size();
  for (const auto& [k, n] : e) c.predicted += Pairs(n);
  for (const auto& [k, n] : p) c.actual += Pairs(n);
  for (const auto& [k, n] : ep) c.tp += Pairs(n);
  uint64_t same_e = 0, same_p = 0, same_ep = 0;
  for (const auto& [k, n] : ea) same_e += Pairs(n);
  for (const auto& [k, n] : pa) same_p += Pairs(n);
  for (const auto& [k, n] : epa) same_ep += Pairs(n);
  c.predicted_x = c.predicted - same_e;
  c.actual_x = c.actual - same_p;
  c.tp_x = c.tp - same_ep;
  c.tp_w = same_ep;
  c.predicted_w = same_e;
  c.actual_w = same_p;
  // B-cubed (Bagga & Baldwin 1998): per record, the share of its entity
  // that is the same person, and of its person that is in its entity.
  const double n = static_cast<double>(recs.size());
  for (const auto& r : recs) {
    double overlap = static_cast<double>(ep[Key(r.entity, r.person)]);
    c.bcubed_p += overlap / e[r.entity] / n;
    c.bcubed_r += overlap / p[r.person] / n;
  }
  return c;
}

}  // namespace

absl::StatusOr<std::vector<LinkRow>> ReadLinks(const std::string& path) {
  std::vector<int> c;
  ASSIGN_OR_RETURN(auto reader,
                   OpenWithHeader(path,
                                  {"agency", "extract", "record_key",
                                   "entity_id", "match_probability"},
                                  &c));
  std::vector<LinkRow> out;
  encoding::CsvRow row;
  for (;;) {
    ASSIGN_OR_RETURN(bool more, reader->Next(&row));
    if (!more) break;
    size_t need =
        static_cast<size_t>(*std::max_element(c.begin(), c.end())) + 1;
    if (row.fields.size() < need) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ":", row.line, ": row has ", row.fields.size(), " fields"));
    }
    LinkRow l{row.fields[c[0]], row.fields[c[1]], row.fields[c[2]],
              row.fields[c[3]], 1.0};
    if (!absl::SimpleAtod(row.fields[c[4]], &l.probability) ||
        l.probability < 0 || l.probability > 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", row.line,
                       ": match_probability must be a number in [0, 1]"));
    }
    out.push_back(std::move(l));
  }
  return out;
}

absl::Status Truth::LoadTruthCsv(const std::string& path) {
  std::vector<int> c;
  ASSIGN_OR_RETURN(
      auto reader,
      OpenWithHeader(path, {"agency", "local_id", "person_id"}, &c));
  encoding::CsvRow row;
  for (;;) {
    ASSIGN_OR_RETURN(bool more, reader->Next(&row));
    if (!more) break;
    if (row.fields.size() < 3) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", row.line, ": short row"));
    }
    truth_[Key(row.fields[c[0]], row.fields[c[1]])] = row.fields[c[2]];
  }
  return absl::OkStatus();
}

absl::Status Truth::LoadKeyMap(const std::string& agency,
                               const std::string& path) {
  std::vector<int> c;
  ASSIGN_OR_RETURN(auto reader,
                   OpenWithHeader(path, {"local_id", "record_key"}, &c));
  encoding::CsvRow row;
  for (;;) {
    ASSIGN_OR_RETURN(bool more, reader->Next(&row));
    if (!more) break;
    if (row.fields.size() < 2) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", row.line, ": short row"));
    }
    key_to_local_[Key(agency, row.fields[c[1]])] = row.fields[c[0]];
  }
  has_key_map_[agency] = true;
  return absl::OkStatus();
}

absl::Status Truth::SetDerivation(const std::string& kind) {
  if (kind != "febrl" && kind != "id") {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown --truth-from '", kind, "' (febrl or id)"));
  }
  derivation_ = kind;
  return absl::OkStatus();
}

std::string Truth::LocalId(const std::string& agency,
                           const std::string& key) const {
  if (!has_key_map_.contains(agency)) return key;
  auto it = key_to_local_.find(Key(agency, key));
  return it == key_to_local_.end() ? "" : it->second;
}

const std::string* Truth::PersonOf(const std::string& agency,
                                   const std::string& record_key) const {
  std::string local = LocalId(agency, record_key);
  if (local.empty()) return nullptr;
  if (derivation_ == "id") {
    derived_ = local;
    return &derived_;
  }
  if (derivation_ == "febrl") {
    // rec-<N>-org or rec-<N>-dup-<k>
    size_t a = local.find('-'), b = local.find('-', a + 1);
    if (a == std::string::npos || b == std::string::npos) return nullptr;
    derived_ = local.substr(a + 1, b - a - 1);
    return &derived_;
  }
  auto it = truth_.find(Key(agency, local));
  return it == truth_.end() ? nullptr : &it->second;
}

Metrics Evaluate(const std::vector<LinkRow>& links, const Truth& truth,
                 const std::vector<double>& thresholds) {
  Metrics m;
  std::vector<Scored> recs;
  std::vector<double> probs;
  std::vector<std::string> ids;
  recs.reserve(links.size());
  for (const auto& l : links) {
    const std::string* person = truth.PersonOf(l.agency, l.record_key);
    if (person == nullptr) {
      ++m.unknown_records;
      continue;
    }
    recs.push_back({l.entity, *person, l.agency});
    probs.push_back(l.probability);
    ids.push_back(Key(Key(l.agency, l.extract), l.record_key));
  }
  m.records = recs.size();
  Counts c = Count(recs);
  m.entities = c.entities;
  m.persons = c.persons;
  m.pairwise = Score(c.tp, c.predicted, c.actual);
  m.cross_agency = Score(c.tp_x, c.predicted_x, c.actual_x);
  m.within_agency = Score(c.tp_w, c.predicted_w, c.actual_w);
  m.bcubed_precision = c.bcubed_p;
  m.bcubed_recall = c.bcubed_r;
  m.bcubed_f1 = c.bcubed_p + c.bcubed_r == 0
                    ? 0
                    : 2 * c.bcubed_p * c.bcubed_r / (c.bcubed_p + c.bcubed_r);
  for (double t : thresholds) {
    std::vector<Scored> split = recs;
    for (size_t i = 0; i < split.size(); ++i) {
      if (probs[i] < t) split[i].entity = Key("singleton", ids[i]);
    }
    Counts ct = Count(split);
    m.sweep.push_back({t, Score(ct.tp, ct.predicted, ct.actual), ct.entities});
  }
  return m;
}

}  // namespace cohortlink::eval
