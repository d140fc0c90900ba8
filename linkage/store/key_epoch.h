#ifndef COHORTLINK_LINKAGE_STORE_KEY_EPOCH_H_
#define COHORTLINK_LINKAGE_STORE_KEY_EPOCH_H_

#include <cstdint>

namespace cohortlink::store {

// The key epoch of a stored extract or an upload header: 0 (unset) is the
// first epoch, 1. Header-only, for the server and the CLI alike.
inline uint32_t KeyEpoch(uint32_t stored) { return stored == 0 ? 1 : stored; }

}  // namespace cohortlink::store

#endif  // COHORTLINK_LINKAGE_STORE_KEY_EPOCH_H_
