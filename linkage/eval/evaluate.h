#ifndef COHORTLINK_LINKAGE_EVAL_EVALUATE_H_
#define COHORTLINK_LINKAGE_EVAL_EVALUATE_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"

namespace cohortlink::eval {

// One row of a linkage map: `cohortlink export-links` writes
// agency,extract,record_key,entity_id,match_probability.
struct LinkRow {
  std::string agency, extract, record_key, entity;
  double probability = 1.0;
};

// Reads a linkage map CSV (header required). Errors name file and line.
absl::StatusOr<std::vector<LinkRow>> ReadLinks(const std::string& path);

// Who each record really is: (agency, record key) -> person id.
class Truth {
 public:
  // truth.csv (agency,local_id,person_id) as `cohortlink synth` writes it.
  absl::Status LoadTruthCsv(const std::string& path);
  // A key map (local_id,record_key) that `cohortlink encode --key-map`
  // wrote for `agency`: record keys are translated to local ids. Without
  // key maps, record keys are taken to be local ids.
  absl::Status LoadKeyMap(const std::string& agency, const std::string& path);
  // Public datasets: derive the person from the local id. "febrl":
  // rec-<N>-org / rec-<N>-dup-<k> -> N; "id": the local id itself (NCVR
  // recid). Applies to records whose agency has a key map.
  absl::Status SetDerivation(const std::string& kind);

  // The person of a record, or nullptr when unknown.
  const std::string* PersonOf(const std::string& agency,
                              const std::string& record_key) const;
  size_t known_records() const { return truth_.size(); }

 private:
  std::string LocalId(const std::string& agency, const std::string& key) const;
  absl::flat_hash_map<std::string, std::string>
      truth_;  // agency␟local -> person
  absl::flat_hash_map<std::string, std::string>
      key_to_local_;  // agency␟key -> local
  absl::flat_hash_map<std::string, bool> has_key_map_;
  std::string derivation_;
  mutable std::string derived_;
};

struct PairScores {
  double precision = 0, recall = 0, f1 = 0;
  uint64_t true_positive = 0, predicted = 0, actual = 0;
};

struct ThresholdScore {
  double threshold = 0;
  PairScores pairwise;
  uint64_t entities = 0;
};

struct Metrics {
  uint64_t records = 0;          // records scored
  uint64_t unknown_records = 0;  // in the links but not in the truth (excluded)
  uint64_t entities = 0;         // predicted entities among scored records
  uint64_t persons = 0;          // true persons among scored records
  PairScores pairwise;           // all same-entity record pairs
  PairScores cross_agency;       // pairs of records from different agencies
  PairScores within_agency;      // pairs of records of one agency (dedupe)
  double bcubed_precision = 0, bcubed_recall = 0, bcubed_f1 = 0;
  std::vector<ThresholdScore> sweep;  // records below t split off as singletons
};

// Scores `links` against `truth`. Precision is 1 when nothing is linked
// (no false positives), recall is 1 when there is nothing to find.
Metrics Evaluate(const std::vector<LinkRow>& links, const Truth& truth,
                 const std::vector<double>& thresholds = {0.5, 0.7, 0.8, 0.9,
                                                          0.95, 0.99});

}  // namespace cohortlink::eval

#endif  // COHORTLINK_LINKAGE_EVAL_EVALUATE_H_
