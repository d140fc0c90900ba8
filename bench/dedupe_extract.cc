// dedupe_extract SOURCE_CSV OUT_CSV [PEOPLE [SEED]]: a hard dedupe extract
// in Febrl's layout (synth::WriteDedupeExtract), for bench/quality.sh.

#include "linkage/synth/dedupe_extract.h"

#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  if (argc < 3 || argc > 5) {
    std::fprintf(stderr, "usage: %s SOURCE_CSV OUT_CSV [PEOPLE [SEED]]\n",
                 argv[0]);
    return 2;
  }
  cohortlink::synth::DedupeExtractOptions o;
  if (argc > 3) o.people = std::strtoull(argv[3], nullptr, 10);
  if (argc > 4) o.seed = std::strtoull(argv[4], nullptr, 10);
  auto s = cohortlink::synth::WriteDedupeExtract(argv[1], argv[2], o);
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
