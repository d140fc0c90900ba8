// AVX-512 kernels with VPOPCNTDQ (compiled with -mavx512f -mavx512bw
// -mavx512vpopcntdq; only called after CPU detection).
#include <immintrin.h>

#include "linkage/similarity/kernels.h"

namespace cohortlink::similarity {
namespace {

// Loads words [i, i + 8) of `a`, zero beyond `words`.
inline __m512i Load(const uint64_t* a, size_t i, size_t words) {
  if (i + 8 <= words) return _mm512_loadu_si512(a + i);
  __mmask8 m = static_cast<__mmask8>((1u << (words - i)) - 1);
  return _mm512_maskz_loadu_epi64(m, a + i);
}

uint32_t Count(const uint64_t* a, size_t words) {
  __m512i acc = _mm512_setzero_si512();
  for (size_t i = 0; i < words; i += 8)
    acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(Load(a, i, words)));
  return static_cast<uint32_t>(_mm512_reduce_add_epi64(acc));
}

uint32_t AndCount(const uint64_t* a, const uint64_t* b, size_t words) {
  __m512i acc = _mm512_setzero_si512();
  for (size_t i = 0; i < words; i += 8) {
    acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(_mm512_and_si512(
                                    Load(a, i, words), Load(b, i, words))));
  }
  return static_cast<uint32_t>(_mm512_reduce_add_epi64(acc));
}

// Register tiling: 4 queries x 2 blocks (16 candidates). Each candidate
// register is loaded once and used by 4 queries; each query word is
// broadcast once and used against 16 candidates; the 8 accumulators hold
// per-candidate counts in their lanes, so no horizontal sums are needed.
template <int Q>
inline void Tile(const uint64_t* const* qs, const uint64_t* b0,
                 const uint64_t* b1, size_t words, uint32_t* out, size_t n,
                 size_t col) {
  __m512i acc0[Q], acc1[Q];
  for (int q = 0; q < Q; ++q) acc0[q] = acc1[q] = _mm512_setzero_si512();
  for (size_t k = 0; k < words; ++k) {
    __m512i c0 = _mm512_load_si512(b0 + k * kPanelLanes);
    __m512i c1 = b1 ? _mm512_load_si512(b1 + k * kPanelLanes) : c0;
    for (int q = 0; q < Q; ++q) {
      __m512i w = _mm512_set1_epi64(static_cast<long long>(qs[q][k]));
      acc0[q] = _mm512_add_epi64(acc0[q],
                                 _mm512_popcnt_epi64(_mm512_and_si512(w, c0)));
      if (b1)
        acc1[q] = _mm512_add_epi64(
            acc1[q], _mm512_popcnt_epi64(_mm512_and_si512(w, c1)));
    }
  }
  for (int q = 0; q < Q; ++q) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + q * n + col),
                        _mm512_cvtepi64_epi32(acc0[q]));
    if (b1)
      _mm256_storeu_si256(
          reinterpret_cast<__m256i*>(out + q * n + col + kPanelLanes),
          _mm512_cvtepi64_epi32(acc1[q]));
  }
}

void AndCountPanel(const uint64_t* const* queries, size_t nq,
                   const uint64_t* panel, size_t blocks, size_t words,
                   uint32_t* out) {
  const size_t n = blocks * kPanelLanes;
  const size_t block_words = words * kPanelLanes;
  for (size_t b = 0; b < blocks; b += 2) {
    const uint64_t* b0 = panel + b * block_words;
    const uint64_t* b1 = b + 1 < blocks ? b0 + block_words : nullptr;
    size_t q = 0;
    for (; q + 4 <= nq; q += 4)
      Tile<4>(queries + q, b0, b1, words, out + q * n, n, b * kPanelLanes);
    for (; q < nq; ++q)
      Tile<1>(queries + q, b0, b1, words, out + q * n, n, b * kPanelLanes);
  }
}

}  // namespace

const KernelTable& Avx512Kernels() {
  static const KernelTable t{Isa::kAvx512, Count, AndCount, AndCountPanel};
  return t;
}

}  // namespace cohortlink::similarity
