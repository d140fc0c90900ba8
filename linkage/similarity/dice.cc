#include "linkage/similarity/dice.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <thread>

namespace cohortlink::similarity {

double PairDice(const FilterMatrix& a, size_t i, const FilterMatrix& b,
                size_t j, const KernelTable& k) {
  return Dice(k.and_count(a.row(i), b.row(j), a.words()), a.popcount(i),
              b.popcount(j));
}

double SegmentDice(const FilterMatrix& a, size_t i, const FilterMatrix& b,
                   size_t j, absl::Span<double> segment_dice,
                   const KernelTable& k) {
  const uint64_t* ra = a.row(i);
  const uint64_t* rb = b.row(j);
  uint32_t covered = 0, total = 0;
  for (size_t s = 0; s < a.segments().size(); ++s) {
    const SegmentWords& w = a.segments()[s];
    uint32_t c = k.and_count(ra + w.begin, rb + w.begin, w.end - w.begin);
    segment_dice[s] =
        Dice(c, a.segment_popcount(i, s), b.segment_popcount(j, s));
    total += c;
    covered += w.end - w.begin;
  }
  if (covered != a.words()) {  // segments leave words out (or overlap)
    total = k.and_count(ra, rb, a.words());
  }
  return Dice(total, a.popcount(i), b.popcount(j));
}

void PackPanel(const FilterMatrix& m, absl::Span<const uint32_t> ids,
               AlignedWords* panel) {
  const size_t words = m.words();
  const size_t blocks = (ids.size() + kPanelLanes - 1) / kPanelLanes;
  panel->Resize(0);
  panel->Resize(blocks * words * kPanelLanes);
  uint64_t* out = panel->data();
  for (size_t c = 0; c < ids.size(); ++c) {
    const uint64_t* row = m.row(ids[c]);
    uint64_t* dst =
        out + (c / kPanelLanes) * words * kPanelLanes + c % kPanelLanes;
    for (size_t w = 0; w < words; ++w) dst[w * kPanelLanes] = row[w];
  }
}

namespace {

std::vector<uint32_t> ByPopcount(const FilterMatrix& m) {
  std::vector<uint32_t> order(m.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](uint32_t x, uint32_t y) {
    return m.popcount(x) < m.popcount(y);
  });
  return order;
}

constexpr size_t kGroup = 32;         // queries per kernel call
constexpr size_t kChunkBlocks = 256;  // 2048 candidates per kernel call

}  // namespace

std::vector<ScoredPair> DiceSearch(const FilterMatrix& a, const FilterMatrix& b,
                                   double threshold, int threads,
                                   SearchStats* stats, const KernelTable& k) {
  const size_t words = a.words();
  const float t = static_cast<float>(threshold);
  std::vector<uint32_t> order_a = ByPopcount(a), order_b = ByPopcount(b);
  std::vector<uint32_t> pops_b(order_b.size());
  for (size_t c = 0; c < order_b.size(); ++c)
    pops_b[c] = b.popcount(order_b[c]);
  AlignedWords panel;
  PackPanel(b, order_b, &panel);
  const size_t groups = (order_a.size() + kGroup - 1) / kGroup;

  threads = std::max(1, threads);
  std::vector<std::vector<ScoredPair>> found(threads);
  std::vector<SearchStats> st(threads);
  auto work = [&](int tid) {
    std::vector<uint32_t> out(kGroup * kChunkBlocks * kPanelLanes);
    const uint64_t* qs[kGroup];
    for (size_t g = tid; g < groups; g += threads) {
      size_t q0 = g * kGroup, nq = std::min(kGroup, order_a.size() - q0);
      for (size_t q = 0; q < nq; ++q) qs[q] = a.row(order_a[q0 + q]);
      uint32_t pmin = a.popcount(order_a[q0]);
      uint32_t pmax = a.popcount(order_a[q0 + nq - 1]);
      // Candidates outside [t pmin / (2 - t), pmax (2 - t) / t] cannot
      // reach the threshold with any query of the group.
      double lo_pop = std::ceil(t * pmin / (2.0 - t) - 1e-9);
      double hi_pop = std::floor(pmax * (2.0 - t) / t + 1e-9);
      size_t lo =
          std::lower_bound(pops_b.begin(), pops_b.end(),
                           static_cast<uint32_t>(std::max(0.0, lo_pop))) -
          pops_b.begin();
      size_t hi = hi_pop >= static_cast<double>(UINT32_MAX)
                      ? pops_b.size()
                      : std::upper_bound(pops_b.begin(), pops_b.end(),
                                         static_cast<uint32_t>(hi_pop)) -
                            pops_b.begin();
      if (lo >= hi) continue;
      size_t b_lo = lo / kPanelLanes,
             b_hi = (hi + kPanelLanes - 1) / kPanelLanes;
      for (size_t cb = b_lo; cb < b_hi; cb += kChunkBlocks) {
        size_t nb = std::min(kChunkBlocks, b_hi - cb);
        size_t n = nb * kPanelLanes;
        k.and_count_panel(qs, nq, panel.data() + cb * words * kPanelLanes, nb,
                          words, out.data());
        size_t c_lo = std::max(lo, cb * kPanelLanes);
        size_t c_hi = std::min(hi, cb * kPanelLanes + n);
        st[tid].comparisons += nq * (c_hi - c_lo);
        for (size_t q = 0; q < nq; ++q) {
          const uint32_t pa = a.popcount(order_a[q0 + q]);
          const uint32_t* row = out.data() + q * n - cb * kPanelLanes;
          for (size_t c = c_lo; c < c_hi; ++c) {
            if (2.0 * row[c] >= threshold * (pa + pops_b[c]) &&
                pa + pops_b[c] > 0) {
              found[tid].push_back(
                  {order_a[q0 + q], order_b[c],
                   static_cast<float>(Dice(row[c], pa, pops_b[c]))});
            }
          }
        }
      }
    }
  };
  if (threads == 1) {
    work(0);
  } else {
    std::vector<std::thread> pool;
    for (int i = 0; i < threads; ++i) pool.emplace_back(work, i);
    for (auto& th : pool) th.join();
  }
  std::vector<ScoredPair> all;
  SearchStats total;
  for (int i = 0; i < threads; ++i) {
    all.insert(all.end(), found[i].begin(), found[i].end());
    total.comparisons += st[i].comparisons;
  }
  total.pruned = a.size() * b.size() - total.comparisons;
  if (stats != nullptr) *stats = total;
  return all;
}

}  // namespace cohortlink::similarity
