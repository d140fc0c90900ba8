#include "linkage/blocking/dataset.h"

#include <cstring>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace cohortlink::blocking {

using cohortlink::v1::FilterSegment;

absl::StatusOr<Dataset> Dataset::ForLayout(
    const cohortlink::v1::FilterLayout& layout) {
  if (layout.total_bits() == 0 || layout.total_bits() % 64 != 0) {
    return absl::InvalidArgumentError(
        "filter layout must be a non-empty multiple of 64 bits");
  }
  std::vector<similarity::SegmentWords> segs;
  std::vector<std::string> names, groups;
  std::vector<int> mask_bit;
  for (int s = 0; s < layout.segments_size(); ++s) {
    const FilterSegment& seg = layout.segments(s);
    if (seg.kind() != FilterSegment::FIELD) continue;
    if (seg.offset_bits() % 64 != 0 || seg.length_bits() % 64 != 0 ||
        seg.offset_bits() + seg.length_bits() > layout.total_bits()) {
      return absl::InvalidArgumentError(
          absl::StrCat("segment ", seg.name(), " is not 64-bit aligned"));
    }
    segs.push_back(
        {seg.offset_bits() / 64, (seg.offset_bits() + seg.length_bits()) / 64});
    names.push_back(seg.name());
    groups.push_back(seg.compare_group());
    mask_bit.push_back(s);
  }
  if (segs.size() > 32) {
    return absl::InvalidArgumentError("at most 32 field segments");
  }
  if (segs.empty()) {  // a record-level CLK: one field, the whole filter
    segs.push_back({0, layout.total_bits() / 64});
    names.push_back("clk");
    groups.emplace_back();
    mask_bit.push_back(-1);
  }
  return Dataset(similarity::FilterMatrix(layout.total_bits(), std::move(segs)),
                 std::move(names), std::move(groups), std::move(mask_bit));
}

void Dataset::Reserve(size_t n) {
  filters_.Reserve(n);
  sources_.reserve(n);
  missing_.reserve(n);
  token_begin_.reserve(n + 1);
}

absl::Status Dataset::Add(uint32_t source,
                          const cohortlink::v1::EncodedRecord& r,
                          uint32_t partition) {
  if (r.filters().size() != filters_.words() * 8) {
    return absl::InvalidArgumentError(
        absl::StrCat("filters of ", r.filters().size() * 8,
                     " bits; the layout has ", filters_.words() * 64));
  }
  const size_t i = filters_.size();
  filters_.Add(r.filters());
  uint32_t miss = 0;
  for (size_t f = 0; f < fields_.size(); ++f) {
    bool absent = filters_.segment_popcount(i, f) == 0;
    if (mask_bit_[f] >= 0 && mask_bit_[f] < 32 &&
        ((r.missing_mask() >> mask_bit_[f]) & 1)) {
      absent = true;
    }
    if (absent) miss |= 1u << f;
  }
  missing_.push_back(miss);
  sources_.push_back(source);
  partitions_.push_back(partition);
  tokens_.insert(tokens_.end(), r.blocking_tokens().begin(),
                 r.blocking_tokens().end());
  token_begin_.push_back(tokens_.size());
  return absl::OkStatus();
}

absl::StatusOr<Dataset> Dataset::EmptyCopy() const {
  return Dataset(
      similarity::FilterMatrix(filters_.words() * 64, filters_.segments()),
      fields_, groups_, mask_bit_);
}

void Dataset::AddCopy(const Dataset& from, size_t i) {
  filters_.Add(
      absl::string_view(reinterpret_cast<const char*>(from.filters_.row(i)),
                        from.filters_.words() * 8));
  missing_.push_back(from.missing_[i]);
  sources_.push_back(from.sources_[i]);
  partitions_.push_back(from.partitions_[i]);
  auto t = from.tokens(i);
  tokens_.insert(tokens_.end(), t.begin(), t.end());
  token_begin_.push_back(tokens_.size());
}

bool Dataset::Identical(size_t i, size_t j) const {
  return missing_[i] == missing_[j] && partitions_[i] == partitions_[j] &&
         std::memcmp(filters_.row(i), filters_.row(j), filters_.words() * 8) ==
             0;
}

uint64_t Dataset::HashWords(size_t i, size_t begin, size_t end,
                            uint64_t h) const {
  const uint64_t* row = filters_.row(i);
  for (size_t w = begin; w < end; ++w) {
    h ^= row[w] + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdULL;
  }
  return h;
}

uint64_t Dataset::ContentHash(size_t i) const {
  uint64_t h =
      HashWords(i, 0, filters_.words(), 0x9e3779b97f4a7c15ULL ^ missing_[i]);
  return h ^ (h >> 33);
}

bool Dataset::missing(size_t i, size_t f) const {
  return (missing_[i] >> f) & 1;
}

uint64_t Dataset::ComparablePairs(bool within_source,
                                  const std::vector<uint8_t>* live,
                                  const std::vector<uint8_t>* fresh) const {
  // Pairs among the records `keep` selects.
  auto pairs_among = [&](auto keep) {
    absl::flat_hash_map<uint32_t, uint64_t> per_partition, per_source;
    for (size_t i = 0; i < size(); ++i) {
      if (!keep(i)) continue;
      ++per_partition[partitions_[i]];
      ++per_source[sources_[i]];
    }
    uint64_t pairs = 0;
    for (const auto& [p, c] : per_partition) pairs += c * (c - 1) / 2;
    if (!within_source)
      for (const auto& [s, c] : per_source) pairs -= c * (c - 1) / 2;
    return pairs;
  };
  auto is_live = [&](size_t i) { return live == nullptr || (*live)[i] != 0; };
  uint64_t all = pairs_among(is_live);
  if (fresh == nullptr) return all;
  return all -
         pairs_among([&](size_t i) { return is_live(i) && !(*fresh)[i]; });
}

}  // namespace cohortlink::blocking
