// AVX2 kernels (compiled with -mavx2 -mpopcnt; only called after CPU
// detection). AVX2 has no vector popcount: bytes are counted with two
// 16-entry table lookups (VPSHUFB on nibbles) and summed with VPSADBW
// (Mula, Kurz and Lemire, "Faster population counts using AVX2
// instructions", 2018).
#include <immintrin.h>

#include "linkage/similarity/kernels.h"

namespace cohortlink::similarity {
namespace {

inline __m256i ByteCounts(__m256i v) {
  const __m256i table =
      _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1,
                       2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  const __m256i low = _mm256_set1_epi8(0x0f);
  __m256i lo = _mm256_and_si256(v, low);
  __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
  return _mm256_add_epi8(_mm256_shuffle_epi8(table, lo),
                         _mm256_shuffle_epi8(table, hi));
}

inline uint32_t Horizontal(__m256i v) {  // sum of 4 uint64 lanes
  __m128i s =
      _mm_add_epi64(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  return static_cast<uint32_t>(_mm_cvtsi128_si64(s) + _mm_extract_epi64(s, 1));
}

uint32_t Count(const uint64_t* a, size_t words) {
  uint32_t n = 0;
  size_t i = 0;
  for (; i + 4 <= words; i += 4) {
    __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i));
    n += Horizontal(_mm256_sad_epu8(ByteCounts(v), _mm256_setzero_si256()));
  }
  for (; i < words; ++i) n += _mm_popcnt_u64(a[i]);
  return n;
}

uint32_t AndCount(const uint64_t* a, const uint64_t* b, size_t words) {
  __m256i acc = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 4 <= words; i += 4) {
    __m256i v = _mm256_and_si256(
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i)),
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i)));
    acc = _mm256_add_epi64(
        acc, _mm256_sad_epu8(ByteCounts(v), _mm256_setzero_si256()));
  }
  uint32_t n = Horizontal(acc);
  for (; i < words; ++i) n += _mm_popcnt_u64(a[i] & b[i]);
  return n;
}

// Two queries against one block of 8 candidates (two registers of 4 lanes).
// Byte counts accumulate for up to 31 words (31 * 8 < 256) before VPSADBW.
void AndCountPanel(const uint64_t* const* queries, size_t nq,
                   const uint64_t* panel, size_t blocks, size_t words,
                   uint32_t* out) {
  const size_t n = blocks * kPanelLanes;
  const __m256i zero = _mm256_setzero_si256();
  for (size_t b = 0; b < blocks; ++b) {
    const uint64_t* block = panel + b * words * kPanelLanes;
    size_t q = 0;
    for (; q < nq; q += 2) {
      const uint64_t* q0 = queries[q];
      const uint64_t* q1 = queries[q + 1 < nq ? q + 1 : q];
      __m256i s00 = zero, s01 = zero, s10 = zero, s11 = zero;
      for (size_t k0 = 0; k0 < words; k0 += 31) {
        size_t k1 = k0 + 31 < words ? k0 + 31 : words;
        __m256i b00 = zero, b01 = zero, b10 = zero, b11 = zero;
        for (size_t k = k0; k < k1; ++k) {
          __m256i c0 = _mm256_load_si256(
              reinterpret_cast<const __m256i*>(block + k * kPanelLanes));
          __m256i c1 = _mm256_load_si256(
              reinterpret_cast<const __m256i*>(block + k * kPanelLanes + 4));
          __m256i w0 = _mm256_set1_epi64x(static_cast<long long>(q0[k]));
          __m256i w1 = _mm256_set1_epi64x(static_cast<long long>(q1[k]));
          b00 = _mm256_add_epi8(b00, ByteCounts(_mm256_and_si256(w0, c0)));
          b01 = _mm256_add_epi8(b01, ByteCounts(_mm256_and_si256(w0, c1)));
          b10 = _mm256_add_epi8(b10, ByteCounts(_mm256_and_si256(w1, c0)));
          b11 = _mm256_add_epi8(b11, ByteCounts(_mm256_and_si256(w1, c1)));
        }
        s00 = _mm256_add_epi64(s00, _mm256_sad_epu8(b00, zero));
        s01 = _mm256_add_epi64(s01, _mm256_sad_epu8(b01, zero));
        s10 = _mm256_add_epi64(s10, _mm256_sad_epu8(b10, zero));
        s11 = _mm256_add_epi64(s11, _mm256_sad_epu8(b11, zero));
      }
      alignas(32) uint64_t lanes[16];
      _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), s00);
      _mm256_store_si256(reinterpret_cast<__m256i*>(lanes + 4), s01);
      _mm256_store_si256(reinterpret_cast<__m256i*>(lanes + 8), s10);
      _mm256_store_si256(reinterpret_cast<__m256i*>(lanes + 12), s11);
      for (size_t l = 0; l < kPanelLanes; ++l) {
        out[q * n + b * kPanelLanes + l] = static_cast<uint32_t>(lanes[l]);
        if (q + 1 < nq)
          out[(q + 1) * n + b * kPanelLanes + l] =
              static_cast<uint32_t>(lanes[8 + l]);
      }
    }
  }
}

}  // namespace

const KernelTable& Avx2Kernels() {
  static const KernelTable t{Isa::kAvx2, Count, AndCount, AndCountPanel};
  return t;
}

}  // namespace cohortlink::similarity
