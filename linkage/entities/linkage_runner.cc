#include "linkage/entities/linkage_runner.h"

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "keys/random.h"
#include "util/status_macros.h"
#include "util/text.h"

namespace cohortlink::entities {

using cohortlink::v1::LinkageModel;
using cohortlink::v1::LinkageStatus;
using store::Family;

namespace {

constexpr char kMetaStatus[] = "linkage/status";
constexpr char kMetaModel[] = "model/current";
constexpr char kMetaNextEntity[] = "entities/next_id";
constexpr char kMetaCellKeySecret[] = "cohort/cell_key_secret";

// Reads a message stored under `key` in `family`; NOT_FOUND if absent.
template <typename Message>
absl::StatusOr<Message> ReadMessage(store::Store* s, Family family,
                                    const std::string& key,
                                    const rocksdb::Snapshot* snap = nullptr) {
  rocksdb::ReadOptions ro;
  ro.snapshot = snap;
  std::string v;
  RETURN_IF_ERROR(
      store::FromRocks(s->db()->Get(ro, s->cf(family), key, &v), key));
  Message m;
  if (!m.ParseFromString(v))
    return absl::DataLossError(absl::StrCat("corrupt ", key));
  return m;
}

}  // namespace

LinkageModel ModelToProto(const model::Model& m,
                          const std::vector<std::string>& field_names) {
  LinkageModel p;
  p.set_version(m.version);
  for (double t : m.thresholds) p.add_thresholds(t);
  for (size_t c = 0; c < m.fields.size(); ++c) {
    const model::FieldParams& f = m.fields[c];
    auto* cp = p.add_comparisons();
    cp->set_name(f.name);
    for (int member : f.members) cp->add_members(field_names[member]);
    for (size_t l = 0; l < f.m.size(); ++l) {
      cp->add_level_names(m.LevelName(c, static_cast<uint8_t>(l)));
      cp->add_m(f.m[l]);
      cp->add_u(f.u[l]);
      cp->add_weight(m.LevelWeight(c, static_cast<uint8_t>(l)));
    }
  }
  p.set_prior(m.prior);
  p.set_prior_weight(std::log2(m.prior / (1 - m.prior)));
  p.set_candidate_pairs(m.candidate_pairs);
  p.set_u_sample_pairs(m.u_sample_pairs);
  p.set_em_iterations(m.em_iterations);
  p.set_em_converged(m.em_converged);
  return p;
}

absl::StatusOr<model::Model> ModelFromProto(
    const LinkageModel& p, const std::vector<std::string>& field_names) {
  model::Model m;
  m.version = p.version();
  m.thresholds.assign(p.thresholds().begin(), p.thresholds().end());
  m.prior = p.prior();
  m.candidate_pairs = p.candidate_pairs();
  m.u_sample_pairs = p.u_sample_pairs();
  m.em_iterations = p.em_iterations();
  m.em_converged = p.em_converged();
  for (const auto& cp : p.comparisons()) {
    model::FieldParams f;
    f.name = cp.name();
    for (const std::string& name : cp.members()) {
      auto it = std::find(field_names.begin(), field_names.end(), name);
      if (it == field_names.end()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "stored model compares field '", name, "', which the data lacks"));
      }
      f.members.push_back(static_cast<int>(it - field_names.begin()));
    }
    f.m.assign(cp.m().begin(), cp.m().end());
    f.u.assign(cp.u().begin(), cp.u().end());
    m.fields.push_back(std::move(f));
  }
  return m;
}

LinkageRunner::LinkageRunner(store::Store* store, store::ExtractStore* extracts,
                             RunnerOptions options)
    : store_(store), extracts_(extracts), options_(std::move(options)) {}

LinkageRunner::~LinkageRunner() { Stop(); }

void LinkageRunner::Start() {
  auto snap = extracts_->Snapshot();
  bool unlinked = !snap.ok();
  if (snap.ok()) {
    for (const auto& v : (*snap)->versions())
      unlinked |= v.status.linkage_state() != cohortlink::v1::LINKED;
  }
  {
    absl::MutexLock lock(&mu_);
    stop_ = false;
    pending_ = pending_ || unlinked;
  }
  worker_ = std::thread([this] { Loop(); });
}

void LinkageRunner::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (worker_.joinable()) worker_.join();
}

void LinkageRunner::Notify() {
  absl::MutexLock lock(&mu_);
  pending_ = true;
}

void LinkageRunner::RequestRetrain() {
  retrain_.store(true);
  Notify();
}

std::shared_ptr<const cohort::QueryIndex> LinkageRunner::QueryIndex() const {
  absl::MutexLock lock(&mu_);
  return index_;
}

absl::Status LinkageRunner::RebuildQueryIndex() {
  // The secret behind every entity's cell key, made once.
  std::string secret;
  rocksdb::Status s =
      store_->db()->Get(rocksdb::ReadOptions(), store_->cf(Family::kMeta),
                        kMetaCellKeySecret, &secret);
  if (s.IsNotFound()) {
    ASSIGN_OR_RETURN(keys::SecretBytes fresh, keys::RandomBytes(32));
    secret.assign(fresh.view().data(), fresh.view().size());
    rocksdb::WriteOptions wo;
    wo.sync = true;
    RETURN_IF_ERROR(
        store::FromRocks(store_->db()->Put(wo, store_->cf(Family::kMeta),
                                           kMetaCellKeySecret, secret),
                         "store the cell-key secret"));
  } else {
    RETURN_IF_ERROR(store::FromRocks(s, "read the cell-key secret"));
  }
  cohort::QueryIndexBuilder builder(secret);
  std::fill(secret.begin(), secret.end(), '\0');
  ASSIGN_OR_RETURN(auto snap, extracts_->Snapshot());
  rocksdb::ReadOptions ro;
  ro.snapshot = snap->snapshot();
  auto status = ReadMessage<LinkageStatus>(store_, Family::kMeta, kMetaStatus,
                                           snap->snapshot());
  cohortlink::v1::RecordLink link;
  for (size_t v = 0; v < snap->versions().size(); ++v) {
    const auto& ver = snap->versions()[v];
    if (ver.status.linkage_state() != cohortlink::v1::LINKED) continue;
    std::string type = options_.agency_type
                           ? options_.agency_type(ver.status.agency())
                           : std::string();
    if (type.empty()) continue;  // not a registered agency any more
    std::string prefix =
        store::VersionPrefix(ver.extract_id, ver.status.upload_id());
    std::unique_ptr<rocksdb::Iterator> it(
        store_->db()->NewIterator(ro, store_->cf(Family::kRecordEntity)));
    it->Seek(prefix);
    absl::Status add = absl::OkStatus();
    RETURN_IF_ERROR(snap->ForEachRecord(
        v, [&](uint64_t, const cohortlink::v1::EncodedRecord& r) {
          if (!add.ok()) return;
          if (!it->Valid() || !it->key().starts_with(prefix) ||
              !link.ParseFromArray(it->value().data(),
                                   static_cast<int>(it->value().size()))) {
            add = absl::DataLossError("record links out of step with records");
            return;
          }
          add =
              builder.Add(type, ver.status.agency(), ver.status.extract_name(),
                          r, link.entity_id(), link.probability());
          it->Next();
        }));
    RETURN_IF_ERROR(add);
  }
  ASSIGN_OR_RETURN(auto index, builder.Build());
  auto mutable_index = std::const_pointer_cast<cohort::QueryIndex>(index);
  if (status.ok()) {
    mutable_index->generation = status->generation();
    mutable_index->linked_at = status->linked_at();
  }
  absl::MutexLock lock(&mu_);
  index_ = std::move(index);
  return absl::OkStatus();
}

void LinkageRunner::Loop() {
  {
    absl::Status s = RebuildQueryIndex();
    if (!s.ok() && options_.on_run) options_.on_run(s, Status());
  }
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](LinkageRunner* r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(r->mu_) {
            return r->pending_ || r->stop_;
          },
          this));
      if (stop_) return;
    }
    absl::SleepFor(options_.debounce);
    absl::Status s = RunOnce();
    if (s.ok()) s = RebuildQueryIndex();
    if (options_.on_run) options_.on_run(s, Status());
  }
}

absl::Status LinkageRunner::RunOnce() {
  {
    absl::MutexLock lock(&mu_);
    pending_ = false;
    running_ = true;
  }
  absl::Status s = Run();
  progress_.store(0);
  absl::MutexLock lock(&mu_);
  running_ = false;
  return s;
}

LinkageStatus LinkageRunner::Status() const {
  auto stored = ReadMessage<LinkageStatus>(store_, Family::kMeta, kMetaStatus);
  LinkageStatus st = stored.ok() ? *stored : LinkageStatus();
  absl::MutexLock lock(&mu_);
  st.set_state(running_   ? cohortlink::v1::LINKING
               : pending_ ? cohortlink::v1::PENDING
                          : cohortlink::v1::LINKED);
  st.set_progress(running_ ? progress_.load() : (pending_ ? 0.0 : 1.0));
  return st;
}

absl::StatusOr<LinkageModel> LinkageRunner::CurrentModel() const {
  std::string v;
  rocksdb::Status s = store_->db()->Get(
      rocksdb::ReadOptions(), store_->cf(Family::kMeta), kMetaModel, &v);
  if (s.IsNotFound()) return LinkageModel();  // version 0: none yet
  RETURN_IF_ERROR(store::FromRocks(s, "read model version"));
  return ReadMessage<LinkageModel>(store_, Family::kModel, v);
}

absl::Status LinkageRunner::ForEachLink(
    const std::function<absl::Status(const cohortlink::v1::LinkRow&)>& fn,
    uint64_t* total) const {
  ASSIGN_OR_RETURN(auto snap, extracts_->Snapshot());
  uint64_t n = 0;
  for (const auto& v : snap->versions()) {
    if (v.status.linkage_state() != cohortlink::v1::LINKED) {
      return absl::FailedPreconditionError(absl::StrCat(
          "extract '", v.status.extract_name(), "' of ", v.status.agency(),
          " is not linked yet (",
          cohortlink::v1::LinkageState_Name(v.status.linkage_state()),
          "); try again when `cohortlink status` shows LINKED"));
    }
    n += v.status.records();
  }
  if (total != nullptr) *total = n;
  rocksdb::ReadOptions ro;
  ro.snapshot = snap->snapshot();
  cohortlink::v1::RecordLink link;
  cohortlink::v1::LinkRow row;
  for (const auto& v : snap->versions()) {
    std::string prefix =
        store::VersionPrefix(v.extract_id, v.status.upload_id());
    std::unique_ptr<rocksdb::Iterator> it(
        store_->db()->NewIterator(ro, store_->cf(Family::kRecordEntity)));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
         it->Next()) {
      if (!link.ParseFromArray(it->value().data(),
                               static_cast<int>(it->value().size()))) {
        return absl::DataLossError("corrupt record link");
      }
      row.set_agency(v.status.agency());
      row.set_extract(v.status.extract_name());
      row.set_record_key(link.record_key());
      row.set_entity_id(link.entity_id());
      row.set_match_probability(link.probability());
      RETURN_IF_ERROR(fn(row));
    }
    RETURN_IF_ERROR(store::FromRocks(it->status(), "read record links"));
  }
  return absl::OkStatus();
}

absl::Status LinkageRunner::Run() {
  absl::MutexLock run_lock(&run_mu_);
  progress_.store(0.01);
  ASSIGN_OR_RETURN(auto snap, extracts_->Snapshot());
  const auto& versions = snap->versions();
  {
    rocksdb::WriteBatch none;
    RETURN_IF_ERROR(
        extracts_->WriteLinkageState(versions, cohortlink::v1::LINKING, &none));
  }
  auto previous =
      ReadMessage<LinkageStatus>(store_, Family::kMeta, kMetaStatus);
  LinkageStatus st;
  st.set_generation((previous.ok() ? previous->generation() : 0) + 1);

  // The records, in snapshot order.
  struct Row {
    uint32_t version;
    uint64_t index;
    std::string record_key;
  };
  std::vector<Row> rows;
  uint64_t expected = 0;
  for (const auto& v : versions) expected += v.status.records();
  ASSIGN_OR_RETURN(auto layout, extracts_->Layout());
  std::optional<blocking::Dataset> data;
  if (layout.has_value() && expected > 0) {
    ASSIGN_OR_RETURN(data, blocking::Dataset::ForLayout(*layout));
    data->Reserve(expected);
    rows.reserve(expected);
    absl::Status add = absl::OkStatus();
    for (size_t v = 0; v < versions.size(); ++v) {
      RETURN_IF_ERROR(snap->ForEachRecord(
          v, [&](uint64_t index, const cohortlink::v1::EncodedRecord& r) {
            if (!add.ok()) return;
            // Records of different key epochs are never compared.
            add = data->Add(
                static_cast<uint32_t>(v), r,
                std::max<uint32_t>(1, versions[v].status.key_epoch()));
            rows.push_back({static_cast<uint32_t>(v), index, r.record_key()});
            if (rows.size() % 65536 == 0)
              progress_.store(0.3 * rows.size() / expected);
          }));
    }
    RETURN_IF_ERROR(add);
  }
  progress_.store(0.3);

  // The model: keep the current one unless retraining is due.
  ASSIGN_OR_RETURN(LinkageModel stored_model, CurrentModel());
  std::optional<model::Model> current;
  if (stored_model.version() > 0 && data.has_value()) {
    auto m = ModelFromProto(stored_model, data->field_names());
    if (m.ok()) current = *std::move(m);
  }
  bool retrain = retrain_.exchange(false) || !current.has_value() ||
                 rows.size() >= options_.retrain_growth *
                                    static_cast<double>(stored_model.records());
  Clustering clustering;
  std::optional<LinkageModel> new_model;
  uint64_t model_version = stored_model.version();
  if (data.has_value() && rows.size() >= 2) {
    auto stage = [this](double p) { progress_.store(0.3 + 0.55 * p); };
    // A change committed meanwhile makes this run's result stale: stop
    // early and let the worker start over with the newer data.
    auto superseded = [this] {
      absl::MutexLock lock(&mu_);
      return pending_;
    };
    bool trained = retrain;
    auto linked = LinkAll(*data, options_.link, retrain ? nullptr : &*current,
                          stage, superseded);
    if (!linked.ok() && retrain && current.has_value() &&
        linked.status().code() == absl::StatusCode::kFailedPrecondition) {
      trained = false;  // too little data to retrain: keep the old model
      linked = LinkAll(*data, options_.link, &*current, stage, superseded);
    }
    if (!linked.ok() &&
        linked.status().code() == absl::StatusCode::kCancelled) {
      if (retrain) retrain_.store(true);  // the next run retrains instead
      return linked.status();
    }
    if (linked.ok()) {
      if (trained) {
        model_version = stored_model.version() + 1;
        linked->model.version = model_version;
        new_model = ModelToProto(linked->model, data->field_names());
        new_model->set_trained_at(util::FormatUtc(options_.now()));
        new_model->set_records(rows.size());
      }
      clustering = std::move(linked->clustering);
      st.set_candidate_pairs(linked->blocking.candidates);
      st.set_token_pairs(linked->blocking.token_pairs);
      st.set_lsh_pairs(linked->blocking.lsh_pairs);
      st.set_oversized_blocks(linked->blocking.oversized_blocks);
      st.set_reduction_ratio(linked->blocking.reduction_ratio());
      st.set_links(linked->links);
      st.set_refused_merges(clustering.stats.refused_merges);
      st.set_blocking_seconds(linked->times.blocking_s);
      st.set_training_seconds(linked->times.training_s);
      st.set_scoring_seconds(linked->times.scoring_s);
      st.set_clustering_seconds(linked->times.clustering_s);
    } else if (linked.status().code() ==
               absl::StatusCode::kFailedPrecondition) {
      st.set_message(std::string(linked.status().message()));
    } else {
      return linked.status();
    }
  }
  if (clustering.entity.size() != rows.size()) {  // no model: singletons
    clustering.entity.resize(rows.size());
    clustering.probability.assign(rows.size(), 1.0f);
    for (size_t i = 0; i < rows.size(); ++i)
      clustering.entity[i] = static_cast<uint32_t>(i);
    if (st.message().empty() && !rows.empty())
      st.set_message("too few records to train a model; records unlinked");
  }
  progress_.store(0.9);

  // Stable entity ids: each new entity takes the id of the old entity it
  // shares most records with (largest overlaps first); the rest get new
  // ids. Old links are found by (extract id, record key), so a replaced
  // extract's unchanged records keep their entities.
  absl::flat_hash_map<std::string, uint64_t> old;
  {
    std::unique_ptr<rocksdb::Iterator> it(store_->db()->NewIterator(
        rocksdb::ReadOptions(), store_->cf(Family::kRecordEntity)));
    cohortlink::v1::RecordLink link;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (!link.ParseFromArray(it->value().data(),
                               static_cast<int>(it->value().size())))
        return absl::DataLossError("corrupt record link");
      old[absl::StrCat(it->key().ToString().substr(0, 8), link.record_key())] =
          link.entity_id();
    }
    RETURN_IF_ERROR(store::FromRocks(it->status(), "read record links"));
  }
  absl::flat_hash_map<uint32_t, absl::flat_hash_map<uint64_t, uint32_t>>
      overlap;  // representative -> old id -> shared records
  absl::flat_hash_map<uint32_t, uint32_t> members;
  for (size_t i = 0; i < rows.size(); ++i) {
    uint32_t rep = clustering.entity[i];
    ++members[rep];
    auto it = old.find(
        absl::StrCat(store::BigEndian64(versions[rows[i].version].extract_id),
                     rows[i].record_key));
    if (it != old.end()) ++overlap[rep][it->second];
  }
  struct Claim {
    uint32_t shared;
    uint32_t rep;
    uint64_t old_id;
  };
  std::vector<Claim> claims;
  for (const auto& [rep, ids] : overlap)
    for (const auto& [id, n] : ids) claims.push_back({n, rep, id});
  std::sort(claims.begin(), claims.end(), [](const Claim& a, const Claim& b) {
    return std::tie(b.shared, a.old_id, a.rep) <
           std::tie(a.shared, b.old_id, b.rep);
  });
  absl::flat_hash_map<uint32_t, uint64_t> id_of;
  absl::flat_hash_map<uint64_t, bool> taken;
  for (const Claim& c : claims) {
    if (id_of.contains(c.rep) || taken.contains(c.old_id)) continue;
    id_of[c.rep] = c.old_id;
    taken[c.old_id] = true;
  }
  uint64_t next_id = 1;
  {
    std::string v;
    if (store_->db()
            ->Get(rocksdb::ReadOptions(), store_->cf(Family::kMeta),
                  kMetaNextEntity, &v)
            .ok()) {
      next_id = store::ReadBigEndian64(v);
    }
  }
  std::vector<uint32_t> reps;
  for (const auto& [rep, n] : members) reps.push_back(rep);
  std::sort(reps.begin(), reps.end());
  for (uint32_t rep : reps)
    if (!id_of.contains(rep)) id_of[rep] = next_id++;

  // One write: the new map replaces the old, with the statuses.
  rocksdb::WriteBatch batch;
  const std::string lo(24, '\0'), hi(25, '\xff');
  batch.DeleteRange(store_->cf(Family::kRecordEntity), lo, hi);
  batch.DeleteRange(store_->cf(Family::kEntities), lo.substr(0, 8),
                    hi.substr(0, 9));
  cohortlink::v1::RecordLink link;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& ver = versions[rows[i].version];
    link.set_entity_id(id_of[clustering.entity[i]]);
    link.set_probability(clustering.probability[i]);
    link.set_model_version(model_version);
    link.set_record_key(rows[i].record_key);
    batch.Put(
        store_->cf(Family::kRecordEntity),
        store::RecordKey(ver.extract_id, ver.status.upload_id(), rows[i].index),
        link.SerializeAsString());
  }
  for (const auto& [rep, n] : members)
    batch.Put(store_->cf(Family::kEntities), store::BigEndian64(id_of[rep]),
              store::BigEndian64(n));
  batch.Put(store_->cf(Family::kMeta), kMetaNextEntity,
            store::BigEndian64(next_id));
  if (new_model.has_value()) {
    batch.Put(store_->cf(Family::kModel), store::BigEndian64(model_version),
              new_model->SerializeAsString());
    batch.Put(store_->cf(Family::kMeta), kMetaModel,
              store::BigEndian64(model_version));
  }
  st.set_records(rows.size());
  st.set_entities(members.size());
  st.set_model_version(model_version);
  st.set_linked_at(util::FormatUtc(options_.now()));
  batch.Put(store_->cf(Family::kMeta), kMetaStatus, st.SerializeAsString());
  RETURN_IF_ERROR(
      extracts_->WriteLinkageState(versions, cohortlink::v1::LINKED, &batch));
  progress_.store(1.0);
  return absl::OkStatus();
}

}  // namespace cohortlink::entities
