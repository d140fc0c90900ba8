#include "linkage/cohort/set_sketch.h"

#include <algorithm>
#include <cstdlib>

#include "absl/numeric/int128.h"
#include "absl/strings/str_cat.h"

namespace cohortlink::cohort {
namespace {

// The SplitMix64 finalizer (Steele, Lea and Flood, OOPSLA 2014): tokens
// are pseudo-random already; this only makes the sub-tables' positions and
// the check independent of one another.
uint64_t Mix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

constexpr uint64_t kSalts[SetSketch::kHashes] = {
    0x243f6a8885a308d3ULL, 0x13198a2e03707344ULL, 0xa4093822299f31d0ULL};
constexpr uint64_t kCheckSalt = 0x082efa98ec4e6c89ULL;

uint64_t Check(uint64_t token) { return Mix(token ^ kCheckSalt); }

void PutLittleEndian(uint64_t v, int bytes, std::string* out) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>(v >> 8 * i));
}

uint64_t GetLittleEndian(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v |= uint64_t{static_cast<unsigned char>(p[i])} << 8 * i;
  return v;
}

}  // namespace

uint32_t SetSketch::WidthFor(uint32_t threshold) {
  uint64_t w = threshold > 1 ? 2 * (uint64_t{threshold} - 1) : 0;
  return static_cast<uint32_t>(std::clamp<uint64_t>(w, kMinWidth, kMaxWidth));
}

SetSketch::SetSketch(uint32_t width)
    : width_(width), cells_(size_t{kHashes} * width) {}

size_t SetSketch::Position(uint64_t token, int hash) const {
  uint64_t h = Mix(token ^ kSalts[hash]);
  // Lemire's multiply-shift instead of a modulo: unbiased enough, and fast.
  return size_t{static_cast<uint32_t>(hash)} * width_ +
         static_cast<size_t>(
             absl::Uint128High64(absl::uint128(h) * absl::uint128(width_)));
}

SetSketch::Placed SetSketch::Place(uint64_t token) const {
  Placed p{token, Check(token), {}};
  for (int j = 0; j < kHashes; ++j)
    p.cells[j] = static_cast<uint32_t>(Position(token, j));
  return p;
}

void SetSketch::Insert(const Placed& p) {
  for (int j = 0; j < kHashes; ++j) {
    Cell& c = cells_[p.cells[j]];
    ++c.count;
    c.tokens ^= p.token;
    c.checks ^= p.check;
  }
}

void SetSketch::Insert(uint64_t token) { Insert(Place(token)); }

uint64_t SetSketch::Digest() const {
  uint64_t d = 0;
  for (uint32_t c = 0; c < width_; ++c) d ^= cells_[c].tokens;
  return d;
}

std::string SetSketch::Serialize() const {
  std::string out;
  out.reserve(cells_.size() * kCellBytes);
  for (const Cell& c : cells_) {
    PutLittleEndian(static_cast<uint32_t>(c.count), 4, &out);
    PutLittleEndian(c.tokens, 8, &out);
    PutLittleEndian(c.checks, 8, &out);
  }
  return out;
}

absl::StatusOr<SetSketch> SetSketch::Parse(absl::string_view bytes,
                                           uint32_t width) {
  if (width < kMinWidth || width > kMaxWidth) {
    return absl::InvalidArgumentError(absl::StrCat("set sketch width ", width,
                                                   " is outside [", kMinWidth,
                                                   ", ", kMaxWidth, "]"));
  }
  SetSketch s(width);
  if (bytes.size() != s.cells_.size() * kCellBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a set sketch of width ", width, " has ", s.cells_.size() * kCellBytes,
        " bytes, not ", bytes.size()));
  }
  const char* p = bytes.data();
  for (Cell& c : s.cells_) {
    c.count =
        static_cast<int32_t>(static_cast<uint32_t>(GetLittleEndian(p, 4)));
    c.tokens = GetLittleEndian(p + 4, 8);
    c.checks = GetLittleEndian(p + 12, 8);
    p += kCellBytes;
  }
  return s;
}

SetSketch::Difference SetSketch::Compare(const SetSketch& a, const SetSketch& b,
                                         uint64_t threshold) {
  const size_t n = a.cells_.size();
  std::vector<Cell> d(n);
  bool same = true;
  for (size_t i = 0; i < n; ++i) {
    d[i].count = a.cells_[i].count - b.cells_[i].count;
    d[i].tokens = a.cells_[i].tokens ^ b.cells_[i].tokens;
    d[i].checks = a.cells_[i].checks ^ b.cells_[i].checks;
    same = same && d[i].count == 0 && d[i].tokens == 0 && d[i].checks == 0;
  }
  if (same) return Difference::kNone;
  // A pure cell holds one token: its count is +1 or -1, its check sum is
  // that token's check, and the token belongs in this very cell.
  auto pure = [&](size_t i) {
    return std::abs(d[i].count) == 1 && d[i].checks == Check(d[i].tokens) &&
           a.Position(d[i].tokens, static_cast<int>(i / a.width_)) == i;
  };
  std::vector<size_t> work;
  for (size_t i = 0; i < n; ++i)
    if (pure(i)) work.push_back(i);
  uint64_t peeled = 0;
  while (!work.empty()) {
    size_t i = work.back();
    work.pop_back();
    if (!pure(i)) continue;
    const uint64_t token = d[i].tokens, check = d[i].checks;
    const int32_t sign = d[i].count;
    for (int j = 0; j < kHashes; ++j) {
      size_t p = a.Position(token, j);
      d[p].count -= sign;
      d[p].tokens ^= token;
      d[p].checks ^= check;
      if (pure(p)) work.push_back(p);
    }
    if (++peeled >= threshold) return Difference::kAtLeast;
  }
  // What did not peel: each token sits in one cell of every sub-table, so
  // any sub-table's cells bound the number left from below. A cell holds
  // at least |count| tokens; at least 3 when its count is +-1 but it is not
  // pure; at least 2 when its count is 0 but its sums are not.
  uint64_t left = 0;
  for (int j = 0; j < kHashes; ++j) {
    uint64_t bound = 0;
    for (size_t i = size_t{static_cast<uint32_t>(j)} * a.width_;
         i < size_t{static_cast<uint32_t>(j) + 1} * a.width_; ++i) {
      const uint64_t c = static_cast<uint64_t>(std::abs(int64_t{d[i].count}));
      if (c > 1) {
        bound += c;
      } else if (c == 1) {
        bound += 3;
      } else if (d[i].tokens != 0 || d[i].checks != 0) {
        bound += 2;
      }
    }
    left = std::max(left, bound);
  }
  return peeled + left >= threshold ? Difference::kAtLeast : Difference::kUnder;
}

}  // namespace cohortlink::cohort
