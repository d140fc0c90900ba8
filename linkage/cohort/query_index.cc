#include "linkage/cohort/query_index.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "keys/mac.h"
#include "linkage/encoding/dates.h"
#include "util/status_macros.h"

namespace cohortlink::cohort {
namespace {

constexpr const char* kAgencyTypes[] = {"police", "probation", "prison",
                                        "health", "local-authority"};

uint32_t EventKey(uint8_t agency_type, uint16_t event_type) {
  return uint32_t{agency_type} << 16 | event_type;
}

}  // namespace

uint16_t QueryIndex::Dictionary::Intern(const std::string& s) {
  auto it = ids.find(s);
  if (it != ids.end()) return it->second;
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

absl::Status QueryIndexBuilder::Add(const std::string& agency_type,
                                    const std::string& agency,
                                    const std::string& extract,
                                    const cohortlink::v1::EncodedRecord& r,
                                    uint64_t entity_id, float probability) {
  int type = QueryIndex::AgencyTypeId(agency_type);
  if (type < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown agency type '", agency_type, "'"));
  }
  QueryIndex& x = *index_;
  x.agency_type_.push_back(static_cast<uint8_t>(type));
  x.event_type_.push_back(x.event_types_.Intern(r.event_type()));
  int32_t date = kNoDate;
  if (!r.event_date().empty()) {
    auto d = encoding::ParseDate(r.event_date(), "%Y-%m-%d");
    if (d.ok()) date = static_cast<int32_t>(encoding::DaysFromCivil(*d));
  }
  x.date_.push_back(date);
  x.probability_.push_back(probability);
  std::vector<uint16_t> attrs;
  for (const auto& a : r.attributes()) {
    auto [it, fresh] = x.attribute_ids_.try_emplace(
        a.name(), static_cast<int>(x.attribute_names_.size()));
    if (fresh) {
      x.attribute_names_.push_back(a.name());
      x.values_.emplace_back();
    }
    if (attrs.size() <= static_cast<size_t>(it->second))
      attrs.resize(it->second + 1, 0);
    attrs[it->second] = x.values_[it->second].Intern(a.value());
  }
  attrs_.push_back(std::move(attrs));
  auto [d, fresh] =
      dense_.try_emplace(entity_id, static_cast<uint32_t>(dense_ids_.size()));
  if (fresh) dense_ids_.push_back(entity_id);
  x.entity_.push_back(d->second);
  // The record's own cell key.
  if (mac_ == nullptr) {
    ASSIGN_OR_RETURN(mac_,
                     keys::Hmac::Create(keys::HashAlgorithm::kSha256, secret_));
  }
  ASSIGN_OR_RETURN(std::string h, mac_->Compute(absl::StrCat(
                                      "record\x1f", agency, "\x1f", extract,
                                      "\x1f", r.record_key())));
  x.record_key_.push_back(static_cast<uint8_t>(h[0]));
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const QueryIndex>> QueryIndexBuilder::Build() {
  QueryIndex& x = *index_;
  const size_t n = x.entity_.size(), na = x.attribute_names_.size();
  x.attributes_.assign(n * na, 0);
  for (size_t r = 0; r < n; ++r)
    for (size_t a = 0; a < attrs_[r].size(); ++a)
      x.attributes_[r * na + a] = attrs_[r][a];
  std::vector<std::vector<uint16_t>>().swap(attrs_);
  // Entities: records grouped, each group in date order.
  const size_t ne = dense_ids_.size();
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
  for (size_t e = 0; e < ne; ++e) {
    std::string id(8, '\0');
    for (int k = 0; k < 8; ++k)
      id[k] = static_cast<char>(dense_ids_[e] >> (56 - 8 * k));
    ASSIGN_OR_RETURN(std::string h,
                     mac_->Compute(absl::StrCat("entity\x1f", id)));
    x.entity_key_[e] = static_cast<uint8_t>(h[0]);
  }
  for (uint32_t r = 0; r < n; ++r)
    x.events_[EventKey(x.agency_type_[r], x.event_type_[r])].push_back(r);
  std::fill(secret_.begin(), secret_.end(), '\0');
  return std::shared_ptr<const QueryIndex>(std::move(index_));
}

}  // namespace cohortlink::cohort
