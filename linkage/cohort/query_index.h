#ifndef COHORTLINK_LINKAGE_COHORT_QUERY_INDEX_H_
#define COHORTLINK_LINKAGE_COHORT_QUERY_INDEX_H_

// What cohort queries read: every linked record's event (agency type, event
// type, date), plain attributes, entity and link probability, in columns,
// with each entity's records together. Built from one snapshot of the
// linkage, immutable, shared by concurrent queries.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "cohortlink/v1/extract.pb.h"
#include "keys/mac.h"

namespace cohortlink::cohort {

inline constexpr int32_t kNoDate = INT32_MIN;

class QueryIndex {
 public:
  // Interned strings: id 0 is "" (absent).
  struct Dictionary {
    std::vector<std::string> names = {""};
    absl::flat_hash_map<std::string, uint16_t> ids = {{"", 0}};
    // The id of `s`, added if new; RESOURCE_EXHAUSTED (and nothing added)
    // once 65,536 names are held, so ids never wrap onto another name.
    absl::StatusOr<uint16_t> Intern(const std::string& s);
    // The id of `s`, or -1 when it never occurs.
    int Find(const std::string& s) const;
  };

  size_t records() const { return entity_.size(); }
  size_t entities() const { return entity_begin_.size() - 1; }

  // Agency types are the five of the design, in this order.
  static int AgencyTypeId(const std::string& type);  // -1 when unknown

  const Dictionary& event_types() const { return event_types_; }
  const std::vector<std::string>& attribute_names() const {
    return attribute_names_;
  }
  int AttributeId(const std::string& name) const;  // -1 when unknown
  const Dictionary& attribute_values(int a) const { return values_[a]; }

  // Per record.
  uint32_t entity(size_t r) const { return entity_[r]; }
  uint8_t agency_type(size_t r) const { return agency_type_[r]; }
  uint16_t event_type(size_t r) const { return event_type_[r]; }
  int32_t date(size_t r) const { return date_[r]; }  // days since 1970
  float probability(size_t r) const { return probability_[r]; }
  uint16_t attribute(size_t r, int a) const {
    return attributes_[r * attribute_names_.size() + a];
  }
  // The cell key of record r when it is counted on its own, and its token
  // (what stands for it in a set sketch: linkage/cohort/set_sketch.h).
  uint8_t record_key(size_t r) const { return record_key_[r]; }
  uint64_t record_token(size_t r) const { return record_token_[r]; }

  // Per entity: its records, and its cell key.
  const uint32_t* entity_records(uint32_t e, size_t* n) const {
    *n = entity_begin_[e + 1] - entity_begin_[e];
    return entity_records_.data() + entity_begin_[e];
  }
  uint8_t entity_key(uint32_t e) const { return entity_key_[e]; }
  // What stands for the entity in a set sketch: keyed like its cell key,
  // from its entity id, which the linkage keeps across runs (an entity
  // takes the id of the old entity it shares most records with), so that
  // the same people have the same tokens before and after a new run.
  uint64_t entity_token(uint32_t e) const { return entity_token_[e]; }

  // Records of one agency type and event type.
  const std::vector<uint32_t>& Events(uint8_t agency_type,
                                      uint16_t event_type) const;

  uint64_t generation = 0;  // the linkage run it reflects
  std::string linked_at;

 private:
  friend class QueryIndexBuilder;
  Dictionary event_types_;
  std::vector<std::string> attribute_names_;
  absl::flat_hash_map<std::string, int> attribute_ids_;
  std::vector<Dictionary> values_;
  std::vector<uint32_t> entity_;
  std::vector<uint8_t> agency_type_;
  std::vector<uint16_t> event_type_;
  std::vector<int32_t> date_;
  std::vector<float> probability_;
  std::vector<uint16_t> attributes_;
  std::vector<uint8_t> record_key_;
  std::vector<uint64_t> record_token_;
  std::vector<uint32_t> entity_begin_, entity_records_;
  std::vector<uint8_t> entity_key_;
  std::vector<uint64_t> entity_token_;
  absl::flat_hash_map<uint32_t, std::vector<uint32_t>> events_;
};

// Collects records, then builds indexes. Cell keys: every entity gets a
// fixed pseudo-random byte, the first byte of HMAC-SHA256(`secret`, entity
// id); a record counted on its own (a link below the query's probability
// floor) gets one from its agency, extract and record key. The next eight
// bytes of the same digests are their tokens.
//
// Records are digested once (AddFacts: dictionaries, dates, the record's
// cell key) and kept, so one builder can build an index of any subset of
// them, with any entities, again and again: the linkage runner keeps one
// beside its in-memory linkage and builds a fresh index after each run
// without reading the records again.
class QueryIndexBuilder {
 public:
  explicit QueryIndexBuilder(std::string secret);
  ~QueryIndexBuilder();  // wipes the secret
  QueryIndexBuilder(const QueryIndexBuilder&) = delete;
  QueryIndexBuilder& operator=(const QueryIndexBuilder&) = delete;

  // Digests a record; its number is size() before the call. An empty
  // `agency_type` keeps its place but leaves it out of every index (an
  // agency no longer registered); INVALID_ARGUMENT for an unknown one.
  absl::Status AddFacts(const std::string& agency_type,
                        const std::string& agency, const std::string& extract,
                        const cohortlink::v1::EncodedRecord& record);
  // AddFacts with the record's entity and link probability, for Build().
  absl::Status Add(const std::string& agency_type, const std::string& agency,
                   const std::string& extract,
                   const cohortlink::v1::EncodedRecord& record,
                   uint64_t entity_id, float probability);
  size_t size() const { return agency_type_.size(); }

  // The index of every record added with Add().
  absl::StatusOr<std::shared_ptr<const QueryIndex>> Build();
  // The index of `rows` (record numbers), in entities `entity_ids` with
  // link probabilities `probabilities` (one each per row).
  absl::StatusOr<std::shared_ptr<const QueryIndex>> BuildFor(
      absl::Span<const uint32_t> rows, absl::Span<const uint64_t> entity_ids,
      absl::Span<const float> probabilities);

 private:
  static constexpr uint8_t kNoType = 0xff;
  std::string secret_;
  std::unique_ptr<keys::Hmac> mac_;
  QueryIndex::Dictionary event_types_;
  std::vector<std::string> attribute_names_;
  absl::flat_hash_map<std::string, int> attribute_ids_;
  std::vector<QueryIndex::Dictionary> values_;
  // Per record.
  std::vector<uint8_t> agency_type_, record_key_;
  std::vector<uint64_t> record_token_;
  std::vector<uint16_t> event_type_;
  std::vector<int32_t> date_;
  std::vector<uint32_t> attr_begin_ = {0};            // into attrs_
  std::vector<std::pair<uint16_t, uint16_t>> attrs_;  // attribute, value
  // Add()'s entities and probabilities.
  std::vector<uint64_t> entity_ids_;
  std::vector<float> probabilities_;
  // Entity cell keys and tokens made so far.
  struct EntityKey {
    uint8_t key;
    uint64_t token;
  };
  absl::flat_hash_map<uint64_t, EntityKey> entity_keys_;
};

}  // namespace cohortlink::cohort

#endif  // COHORTLINK_LINKAGE_COHORT_QUERY_INDEX_H_
