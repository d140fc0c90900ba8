#include "linkage/blocking/blocking.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <random>
#include <thread>

namespace cohortlink::blocking {
namespace {

// An index entry: a block key and a record.
uint64_t Entry(uint32_t key, uint32_t row) { return uint64_t{key} << 32 | row; }
uint32_t KeyOf(uint64_t entry) { return static_cast<uint32_t>(entry >> 32); }
uint32_t RowOf(uint64_t entry) { return static_cast<uint32_t>(entry); }

// A 32-bit block key from a token or a table's sampled bits.
uint32_t Key32(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  return static_cast<uint32_t>(k >> 32);
}

// Record i's key in an LSH table sampling `bits`.
uint32_t LshKey(const Dataset& data, uint32_t i,
                const std::vector<uint32_t>& bits) {
  const uint64_t* row = data.filters().row(i);
  uint64_t key = 0;
  for (size_t b = 0; b < bits.size(); ++b)
    key |= ((row[bits[b] / 64] >> (bits[b] % 64)) & 1) << b;
  return Key32(key);
}

// The sorted entries of `rows` in the table sampling `bits` (records with
// empty filters are in no block).
void HashTable(const Dataset& data, absl::Span<const uint32_t> rows,
               const std::vector<uint32_t>& bits, std::vector<uint64_t>* out) {
  out->clear();
  if (bits.empty()) return;
  out->reserve(rows.size());
  for (uint32_t i : rows) {
    if (data.filters().popcount(i) == 0) continue;
    out->push_back(Entry(LshKey(data, i, bits), i));
  }
  std::sort(out->begin(), out->end());
}

void HashTokens(const Dataset& data, absl::Span<const uint32_t> rows,
                std::vector<uint64_t>* out) {
  out->clear();
  for (uint32_t i : rows)
    for (uint64_t t : data.tokens(i)) out->push_back(Entry(Key32(t), i));
  std::sort(out->begin(), out->end());
}

// Calls fn(begin, end) for each run of equal keys in sorted `entries`.
template <typename Fn>
void ForEachRun(const std::vector<uint64_t>& entries, Fn fn) {
  for (size_t s = 0; s < entries.size();) {
    size_t e = s + 1;
    while (e < entries.size() && KeyOf(entries[e]) == KeyOf(entries[s])) ++e;
    fn(s, e);
    s = e;
  }
}

// The pairs the runs of `entries` would give, leaving out runs longer than
// `max_block`.
uint64_t CountRunPairs(const std::vector<uint64_t>& entries, size_t max_block) {
  uint64_t pairs = 0;
  ForEachRun(entries, [&](size_t s, size_t e) {
    if (e - s <= max_block) pairs += uint64_t{e - s} * (e - s - 1) / 2;
  });
  return pairs;
}

// The largest block size cap <= `max_block` under which the runs of
// `entries` give at most `budget` pairs: the largest blocks are dropped
// first, as they hold the least information per pair.
uint32_t CapForBudget(const std::vector<uint64_t>& entries, size_t max_block,
                      uint64_t budget) {
  std::vector<uint64_t> runs_of_size(max_block + 1, 0);
  ForEachRun(entries, [&](size_t s, size_t e) {
    if (e - s <= max_block) ++runs_of_size[e - s];
  });
  uint64_t pairs = 0;
  for (size_t k = 2; k <= max_block; ++k) {
    uint64_t more = runs_of_size[k] * (uint64_t{k} * (k - 1) / 2);
    if (pairs + more > budget) return static_cast<uint32_t>(k - 1);
    pairs += more;
  }
  return static_cast<uint32_t>(max_block);
}

// Appends the pairs of `members` (a block) with a fresh record, within
// one partition, and across sources unless within_source.
void EmitGroup(absl::Span<const uint32_t> members, const Dataset& data,
               const std::vector<uint8_t>& fresh, const BlockingOptions& o,
               std::vector<Pair>* pairs, uint64_t* emitted) {
  for (size_t x = 0; x < members.size(); ++x) {
    for (size_t y = x + 1; y < members.size(); ++y) {
      uint32_t a = members[x], b = members[y];
      if (!fresh[a] && !fresh[b]) continue;
      if (a == b || data.partition(a) != data.partition(b)) continue;
      if (!o.within_source && data.source(a) == data.source(b)) continue;
      if (a > b) std::swap(a, b);
      pairs->push_back({a, b});
      ++*emitted;
    }
  }
}

// The counts EmitRuns adds to.
struct EmitCounts {
  uint64_t emitted = 0, oversized = 0, split = 0;
};

// Appends the pairs of every block of `entries` holding a fresh record and
// at most `cap` live ones (a < b packed as a << 32 | b); a larger block is
// split by each of `splits` and its groups within the cap give theirs.
void EmitRuns(const std::vector<uint64_t>& entries, const Dataset& data,
              const std::vector<uint8_t>& live,
              const std::vector<uint8_t>& fresh, const BlockingOptions& o,
              uint32_t cap, const std::vector<std::vector<uint32_t>>& splits,
              std::vector<Pair>* pairs, EmitCounts* counts) {
  std::vector<uint32_t> members, group;
  std::vector<uint64_t> keyed;
  ForEachRun(entries, [&](size_t s, size_t e) {
    if (e - s < 2) return;  // most blocks: nothing to pair
    members.clear();
    bool any_fresh = false;
    for (size_t x = s; x < e; ++x) {
      uint32_t r = RowOf(entries[x]);
      if (!live[r]) continue;
      members.push_back(r);
      any_fresh |= fresh[r] != 0;
    }
    if (!any_fresh || members.size() < 2) return;
    if (members.size() <= cap) {
      EmitGroup(members, data, fresh, o, pairs, &counts->emitted);
      return;
    }
    ++counts->oversized;
    for (const auto& bits : splits) {
      keyed.clear();
      for (uint32_t r : members)
        keyed.push_back(Entry(LshKey(data, r, bits), r));
      std::sort(keyed.begin(), keyed.end());
      ForEachRun(keyed, [&](size_t gs, size_t ge) {
        if (ge - gs < 2 || ge - gs > cap) return;
        group.clear();
        for (size_t x = gs; x < ge; ++x) group.push_back(RowOf(keyed[x]));
        EmitGroup(group, data, fresh, o, pairs, &counts->split);
      });
    }
  });
}

void SortUnique(std::vector<Pair>* v) {
  auto packed = [](const Pair& p) {
    return uint64_t{p.first} << 32 | p.second;
  };
  std::sort(v->begin(), v->end(), [&](const Pair& x, const Pair& y) {
    return packed(x) < packed(y);
  });
  v->erase(std::unique(v->begin(), v->end()), v->end());
}

// Runs work(t) for t in [0, threads).
template <typename Fn>
void Parallel(int threads, Fn work) {
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& th : pool) th.join();
}

}  // namespace

BlockIndex BlockIndex::Build(const Dataset& data,
                             absl::Span<const uint32_t> rows,
                             const BlockingOptions& o, const BlockPlan* given) {
  BlockIndex index;
  const size_t n = rows.size();
  const int threads = std::max(1, o.threads);
  // (a) keyed blocking tokens: one block per distinct token.
  HashTokens(data, rows, &index.tokens_);
  if (given != nullptr) {
    index.plan_ = *given;
    index.lsh_.resize(given->tables.size());
    Parallel(threads, [&](int tid) {
      for (size_t t = tid; t < given->tables.size(); t += threads)
        HashTable(data, rows, given->tables[t].bits, &index.lsh_[t]);
    });
    return index;
  }
  index.plan_.token_cap = CapForBudget(
      index.tokens_, o.max_block,
      static_cast<uint64_t>(o.token_pairs_per_record * static_cast<double>(n)));

  // (b) Hamming LSH by bit sampling. Bits set in almost every filter or in
  // almost none say nothing, and correlated structure (dates, positional
  // digits) makes uniform sampling collide far too often, so each table
  // samples informative bits until the chance that two random records
  // agree on all of them, prod(q_b^2 + (1 - q_b)^2) over the sampled bits'
  // frequencies q_b, is below 1 / n; then the table's measured load decides
  // (see BlockingOptions::lsh_pairs_per_record).
  const size_t total_bits = data.filters().words() * 64;
  std::vector<double> freq(total_bits, 0);
  const size_t step = std::max<size_t>(1, n / 20000);  // a sample suffices
  size_t sampled = 0;
  for (size_t k = 0; k < n; k += step, ++sampled) {
    const uint64_t* row = data.filters().row(rows[k]);
    for (size_t b = 0; b < total_bits; ++b)
      freq[b] += (row[b / 64] >> (b % 64)) & 1;
  }
  // Tables are drawn per group of bits: with field segments, each pair of
  // fields (a true match nearly always has two fields (almost) equal, and
  // two fields together are rare enough to keep buckets small) and each
  // single field (a date of birth alone makes small blocks, and finds the
  // pairs that agree on nothing else: swapped names, a missing postcode);
  // with a record-level CLK, the whole filter.
  std::vector<std::vector<uint32_t>> groups;
  auto informative_in = [&](const similarity::SegmentWords& w,
                            std::vector<uint32_t>* out) {
    for (size_t b = w.begin * 64; b < w.end * 64; ++b) {
      if (freq[b] > 0.02 && freq[b] < 0.98)
        out->push_back(static_cast<uint32_t>(b));
    }
  };
  for (size_t b = 0; b < total_bits; ++b)
    freq[b] /= std::max<size_t>(sampled, 1);
  const auto& segs = data.filters().segments();
  int per_group = o.lsh_tables;
  if (data.num_fields() >= 2 && segs.size() == data.num_fields()) {
    for (size_t f = 0; f < segs.size(); ++f) {
      for (size_t g = f + 1; g < segs.size(); ++g) {
        groups.emplace_back();
        informative_in(segs[f], &groups.back());
        informative_in(segs[g], &groups.back());
      }
    }
    for (size_t f = 0; o.single_field_tables && f < segs.size(); ++f) {
      groups.emplace_back();
      informative_in(segs[f], &groups.back());
    }
    per_group = std::max(1, o.lsh_tables / static_cast<int>(groups.size()));
  } else {
    groups.emplace_back();
    informative_in({0, static_cast<uint32_t>(data.filters().words())},
                   &groups.back());
  }
  // Split samples for oversized blocks: tokens by the whole filter, each
  // table by the bits outside its group's fields.
  std::vector<uint32_t> all_bits;
  informative_in({0, static_cast<uint32_t>(data.filters().words())}, &all_bits);
  auto draw_splits = [&](const std::vector<uint32_t>& from, uint64_t stream) {
    std::vector<std::vector<uint32_t>> splits;
    if (from.empty() || o.split_bits <= 0) return splits;
    std::mt19937_64 rng(o.seed ^ (0xd1b54a32d192ed03ULL * stream));
    std::uniform_int_distribution<size_t> pos(0, from.size() - 1);
    for (int k = 0; k < o.split_samples; ++k) {
      splits.emplace_back();
      for (int b = 0; b < std::min(o.split_bits, 64); ++b)
        splits.back().push_back(from[pos(rng)]);
    }
    return splits;
  };
  index.plan_.token_splits = draw_splits(all_bits, 1);
  const bool shrink = groups.size() == 1;
  if (o.lsh_tables <= 0 || n < 2) return index;
  const double target = std::log(1.0 / std::max<size_t>(n, 2));
  const uint64_t budget = static_cast<uint64_t>(
      std::max(1.0, o.lsh_pairs_per_record * static_cast<double>(n)));
  constexpr size_t kMinShrunkBits = 8;
  index.plan_.tables.resize(groups.size() * per_group);
  index.lsh_.resize(groups.size() * per_group);
  // Groups are hashed in parallel, each with its own random stream, so the
  // result does not depend on the number of threads.
  Parallel(threads, [&](int tid) {
    for (size_t g = tid; g < groups.size(); g += threads) {
      const auto& bits = groups[g];
      if (bits.size() < 8) continue;
      std::mt19937_64 rng(o.seed ^ (0x9e3779b97f4a7c15ULL * (g + 1)));
      std::uniform_int_distribution<size_t> pos(0, bits.size() - 1);
      size_t want = 0;  // bits the group's last table needed
      for (int t = 0; t < per_group; ++t) {
        BlockPlan::Table& table = index.plan_.tables[g * per_group + t];
        std::vector<uint64_t>& entries = index.lsh_[g * per_group + t];
        std::vector<uint32_t>& sample = table.bits;
        double log_agree = 0;
        // After the first table of a record-level CLK, each table samples
        // as many bits as that one settled on (below).
        const bool fixed = shrink && want > 0;
        while (sample.size() < 64 && sample.size() < bits.size() &&
               (o.lsh_bits > 0 ? static_cast<int>(sample.size()) < o.lsh_bits
                : fixed        ? sample.size() < want
                        : (log_agree > target || sample.size() < want))) {
          uint32_t b = bits[pos(rng)];
          sample.push_back(b);
          log_agree +=
              std::log(freq[b] * freq[b] + (1 - freq[b]) * (1 - freq[b]));
        }
        // Random pairs are not independent across bits (a popular name
        // sets the same bits in many filters), so the table's real load is
        // measured, and bits are added until it is within budget.
        while (true) {
          HashTable(data, rows, sample, &entries);
          if (o.lsh_bits > 0 || sample.size() + 4 > 64 ||
              sample.size() >= bits.size() ||
              CountRunPairs(entries, o.max_block) <= budget) {
            break;
          }
          for (int k = 0; k < 4; ++k) sample.push_back(bits[pos(rng)]);
        }
        // A record-level CLK has one group, so its tables carry all of
        // blocking's recall; its bits are correlated (common tokens set the
        // same bits in most filters), and the independence estimate asks
        // for more bits than the load needs. The first table drops bits
        // while its measured load stays within budget, which raises every
        // table's chance of catching a near match.
        if (shrink && !fixed && o.lsh_bits <= 0) {
          std::vector<uint64_t> fewer;
          while (sample.size() > kMinShrunkBits) {
            std::vector<uint32_t> trial(sample.begin(), sample.end() - 1);
            HashTable(data, rows, trial, &fewer);
            if (CountRunPairs(fewer, o.max_block) > budget) break;
            sample = std::move(trial);
            entries.swap(fewer);
          }
        }
        want = sample.size();
        // Where no number of bits can split them (identical field pairs:
        // every "John Smith"), the largest blocks are split by other
        // fields' bits, or left to other tables.
        table.cap = CapForBudget(entries, o.max_block, budget);
        std::vector<uint32_t> mine = bits, outside;
        std::sort(mine.begin(), mine.end());
        std::set_difference(all_bits.begin(), all_bits.end(), mine.begin(),
                            mine.end(), std::back_inserter(outside));
        if (outside.size() < 8) outside = all_bits;
        table.splits = draw_splits(outside, 2 + g * per_group + t);
      }
    }
  });
  return index;
}

void BlockIndex::Add(const Dataset& data, absl::Span<const uint32_t> rows,
                     int threads) {
  auto merge = [](std::vector<uint64_t>* into, std::vector<uint64_t>* more) {
    size_t old = into->size();
    into->insert(into->end(), more->begin(), more->end());
    std::inplace_merge(into->begin(), into->begin() + old, into->end());
  };
  std::vector<uint64_t> more;
  HashTokens(data, rows, &more);
  merge(&tokens_, &more);
  threads = std::max(1, threads);
  Parallel(threads, [&](int tid) {
    std::vector<uint64_t> added;
    for (size_t t = tid; t < lsh_.size(); t += threads) {
      HashTable(data, rows, plan_.tables[t].bits, &added);
      merge(&lsh_[t], &added);
    }
  });
}

std::vector<Pair> BlockIndex::Pairs(const Dataset& data,
                                    const std::vector<uint8_t>& live,
                                    const std::vector<uint8_t>& fresh,
                                    const BlockingOptions& o,
                                    BlockingStats* stats) const {
  BlockingStats st;
  std::vector<Pair> pairs;
  EmitCounts tokens;
  EmitRuns(tokens_, data, live, fresh, o, plan_.token_cap, plan_.token_splits,
           &pairs, &tokens);
  st.token_pairs = tokens.emitted;
  st.oversized_blocks = tokens.oversized;
  st.split_pairs = tokens.split;
  const int threads = std::max(1, o.threads);
  struct Out {
    std::vector<Pair> pairs;
    EmitCounts counts;
  };
  std::vector<Out> outs(threads);
  Parallel(threads, [&](int tid) {
    Out& out = outs[tid];
    // Duplicates (pairs found by several tables) are removed whenever the
    // pairs have doubled since the last time, which bounds memory to about
    // twice the distinct pairs and the sorting to a constant factor.
    size_t limit = size_t{32} << 20;
    for (size_t t = tid; t < lsh_.size(); t += threads) {
      EmitRuns(lsh_[t], data, live, fresh, o, plan_.tables[t].cap,
               plan_.tables[t].splits, &out.pairs, &out.counts);
      if (out.pairs.size() > limit) {
        SortUnique(&out.pairs);
        limit = std::max(limit, 2 * out.pairs.size());
      }
    }
    SortUnique(&out.pairs);
  });
  int tables = 0, max_bits = 0;
  for (const auto& t : plan_.tables) {
    if (t.bits.empty()) continue;
    ++tables;
    max_bits = std::max(max_bits, static_cast<int>(t.bits.size()));
  }
  for (Out& out : outs) {
    pairs.insert(pairs.end(), out.pairs.begin(), out.pairs.end());
    std::vector<Pair>().swap(out.pairs);
    st.lsh_pairs += out.counts.emitted;
    st.oversized_blocks += out.counts.oversized;
    st.split_pairs += out.counts.split;
  }
  st.lsh = {tables, max_bits};
  SortUnique(&pairs);
  pairs.shrink_to_fit();
  st.candidates = pairs.size();
  st.total_pairs = data.ComparablePairs(o.within_source, &live, &fresh);
  if (stats != nullptr) *stats = st;
  return pairs;
}

size_t BlockIndex::entries() const {
  size_t n = tokens_.size();
  for (const auto& t : lsh_) n += t.size();
  return n;
}

std::vector<Pair> Candidates(const Dataset& data, const BlockingOptions& o,
                             BlockingStats* stats) {
  std::vector<uint32_t> rows(data.size());
  for (uint32_t i = 0; i < rows.size(); ++i) rows[i] = i;
  BlockIndex index = BlockIndex::Build(data, rows, o);
  std::vector<uint8_t> all(data.size(), 1);
  return index.Pairs(data, all, all, o, stats);
}

}  // namespace cohortlink::blocking
