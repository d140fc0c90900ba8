#ifndef COHORTLINK_LINKAGE_ENCODING_TEST_DATA_H_
#define COHORTLINK_LINKAGE_ENCODING_TEST_DATA_H_

// Locates ../shared/datasets for tests; tests GTEST_SKIP when it is absent.

#include <cstdlib>
#include <filesystem>
#include <string>

namespace cohortlink::testing {

inline std::string DatasetsDir() {
  if (const char* env = std::getenv("COHORTLINK_DATASETS_DIR")) return env;
#ifdef COHORTLINK_DATASETS_DIR
  return COHORTLINK_DATASETS_DIR;
#else
  return "../shared/datasets";
#endif
}

inline std::string DatasetPath(const std::string& rel) {
  return DatasetsDir() + "/" + rel;
}

inline bool HaveDataset(const std::string& rel) {
  return std::filesystem::exists(DatasetPath(rel));
}

}  // namespace cohortlink::testing

#define REQUIRE_DATASET(rel)                                                \
  do {                                                                      \
    if (!::cohortlink::testing::HaveDataset(rel)) {                         \
      GTEST_SKIP() << "dataset " << ::cohortlink::testing::DatasetPath(rel) \
                   << " is absent";                                         \
    }                                                                       \
  } while (false)

#endif  // COHORTLINK_LINKAGE_ENCODING_TEST_DATA_H_
