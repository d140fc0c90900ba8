#ifndef COHORTLINK_LINKAGE_BLOCKING_BLOCKING_H_
#define COHORTLINK_LINKAGE_BLOCKING_BLOCKING_H_

// Candidate pairs: the union of (a) records sharing a keyed blocking token
// (made by the agencies' encoders) and (b) records colliding in a Hamming
// LSH table (bit sampling over the whole filter), without duplicates.

#include <cstdint>
#include <vector>

#include "linkage/blocking/dataset.h"

namespace cohortlink::blocking {

struct BlockingOptions {
  // A block (token or LSH bucket) larger than this does not enumerate its
  // pairs (that would be quadratic); its records meet their matches
  // through their other tokens and tables, and it can be split by LSH
  // within the block (below).
  size_t max_block = 100;
  // Splitting a block over its cap: `split_samples` samples of
  // `split_bits` informative bits each, drawn from outside the table's
  // fields (a "John Smith" block is split by date of birth and postcode;
  // a token block by the whole filter). Within the block records are
  // grouped by each sample's bits, and groups within the cap enumerate
  // their pairs. Fewer bits than a whole table's suffice, as they only
  // need to split the block, not the population, so near matches that a
  // global table misses still collide. Off by default, as measured it
  // costs more than it finds: one sample of 16 bits raised pair
  // completeness on the 100,000-person synthetic region from 0.9918 to
  // 0.9924 for 26% more candidates, and at 1,000,000 x 1,000,000 it added
  // 35 M candidate pairs and 27 s. Without it an oversized block's
  // records meet their matches through their other blocks and tables.
  int split_samples = 0;
  int split_bits = 16;
  // Hamming LSH tables (0 or less: none). Each table samples informative
  // bits (set in 2-98% of filters) until two random records would agree
  // on all of them with probability 1 / n (n records), so each record
  // meets about one random other per table; `lsh_bits` > 0 fixes the
  // number of bits instead. With about 20 bits sampled, a true match
  // agreeing on 93% of informative bits collides in one of 32 tables with
  // probability 0.99.
  int lsh_tables = 32;
  int lsh_bits = 0;
  // With field segments, tables are drawn per pair of fields and, with
  // this set, per single field too.
  bool single_field_tables = true;
  // Each table's pairs are held to about this many per record: when the
  // sampled bits let more random records collide (correlated bits), more
  // bits are sampled until the table is within budget.
  // When even 64 bits leave a table over budget (records identical in the
  // table's fields), its largest buckets are dropped until it is within.
  double lsh_pairs_per_record = 3;
  // All keyed-token blocks together give at most this many pairs per
  // record; the largest blocks are dropped first.
  double token_pairs_per_record = 8;
  uint64_t seed = 0x636f686f72746c6bULL;
  // Threads for the LSH tables (the result does not depend on it).
  int threads = 2;
  // Pairs of records from the same source (deduplication within an
  // extract) as well as across sources.
  bool within_source = true;
};

struct LshParams {
  int tables = 0, bits = 0;  // bits: the most any table sampled
};

struct BlockingStats {
  uint64_t token_pairs = 0;       // pairs enumerated from token blocks
  uint64_t lsh_pairs = 0;         // pairs enumerated from LSH buckets
  uint64_t candidates = 0;        // distinct pairs
  uint64_t oversized_blocks = 0;  // blocks over their cap
  uint64_t split_pairs = 0;       // pairs from splitting those blocks
  uint64_t total_pairs = 0;       // all pairs the linkage could compare
  LshParams lsh;
  double reduction_ratio() const {
    return total_pairs == 0 ? 0 : 1.0 - double(candidates) / total_pairs;
  }
};

using Pair = std::pair<uint32_t, uint32_t>;

// How records are blocked, fixed when a model is trained so that every
// later change is blocked the same way, and a relink with the same model
// finds the same candidates: the size cap of keyed-token blocks, and for
// each Hamming LSH table the filter bits it samples and its size cap.
struct BlockPlan {
  struct Table {
    std::vector<uint32_t> bits;  // empty: the table is unused
    uint32_t cap = 0;
    // Bit samples that split a block over the cap (BlockingOptions::
    // split_samples).
    std::vector<std::vector<uint32_t>> splits;
  };
  uint32_t token_cap = 0;
  std::vector<std::vector<uint32_t>> token_splits;
  std::vector<Table> tables;
};

// Which records share a block. For the keyed tokens and for each LSH
// table, the entries (key << 32 | record) sorted, where the key is a
// 32-bit hash of the token or of the table's sampled bits (a rare hash
// collision only adds candidates, which the model then scores). The index
// is kept between linkage runs, so a change is blocked against the stored
// records without hashing them again.
class BlockIndex {
 public:
  BlockIndex() = default;
  // The index of `rows` of `data`. With `plan` null the plan is chosen
  // from these records (see BlockingOptions).
  static BlockIndex Build(const Dataset& data, absl::Span<const uint32_t> rows,
                          const BlockingOptions& options,
                          const BlockPlan* plan = nullptr);
  // Adds `rows` (records not yet in the index) under the same plan.
  void Add(const Dataset& data, absl::Span<const uint32_t> rows, int threads);
  // The distinct candidate pairs (a < b), sorted: records with live[x]
  // set that share a block holding at most the plan's cap of live records,
  // at least one of the two with fresh[x] set. With every record fresh
  // these are all the index's candidates; with only a change's records
  // fresh, the candidates the change adds.
  std::vector<Pair> Pairs(const Dataset& data, const std::vector<uint8_t>& live,
                          const std::vector<uint8_t>& fresh,
                          const BlockingOptions& options,
                          BlockingStats* stats = nullptr) const;
  const BlockPlan& plan() const { return plan_; }
  // Entries held (memory: 8 bytes each).
  size_t entries() const;

 private:
  BlockPlan plan_;
  std::vector<uint64_t> tokens_;            // sorted entries
  std::vector<std::vector<uint64_t>> lsh_;  // per table, sorted entries
};

// Distinct candidate pairs (i < j) of every record, sorted.
std::vector<Pair> Candidates(const Dataset& data,
                             const BlockingOptions& options,
                             BlockingStats* stats = nullptr);

}  // namespace cohortlink::blocking

#endif  // COHORTLINK_LINKAGE_BLOCKING_BLOCKING_H_
