#ifndef COHORTLINK_LINKAGE_COHORT_SET_SKETCH_H_
#define COHORTLINK_LINKAGE_COHORT_SET_SKETCH_H_

// A fixed-size summary of a set of people from which the size of the
// difference between two sets can be bounded: an invertible Bloom lookup
// table (Goodrich and Mitzenmacher, "Invertible Bloom Lookup Tables",
// Allerton 2011), subtracted and peeled as in Eppstein et al., "What's the
// Difference? Efficient Set Reconciliation without Prior Context", SIGCOMM
// 2011.
//
// Members are 64-bit tokens that are already keyed and pseudo-random (the
// query index derives them with HMAC from the server's cell-key secret).
// A sketch has kHashes sub-tables of `width` cells; each token goes to one
// cell of each. Subtracting two sketches leaves exactly the sketch of the
// symmetric difference, with the sign telling which side a token is on.
//
// Compare never answers kAtLeast for sets that differ by fewer than the
// threshold: when the difference does not peel completely it bounds it
// from below by what is left in each sub-table, and answers kUnder unless
// that bound reaches the threshold. An undecodable small difference thus
// costs a suppressed count, never a published one (docs/disclosure.md).
//
// A value type; not thread-safe for concurrent mutation.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cohortlink::cohort {

class SetSketch {
 public:
  static constexpr int kHashes = 3;
  static constexpr size_t kCellBytes = 20;  // count, token sum, check sum
  static constexpr uint32_t kMinWidth = 8;
  static constexpr uint32_t kMaxWidth = 4096;

  // The width that decodes differences below `threshold` with high
  // probability: twice the largest difference to be found, at least
  // kMinWidth (at the default threshold 10: 18 cells a sub-table, 1,080
  // bytes).
  static uint32_t WidthFor(uint32_t threshold);

  // REQUIRES: kMinWidth <= width <= kMaxWidth.
  explicit SetSketch(uint32_t width);

  void Insert(uint64_t token);
  // A token's cells and check, worked out once for many sketches of the
  // same width.
  struct Placed {
    uint64_t token, check;
    uint32_t cells[kHashes];
  };
  Placed Place(uint64_t token) const;
  void Insert(const Placed& p);

  uint32_t width() const { return width_; }
  // The xor of the set's tokens (each is in exactly one cell of the first
  // sub-table): equal for equal sets, and a 64-bit digest of the set.
  uint64_t Digest() const;

  // kCellBytes per cell, little-endian.
  std::string Serialize() const;
  // INVALID_ARGUMENT unless `bytes` holds exactly kHashes * width cells.
  static absl::StatusOr<SetSketch> Parse(absl::string_view bytes,
                                         uint32_t width);

  enum class Difference {
    kNone,     // the same set
    kUnder,    // 1 to threshold - 1 tokens differ, or possibly so
    kAtLeast,  // at least threshold tokens differ
  };
  // REQUIRES: a.width() == b.width(), threshold >= 1.
  static Difference Compare(const SetSketch& a, const SetSketch& b,
                            uint64_t threshold);

 private:
  struct Cell {
    int32_t count = 0;
    uint64_t tokens = 0;  // xor of the tokens
    uint64_t checks = 0;  // xor of Check(token)
  };
  size_t Position(uint64_t token, int hash) const;
  uint32_t width_;
  std::vector<Cell> cells_;
};

}  // namespace cohortlink::cohort

#endif  // COHORTLINK_LINKAGE_COHORT_SET_SKETCH_H_
