#ifndef COHORTLINK_LINKAGE_BLOCKING_DATASET_H_
#define COHORTLINK_LINKAGE_BLOCKING_DATASET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "cohortlink/v1/extract.pb.h"
#include "linkage/similarity/filter_matrix.h"

namespace cohortlink::blocking {

// The records being linked, in the form the engine needs: filters in
// aligned rows with per-field popcounts, missing-field masks, keyed
// blocking tokens and the source (extract) of each record. Built from
// stored EncodedRecords; holds no identifiers.
class Dataset {
 public:
  // The layout shared by every record (all extracts have one schema).
  // Field-level segments become the model's fields; a layout with only a
  // record-level CLK has one field, "clk", the whole filter.
  static absl::StatusOr<Dataset> ForLayout(
      const cohortlink::v1::FilterLayout& layout);

  // Appends a record of `source`. INVALID_ARGUMENT if the filters do not
  // match the layout.
  // `partition` separates records that must never be compared (key epochs:
  // filters made with different secrets).
  absl::Status Add(uint32_t source, const cohortlink::v1::EncodedRecord& r,
                   uint32_t partition = 0);
  // An empty dataset of the same layout.
  absl::StatusOr<Dataset> EmptyCopy() const;
  // Appends a copy of record i of `from` (same layout).
  void AddCopy(const Dataset& from, size_t i);
  // Whether records i and j have identical filters and missing fields.
  bool Identical(size_t i, size_t j) const;
  // A hash of record i's filters and missing fields.
  uint64_t ContentHash(size_t i) const;
  // Folds words [begin, end) of record i's filters into hash `h` (for
  // grouping records by the exact content of some fields).
  uint64_t HashWords(size_t i, size_t begin, size_t end, uint64_t h) const;
  void Reserve(size_t n);

  size_t size() const { return sources_.size(); }
  const similarity::FilterMatrix& filters() const { return filters_; }
  const std::vector<std::string>& field_names() const { return fields_; }
  // Per field: its layout segment's compare_group ("" for none).
  const std::vector<std::string>& field_groups() const { return groups_; }
  size_t num_fields() const { return fields_.size(); }
  // Whether field f of record i is missing (or empty).
  bool missing(size_t i, size_t f) const;
  uint32_t source(size_t i) const { return sources_[i]; }
  uint32_t partition(size_t i) const { return partitions_[i]; }
  absl::Span<const uint64_t> tokens(size_t i) const {
    return absl::MakeConstSpan(tokens_).subspan(
        token_begin_[i], token_begin_[i + 1] - token_begin_[i]);
  }
  // The pairs the linkage could compare: within one partition, and with
  // `within_source` false not within one source (sources nest in
  // partitions: one extract version has one key epoch).
  // With `live` and `fresh` given (one flag per record), only pairs of
  // live records at least one of which is fresh.
  uint64_t ComparablePairs(bool within_source,
                           const std::vector<uint8_t>* live = nullptr,
                           const std::vector<uint8_t>* fresh = nullptr) const;

 private:
  Dataset(similarity::FilterMatrix filters, std::vector<std::string> fields,
          std::vector<std::string> groups, std::vector<int> mask_bit)
      : filters_(std::move(filters)),
        fields_(std::move(fields)),
        groups_(std::move(groups)),
        mask_bit_(std::move(mask_bit)) {}
  similarity::FilterMatrix filters_;
  std::vector<std::string> fields_, groups_;
  std::vector<int> mask_bit_;  // layout segment index of each field (-1: none)
  std::vector<uint32_t> sources_, missing_, partitions_;
  std::vector<uint64_t> tokens_;
  std::vector<uint64_t> token_begin_ = {0};
};

}  // namespace cohortlink::blocking

#endif  // COHORTLINK_LINKAGE_BLOCKING_DATASET_H_
