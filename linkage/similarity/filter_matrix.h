#ifndef COHORTLINK_LINKAGE_SIMILARITY_FILTER_MATRIX_H_
#define COHORTLINK_LINKAGE_SIMILARITY_FILTER_MATRIX_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/strings/string_view.h"

namespace cohortlink::similarity {

// A word range [begin, end) of a filter: one field segment.
struct SegmentWords {
  uint32_t begin = 0, end = 0;
};

// 64-byte aligned storage that never copies implicitly.
class AlignedWords {
 public:
  AlignedWords() = default;
  explicit AlignedWords(size_t n) { Resize(n); }
  // Grows (keeping contents, zero-filling) or shrinks.
  void Resize(size_t n);
  uint64_t* data() { return data_.get(); }
  const uint64_t* data() const { return data_.get(); }
  size_t size() const { return size_; }

 private:
  struct Free {
    void operator()(uint64_t* p) const {
      ::operator delete[](p, std::align_val_t(64));
    }
  };
  std::unique_ptr<uint64_t[], Free> data_;
  size_t size_ = 0, capacity_ = 0;
};

// Filters of one length in 64-byte aligned rows, with the popcount of each
// whole filter and of each field segment precomputed.
class FilterMatrix {
 public:
  // `bits` is a multiple of 64; `segments` (word ranges inside the filter)
  // may be empty when only whole-filter similarity is wanted.
  explicit FilterMatrix(size_t bits, std::vector<SegmentWords> segments = {});

  // Appends a filter given as bytes (bytes.size() * 8 == bits).
  void Add(absl::string_view bytes);
  void Reserve(size_t n);
  // Keeps the first n rows.
  void Truncate(size_t n);

  size_t size() const { return count_; }
  size_t words() const { return words_; }
  size_t stride() const { return stride_; }  // words between rows
  const std::vector<SegmentWords>& segments() const { return segments_; }
  const uint64_t* row(size_t i) const { return data_.data() + i * stride_; }
  uint32_t popcount(size_t i) const { return counts_[i * (nseg_ + 1)]; }
  // Popcount of segment s of row i.
  uint32_t segment_popcount(size_t i, size_t s) const {
    return counts_[i * (nseg_ + 1) + 1 + s];
  }

 private:
  size_t words_, stride_, nseg_;
  std::vector<SegmentWords> segments_;
  AlignedWords data_;
  std::vector<uint32_t> counts_;
  size_t count_ = 0;
};

}  // namespace cohortlink::similarity

#endif  // COHORTLINK_LINKAGE_SIMILARITY_FILTER_MATRIX_H_
