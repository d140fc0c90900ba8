#include "linkage/blocking/blocking.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>

namespace cohortlink::blocking {
namespace {

using Pair = std::pair<uint32_t, uint32_t>;

// The pairs the runs of equal keys in `keyed` (sorted) would give, leaving
// out runs longer than `max_block`.
uint64_t CountRunPairs(const std::vector<std::pair<uint64_t, uint32_t>>& keyed,
                       size_t max_block) {
  uint64_t pairs = 0;
  for (size_t s = 0; s < keyed.size();) {
    size_t e = s + 1;
    while (e < keyed.size() && keyed[e].first == keyed[s].first) ++e;
    if (e - s <= max_block) pairs += uint64_t{e - s} * (e - s - 1) / 2;
    s = e;
  }
  return pairs;
}

// The largest block size cap <= `max_block` under which the runs of
// `keyed` (sorted) give at most `budget` pairs: the largest blocks are
// dropped first, as they hold the least information per pair.
size_t CapForBudget(const std::vector<std::pair<uint64_t, uint32_t>>& keyed,
                    size_t max_block, uint64_t budget) {
  std::vector<uint64_t> runs_of_size(max_block + 1, 0);
  for (size_t s = 0; s < keyed.size();) {
    size_t e = s + 1;
    while (e < keyed.size() && keyed[e].first == keyed[s].first) ++e;
    if (e - s <= max_block) ++runs_of_size[e - s];
    s = e;
  }
  uint64_t pairs = 0;
  for (size_t k = 2; k <= max_block; ++k) {
    uint64_t more = runs_of_size[k] * (uint64_t{k} * (k - 1) / 2);
    if (pairs + more > budget) return k - 1;
    pairs += more;
  }
  return max_block;
}

// Appends the pairs of every run of equal keys in `keyed` (sorted by key)
// of at most `max_block` records.
void EmitRuns(std::vector<std::pair<uint64_t, uint32_t>>* keyed,
              const Dataset& data, const BlockingOptions& o, size_t max_block,
              std::vector<uint64_t>* pairs, uint64_t* emitted,
              uint64_t* oversized) {
  for (size_t s = 0; s < keyed->size();) {
    size_t e = s + 1;
    while (e < keyed->size() && (*keyed)[e].first == (*keyed)[s].first) ++e;
    if (e - s > max_block) {
      ++*oversized;
    } else {
      for (size_t x = s; x < e; ++x) {
        for (size_t y = x + 1; y < e; ++y) {
          uint32_t a = (*keyed)[x].second, b = (*keyed)[y].second;
          if (a == b || data.partition(a) != data.partition(b)) continue;
          if (!o.within_source && data.source(a) == data.source(b)) continue;
          if (a > b) std::swap(a, b);
          pairs->push_back(uint64_t{a} << 32 | b);
          ++*emitted;
        }
      }
    }
    s = e;
  }
}

}  // namespace

std::vector<Pair> Candidates(const Dataset& data, const BlockingOptions& o,
                             BlockingStats* stats) {
  BlockingStats st;
  const size_t n = data.size();
  std::vector<uint64_t> pairs;
  std::vector<std::pair<uint64_t, uint32_t>> keyed;
  // (a) keyed blocking tokens: one block per distinct token.
  for (uint32_t i = 0; i < n; ++i)
    for (uint64_t t : data.tokens(i)) keyed.push_back({t, i});
  std::sort(keyed.begin(), keyed.end());
  EmitRuns(&keyed, data, o,
           CapForBudget(keyed, o.max_block,
                        static_cast<uint64_t>(o.token_pairs_per_record * n)),
           &pairs, &st.token_pairs, &st.oversized_blocks);

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
  for (uint32_t i = 0; i < n; i += step, ++sampled) {
    const uint64_t* row = data.filters().row(i);
    for (size_t b = 0; b < total_bits; ++b)
      freq[b] += (row[b / 64] >> (b % 64)) & 1;
  }
  // Tables are drawn per group of bits: with field segments, each pair of
  // fields (a true match nearly always has two fields (almost) equal, and
  // two fields together are rare enough to keep buckets small); with a
  // record-level CLK, the whole filter.
  std::vector<std::vector<size_t>> groups;
  auto informative_in = [&](const similarity::SegmentWords& w,
                            std::vector<size_t>* out) {
    for (size_t b = w.begin * 64; b < w.end * 64; ++b) {
      if (freq[b] > 0.02 && freq[b] < 0.98) out->push_back(b);
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
    per_group = std::max(1, o.lsh_tables / static_cast<int>(groups.size()));
  } else {
    groups.emplace_back();
    informative_in({0, static_cast<uint32_t>(data.filters().words())},
                   &groups.back());
  }
  LshParams lsh;
  const double target = std::log(1.0 / std::max<size_t>(n, 2));
  const uint64_t budget = static_cast<uint64_t>(
      std::max(1.0, o.lsh_pairs_per_record * static_cast<double>(n)));
  // Groups are hashed in parallel, each with its own random stream, so the
  // result does not depend on the number of threads.
  const int threads = std::max(1, o.threads);
  struct Out {
    std::vector<uint64_t> pairs;
    uint64_t emitted = 0, oversized = 0;
    int tables = 0, max_bits = 0;
  };
  std::vector<Out> outs(threads);
  auto work = [&](int tid) {
    Out& out = outs[tid];
    std::vector<std::pair<uint64_t, uint32_t>> local;
    for (size_t g = tid; o.lsh_tables > 0 && n >= 2 && g < groups.size();
         g += threads) {
      const auto& bits = groups[g];
      if (bits.size() < 8) continue;
      std::mt19937_64 rng(o.seed ^ (0x9e3779b97f4a7c15ULL * (g + 1)));
      std::uniform_int_distribution<size_t> pos(0, bits.size() - 1);
      size_t want = 0;  // bits the group's last table needed
      for (int t = 0; t < per_group; ++t) {
        ++out.tables;
        std::vector<size_t> sample;
        double log_agree = 0;
        while (sample.size() < 64 && sample.size() < bits.size() &&
               (o.lsh_bits > 0
                    ? static_cast<int>(sample.size()) < o.lsh_bits
                    : (log_agree > target || sample.size() < want))) {
          size_t b = bits[pos(rng)];
          sample.push_back(b);
          log_agree +=
              std::log(freq[b] * freq[b] + (1 - freq[b]) * (1 - freq[b]));
        }
        // Random pairs are not independent across bits (a popular name
        // sets the same bits in many filters), so the table's real load is
        // measured, and bits are added until it is within budget.
        while (true) {
          local.clear();
          for (uint32_t i = 0; i < n; ++i) {
            const uint64_t* row = data.filters().row(i);
            if (data.filters().popcount(i) == 0) continue;
            uint64_t key = 0;
            for (size_t b = 0; b < sample.size(); ++b)
              key |= ((row[sample[b] / 64] >> (sample[b] % 64)) & 1) << b;
            local.push_back({key, i});
          }
          std::sort(local.begin(), local.end());
          if (o.lsh_bits > 0 || sample.size() + 4 > 64 ||
              sample.size() >= bits.size() ||
              CountRunPairs(local, o.max_block) <= budget) {
            break;
          }
          for (int k = 0; k < 4; ++k) sample.push_back(bits[pos(rng)]);
        }
        want = sample.size();
        out.max_bits = std::max(out.max_bits, static_cast<int>(sample.size()));
        // Where no number of bits can split them (identical field pairs:
        // every "John Smith"), the largest blocks are left to other tables.
        EmitRuns(&local, data, o, CapForBudget(local, o.max_block, budget),
                 &out.pairs, &out.emitted, &out.oversized);
        if (out.pairs.size() > (32u << 20)) {  // keep memory in check
          std::sort(out.pairs.begin(), out.pairs.end());
          out.pairs.erase(std::unique(out.pairs.begin(), out.pairs.end()),
                          out.pairs.end());
        }
      }
    }
  };
  {
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(work, t);
    work(0);
    for (auto& th : pool) th.join();
  }
  int max_bits = 0;
  for (Out& out : outs) {
    pairs.insert(pairs.end(), out.pairs.begin(), out.pairs.end());
    std::vector<uint64_t>().swap(out.pairs);
    st.lsh_pairs += out.emitted;
    st.oversized_blocks += out.oversized;
    lsh.tables += out.tables;
    max_bits = std::max(max_bits, out.max_bits);
  }
  lsh.bits = max_bits;
  st.lsh = lsh;
  std::sort(pairs.begin(), pairs.end());
  pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
  std::vector<Pair> out;
  out.reserve(pairs.size());
  for (uint64_t p : pairs)
    out.push_back({static_cast<uint32_t>(p >> 32), static_cast<uint32_t>(p)});
  st.candidates = out.size();
  st.total_pairs = data.ComparablePairs(o.within_source);
  if (stats != nullptr) *stats = st;
  return out;
}

}  // namespace cohortlink::blocking
