#include "linkage/cohort/query_index.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "keys/mac.h"
#include "linkage/encoding/dates.h"
#include "util/status_macros.h"
#include "util/text.h"

namespace cohortlink::cohort {
namespace {

// The 64-bit token after a digest's first byte (the cell key).
uint64_t TokenOf(const std::string& digest) {
  uint64_t t = 0;
  for (int k = 1; k <= 8; ++k)
    t = t << 8 | static_cast<unsigned char>(digest[k]);
  return t;
}

constexpr const char* kAgencyTypes[] = {"police", "probation", "prison",
                                        "health", "local-authority"};

uint32_t EventKey(uint8_t agency_type, uint16_t event_type) {
  return uint32_t{agency_type} << 16 | event_type;
}

}  // namespace

absl::StatusOr<uint16_t> QueryIndex::Dictionary::Intern(const std::string& s) {
  auto it = ids.find(s);
  if (it != ids.end()) return it->second;
  if (names.size() > std::numeric_limits<uint16_t>::max()) {
    return absl::ResourceExhaustedError(
        "more than 65,536 distinct names in one dictionary of the query index");
  }
  uint16_t id = static_cast<uint16_t>(names.size());
  names.push_back(s);
  ids[s] = id;
  return id;
}

int QueryIndex::Dictionary::Find(const std::string& s) const {
  auto it = ids.find(s);
  return it == ids.end() ? -1 : it->second;
}

int QueryIndex::AgencyTypeId(const std::string& type) {
  for (int i = 0; i < 5; ++i)
    if (type == kAgencyTypes[i]) return i;
  return -1;
}

int QueryIndex::AttributeId(const std::string& name) const {
  auto it = attribute_ids_.find(name);
  return it == attribute_ids_.end() ? -1 : it->second;
}

const std::vector<uint32_t>& QueryIndex::Events(uint8_t agency_type,
                                                uint16_t event_type) const {
  static const std::vector<uint32_t> kNone;
  auto it = events_.find(EventKey(agency_type, event_type));
  return it == events_.end() ? kNone : it->second;
}

QueryIndexBuilder::QueryIndexBuilder(std::string secret)
    : secret_(std::move(secret)) {}

QueryIndexBuilder::~QueryIndexBuilder() {
  std::fill(secret_.begin(), secret_.end(), '\0');
}

absl::Status QueryIndexBuilder::AddFacts(
    const std::string& agency_type, const std::string& agency,
    const std::string& extract, const cohortlink::v1::EncodedRecord& r) {
  int type = kNoType;
  if (!agency_type.empty()) {
    type = QueryIndex::AgencyTypeId(agency_type);
    if (type < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown agency type '", agency_type, "'"));
    }
  }
  if (mac_ == nullptr) {
    ASSIGN_OR_RETURN(mac_,
                     keys::Hmac::Create(keys::HashAlgorithm::kSha256, secret_));
  }
  // The record's own cell key.
  ASSIGN_OR_RETURN(std::string h, mac_->Compute(absl::StrCat(
                                      "record\x1f", agency, "\x1f", extract,
                                      "\x1f", r.record_key())));
  // Every id first: a dictionary that is full fails the record before
  // anything of it is added.
  ASSIGN_OR_RETURN(uint16_t event, event_types_.Intern(r.event_type()));
  const size_t attrs_before = attrs_.size();
  for (const auto& a : r.attributes()) {
    auto it = attribute_ids_.find(a.name());
    if (it == attribute_ids_.end()) {
      if (attribute_names_.size() > std::numeric_limits<uint16_t>::max()) {
        attrs_.resize(attrs_before);
        return absl::ResourceExhaustedError(
            "more than 65,536 attribute names in the query index");
      }
      it = attribute_ids_.emplace(a.name(), attribute_names_.size()).first;
      attribute_names_.push_back(a.name());
      values_.emplace_back();
    }
    auto value = values_[it->second].Intern(a.value());
    if (!value.ok()) {
      attrs_.resize(attrs_before);
      return absl::ResourceExhaustedError(
          absl::StrCat("attribute '", util::Printable(a.name()),
                       "': ", value.status().message()));
    }
    attrs_.push_back({static_cast<uint16_t>(it->second), *value});
  }
  agency_type_.push_back(static_cast<uint8_t>(type));
  record_key_.push_back(static_cast<uint8_t>(h[0]));
  record_token_.push_back(TokenOf(h));
  event_type_.push_back(event);
  int32_t date = kNoDate;
  if (!r.event_date().empty()) {
    auto d = encoding::ParseDate(r.event_date(), "%Y-%m-%d");
    if (d.ok()) date = static_cast<int32_t>(encoding::DaysFromCivil(*d));
  }
  date_.push_back(date);
  attr_begin_.push_back(static_cast<uint32_t>(attrs_.size()));
  return absl::OkStatus();
}

absl::Status QueryIndexBuilder::Add(const std::string& agency_type,
                                    const std::string& agency,
                                    const std::string& extract,
                                    const cohortlink::v1::EncodedRecord& r,
                                    uint64_t entity_id, float probability) {
  RETURN_IF_ERROR(AddFacts(agency_type, agency, extract, r));
  entity_ids_.push_back(entity_id);
  probabilities_.push_back(probability);
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const QueryIndex>> QueryIndexBuilder::Build() {
  if (entity_ids_.size() != size())
    return absl::FailedPreconditionError("records added without entities");
  std::vector<uint32_t> rows(size());
  for (uint32_t r = 0; r < rows.size(); ++r) rows[r] = r;
  return BuildFor(rows, entity_ids_, probabilities_);
}

absl::StatusOr<std::shared_ptr<const QueryIndex>> QueryIndexBuilder::BuildFor(
    absl::Span<const uint32_t> rows, absl::Span<const uint64_t> entity_ids,
    absl::Span<const float> probabilities) {
  if (entity_ids.size() != rows.size() || probabilities.size() != rows.size())
    return absl::InvalidArgumentError("one entity and probability per row");
  auto index = std::make_unique<QueryIndex>();
  QueryIndex& x = *index;
  x.event_types_ = event_types_;
  x.attribute_names_ = attribute_names_;
  x.attribute_ids_ = attribute_ids_;
  x.values_ = values_;
  const size_t na = attribute_names_.size();
  absl::flat_hash_map<uint64_t, uint32_t> dense;  // entity id -> dense
  std::vector<uint64_t> dense_ids;
  for (size_t k = 0; k < rows.size(); ++k) {
    const uint32_t r = rows[k];
    if (r >= size()) return absl::InvalidArgumentError("no such record");
    if (agency_type_[r] == kNoType) continue;
    x.agency_type_.push_back(agency_type_[r]);
    x.event_type_.push_back(event_type_[r]);
    x.date_.push_back(date_[r]);
    x.probability_.push_back(probabilities[k]);
    x.record_key_.push_back(record_key_[r]);
    x.record_token_.push_back(record_token_[r]);
    const size_t at = x.attributes_.size();
    x.attributes_.resize(at + na, 0);
    for (uint32_t a = attr_begin_[r]; a < attr_begin_[r + 1]; ++a)
      x.attributes_[at + attrs_[a].first] = attrs_[a].second;
    auto [d, fresh] = dense.try_emplace(
        entity_ids[k], static_cast<uint32_t>(dense_ids.size()));
    if (fresh) dense_ids.push_back(entity_ids[k]);
    x.entity_.push_back(d->second);
  }
  const size_t n = x.entity_.size();
  // Entities: records grouped, each group in date order.
  const size_t ne = dense_ids.size();
  x.entity_begin_.assign(ne + 1, 0);
  for (uint32_t e : x.entity_) ++x.entity_begin_[e + 1];
  for (size_t e = 0; e < ne; ++e) x.entity_begin_[e + 1] += x.entity_begin_[e];
  x.entity_records_.resize(n);
  std::vector<uint32_t> fill(x.entity_begin_.begin(),
                             x.entity_begin_.end() - 1);
  for (uint32_t r = 0; r < n; ++r) x.entity_records_[fill[x.entity_[r]]++] = r;
  for (size_t e = 0; e < ne; ++e) {
    std::sort(x.entity_records_.begin() + x.entity_begin_[e],
              x.entity_records_.begin() + x.entity_begin_[e + 1],
              [&](uint32_t a, uint32_t b) {
                return std::tie(x.date_[a], a) < std::tie(x.date_[b], b);
              });
  }
  if (mac_ == nullptr) {
    ASSIGN_OR_RETURN(mac_,
                     keys::Hmac::Create(keys::HashAlgorithm::kSha256, secret_));
  }
  x.entity_key_.resize(ne);
  x.entity_token_.resize(ne);
  for (size_t e = 0; e < ne; ++e) {
    auto [key, fresh] = entity_keys_.try_emplace(dense_ids[e], EntityKey{});
    if (fresh) {
      std::string id(8, '\0');
      for (int k = 0; k < 8; ++k)
        id[k] = static_cast<char>(dense_ids[e] >> (56 - 8 * k));
      ASSIGN_OR_RETURN(std::string h,
                       mac_->Compute(absl::StrCat("entity\x1f", id)));
      key->second = {static_cast<uint8_t>(h[0]), TokenOf(h)};
    }
    x.entity_key_[e] = key->second.key;
    x.entity_token_[e] = key->second.token;
  }
  for (uint32_t r = 0; r < n; ++r)
    x.events_[EventKey(x.agency_type_[r], x.event_type_[r])].push_back(r);
  return std::shared_ptr<const QueryIndex>(std::move(index));
}

}  // namespace cohortlink::cohort
