// Portable kernels: plain C++, compiled for the baseline target.
#include "linkage/similarity/kernels.h"

namespace cohortlink::similarity {
namespace {

uint32_t Count(const uint64_t* a, size_t words) {
  uint32_t n = 0;
  for (size_t i = 0; i < words; ++i) n += __builtin_popcountll(a[i]);
  return n;
}

uint32_t AndCount(const uint64_t* a, const uint64_t* b, size_t words) {
  uint32_t n = 0;
  for (size_t i = 0; i < words; ++i) n += __builtin_popcountll(a[i] & b[i]);
  return n;
}

void AndCountPanel(const uint64_t* const* queries, size_t nq,
                   const uint64_t* panel, size_t blocks, size_t words,
                   uint32_t* out) {
  const size_t n = blocks * kPanelLanes;
  for (size_t q = 0; q < nq; ++q) {
    for (size_t b = 0; b < blocks; ++b) {
      uint32_t acc[kPanelLanes] = {};
      const uint64_t* block = panel + b * words * kPanelLanes;
      for (size_t k = 0; k < words; ++k) {
        for (size_t l = 0; l < kPanelLanes; ++l) {
          acc[l] +=
              __builtin_popcountll(queries[q][k] & block[k * kPanelLanes + l]);
        }
      }
      for (size_t l = 0; l < kPanelLanes; ++l)
        out[q * n + b * kPanelLanes + l] = acc[l];
    }
  }
}

}  // namespace

const KernelTable& PortableKernels() {
  static const KernelTable t{Isa::kPortable, Count, AndCount, AndCountPanel};
  return t;
}

}  // namespace cohortlink::similarity
