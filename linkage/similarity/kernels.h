#ifndef COHORTLINK_LINKAGE_SIMILARITY_KERNELS_H_
#define COHORTLINK_LINKAGE_SIMILARITY_KERNELS_H_

// Popcount kernels behind every Dice coefficient, in three builds chosen at
// run time by CPU detection: portable C++, AVX2 (nibble-table popcount,
// Mula et al.), and AVX-512 with VPOPCNTDQ.
//
// Filters are arrays of 64-bit words. Only popcounts of words and of ANDs
// of words are taken, so the byte order inside a word does not matter: a
// filter's bytes can be copied into words as they are.

#include <cstddef>
#include <cstdint>

namespace cohortlink::similarity {

enum class Isa { kPortable, kAvx2, kAvx512 };

// The best ISA this CPU supports (overridable with COHORTLINK_ISA=portable,
// avx2 or avx512 in the environment, never above what the CPU has).
Isa DetectIsa();
bool IsaSupported(Isa isa);
const char* IsaName(Isa isa);

// Candidates packed for many-against-many comparison: blocks of 8 filters,
// word k of the 8 filters stored together, so that one 512-bit register
// holds the same word of 8 candidates:
//   panel[(block * words + k) * 8 + lane]
inline constexpr size_t kPanelLanes = 8;

struct KernelTable {
  Isa isa;
  // sum over i < words of popcount(a[i])
  uint32_t (*count)(const uint64_t* a, size_t words);
  // sum over i < words of popcount(a[i] & b[i])
  uint32_t (*and_count)(const uint64_t* a, const uint64_t* b, size_t words);
  // out[q * blocks * 8 + c] = and_count(queries[q], candidate c of the panel)
  // for q < nq and the blocks*8 candidates of `panel`. Queries are read
  // through several times; they should be cache resident.
  void (*and_count_panel)(const uint64_t* const* queries, size_t nq,
                          const uint64_t* panel, size_t blocks, size_t words,
                          uint32_t* out);
};

// The table for `isa` (REQUIRES: IsaSupported(isa)).
const KernelTable& Kernels(Isa isa);
// The table for DetectIsa(), resolved once.
const KernelTable& BestKernels();

// The per-ISA tables (kernels_<isa>.cc).
const KernelTable& PortableKernels();
const KernelTable& Avx2Kernels();
const KernelTable& Avx512Kernels();

}  // namespace cohortlink::similarity

#endif  // COHORTLINK_LINKAGE_SIMILARITY_KERNELS_H_
