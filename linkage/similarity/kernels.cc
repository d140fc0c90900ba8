#include "linkage/similarity/kernels.h"

#include <cstdlib>
#include <cstring>
#include <initializer_list>

namespace cohortlink::similarity {

bool IsaSupported(Isa isa) {
  switch (isa) {
    case Isa::kPortable:
      return true;
    case Isa::kAvx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
    case Isa::kAvx512:
      return __builtin_cpu_supports("avx512f") &&
             __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vpopcntdq") &&
             __builtin_cpu_supports("popcnt");
  }
  return false;
}

const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kPortable:
      return "portable";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvx512:
      return "avx512";
  }
  return "?";
}

Isa DetectIsa() {
  Isa best = IsaSupported(Isa::kAvx512) ? Isa::kAvx512
             : IsaSupported(Isa::kAvx2) ? Isa::kAvx2
                                        : Isa::kPortable;
  if (const char* want = std::getenv("COHORTLINK_ISA")) {
    for (Isa isa : {Isa::kPortable, Isa::kAvx2, Isa::kAvx512}) {
      if (std::strcmp(want, IsaName(isa)) == 0 && IsaSupported(isa) &&
          static_cast<int>(isa) <= static_cast<int>(best)) {
        return isa;
      }
    }
  }
  return best;
}

const KernelTable& Kernels(Isa isa) {
  switch (isa) {
    case Isa::kAvx512:
      return Avx512Kernels();
    case Isa::kAvx2:
      return Avx2Kernels();
    case Isa::kPortable:
      break;
  }
  return PortableKernels();
}

const KernelTable& BestKernels() {
  static const KernelTable& table = Kernels(DetectIsa());
  return table;
}

}  // namespace cohortlink::similarity
