#include "linkage/entities/linkage_runner.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "keys/random.h"
#include "util/status_macros.h"
#include "util/text.h"

namespace cohortlink::entities {

using cohortlink::v1::LinkageModel;
using cohortlink::v1::LinkageStatus;

namespace {

// A record's order key (the linkage's tie-breaker): a hash of its agency,
// extract name and record key, so the same across runs, restarts,
// replacements and servers holding the same data.
uint64_t OrderKey(const cohortlink::v1::ExtractStatus& extract,
                  absl::string_view record_key) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a
  for (absl::string_view part :
       {absl::string_view(extract.agency()),
        absl::string_view(extract.extract_name()), record_key}) {
    for (unsigned char c : part) {
      h ^= c;
      h *= 0x100000001b3ULL;
    }
    h ^= 0x1f;
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  return h ^ (h >> 33);
}

using VersionId = std::pair<uint64_t, uint64_t>;  // extract id, upload id

VersionId IdOf(const store::ExtractVersion& v) {
  return {v.extract_id, v.status.upload_id()};
}

// A record as the entity ids follow it: extract and record key, the same
// in every version of the extract.
std::string IdKey(uint64_t extract_id, absl::string_view record_key) {
  return absl::StrCat(store::BigEndian64(extract_id), record_key);
}

}  // namespace

// What the runner remembers of the stored linkage between runs.
struct LinkageRunner::Memory {
  std::unique_ptr<LinkState> state;  // null: no model yet (all singletons)
  struct Row {
    uint64_t extract_id = 0, upload_id = 0, index = 0;
    std::string record_key;
    uint64_t entity_id = 0;  // 0: none yet
  };
  std::vector<Row> rows;  // per state record
  // What cohort queries read of each record, digested once.
  std::unique_ptr<cohort::QueryIndexBuilder> facts;
  struct Version {
    uint32_t begin = 0, end = 0;  // its records
  };
  absl::flat_hash_map<VersionId, Version> versions;
  uint32_t next_source = 0;
};

// What one run changed, for the write that records it.
struct LinkageRunner::Change {
  std::vector<uint32_t> touched;  // records whose entity the run set
  std::vector<uint32_t> removed;  // records that left
  std::vector<VersionId> removed_versions;
  bool rewrite_all = false;  // a full relink: the map is rewritten whole
};

LinkageModel ModelToProto(const model::Model& m,
                          const std::vector<std::string>& field_names,
                          const blocking::BlockPlan& plan) {
  LinkageModel p;
  auto* bp = p.mutable_block_plan();
  bp->set_token_cap(plan.token_cap);
  for (const auto& split : plan.token_splits)
    bp->add_token_splits()->mutable_bits()->Add(split.begin(), split.end());
  for (const auto& t : plan.tables) {
    auto* pt = bp->add_tables();
    pt->mutable_bits()->Add(t.bits.begin(), t.bits.end());
    pt->set_cap(t.cap);
    for (const auto& split : t.splits)
      pt->add_splits()->mutable_bits()->Add(split.begin(), split.end());
  }
  p.set_version(m.version);
  for (double t : m.thresholds) p.add_thresholds(t);
  for (size_t c = 0; c < m.fields.size(); ++c) {
    const model::FieldParams& f = m.fields[c];
    auto* cp = p.add_comparisons();
    cp->set_name(f.name);
    for (int member : f.members) cp->add_members(field_names[member]);
    cp->set_grouped(f.grouped);
    for (size_t l = 0; l < f.m.size(); ++l) {
      cp->add_level_names(m.LevelName(c, static_cast<uint8_t>(l)));
      cp->add_m(f.m[l]);
      cp->add_u(f.u[l]);
      cp->add_weight(m.LevelWeight(c, static_cast<uint8_t>(l)));
      cp->add_pooled(l < f.pooled.size() && f.pooled[l] != 0);
    }
  }
  p.set_prior(m.prior);
  p.set_prior_weight(m.PriorWeight());
  if (m.within_source_prior > 0) {
    p.set_within_source_prior(m.within_source_prior);
    p.set_within_source_prior_weight(m.PriorWeight(true));
  }
  p.set_candidate_pairs(m.candidate_pairs);
  p.set_u_sample_pairs(m.u_sample_pairs);
  p.set_em_iterations(m.em_iterations);
  p.set_em_converged(m.em_converged);
  p.set_method(m.method);
  return p;
}

blocking::BlockPlan PlanFromProto(const cohortlink::v1::BlockPlan& p) {
  blocking::BlockPlan plan;
  plan.token_cap = p.token_cap();
  for (const auto& split : p.token_splits())
    plan.token_splits.emplace_back(split.bits().begin(), split.bits().end());
  for (const auto& t : p.tables()) {
    blocking::BlockPlan::Table& table = plan.tables.emplace_back();
    table.bits.assign(t.bits().begin(), t.bits().end());
    table.cap = t.cap();
    for (const auto& split : t.splits())
      table.splits.emplace_back(split.bits().begin(), split.bits().end());
  }
  return plan;
}

absl::StatusOr<model::Model> ModelFromProto(
    const LinkageModel& p, const std::vector<std::string>& field_names) {
  model::Model m;
  m.version = p.version();
  m.thresholds.assign(p.thresholds().begin(), p.thresholds().end());
  m.prior = p.prior();
  m.within_source_prior = p.within_source_prior();
  m.candidate_pairs = p.candidate_pairs();
  m.u_sample_pairs = p.u_sample_pairs();
  m.em_iterations = p.em_iterations();
  m.em_converged = p.em_converged();
  if (!p.method().empty()) m.method = p.method();
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
    f.pooled.assign(cp.pooled().begin(), cp.pooled().end());
    f.grouped = cp.grouped();
    m.fields.push_back(std::move(f));
  }
  return m;
}

LinkageRunner::LinkageRunner(store::Store* store, store::ExtractStore* extracts,
                             RunnerOptions options)
    : store_(store),
      linkage_(store),
      extracts_(extracts),
      options_(std::move(options)) {}

LinkageRunner::~LinkageRunner() { Stop(); }

void LinkageRunner::Start() {
  // A first run whenever anything is stored: linked extracts too, as it
  // rebuilds the in-memory linkage (a full relink with the stored model
  // and block plan), so the first change after a restart is incremental.
  auto snap = extracts_->Snapshot();
  bool unlinked = !snap.ok() || !(*snap)->versions().empty();
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

std::string LinkageRunner::AgencyType(const std::string& agency) const {
  return options_.agency_type ? options_.agency_type(agency) : std::string();
}

absl::Status LinkageRunner::RebuildQueryIndex() {
  ASSIGN_OR_RETURN(keys::SecretBytes secret, linkage_.CellKeySecret());
  cohort::QueryIndexBuilder builder(std::string(secret.view()));
  ASSIGN_OR_RETURN(auto snap, extracts_->Snapshot());
  ASSIGN_OR_RETURN(auto status, linkage_.Status(snap.get()));
  for (size_t v = 0; v < snap->versions().size(); ++v) {
    const auto& ver = snap->versions()[v];
    if (ver.status.linkage_state() != cohortlink::v1::LINKED) continue;
    std::string type = AgencyType(ver.status.agency());
    if (type.empty()) continue;  // not a registered agency any more
    RETURN_IF_ERROR(linkage_.ForEachLinkedRecord(
        *snap, v,
        [&](const cohortlink::v1::EncodedRecord& r,
            const cohortlink::v1::RecordLink& link) {
          return builder.Add(type, ver.status.agency(),
                             ver.status.extract_name(), r, link.entity_id(),
                             link.probability());
        }));
  }
  ASSIGN_OR_RETURN(auto index, builder.Build());
  auto mutable_index = std::const_pointer_cast<cohort::QueryIndex>(index);
  if (status.has_value()) {
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
    if (!s.ok()) {
      NoteOutcome(s);
      if (options_.on_run) options_.on_run(s, Status());
    }
  }
  // After a failure the run is tried again by itself, at growing
  // intervals (a full disk or a passing read error may clear), as well as
  // on the next change.
  absl::Duration retry = options_.retry_first;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto woken = absl::Condition(
          +[](LinkageRunner* r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(r->mu_) {
            return r->pending_ || r->stop_;
          },
          this);
      if (failure_.ok()) {
        mu_.Await(woken);
      } else if (!mu_.AwaitWithTimeout(woken, retry)) {
        pending_ = true;  // time to try again
        retry = std::min(retry * 2, options_.retry_max);
      }
      if (stop_) return;
    }
    absl::SleepFor(options_.debounce);
    absl::Status s = RunOnce();
    if (s.ok()) retry = options_.retry_first;
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
  NoteOutcome(s);
  absl::MutexLock lock(&mu_);
  running_ = false;
  return s;
}

void LinkageRunner::NoteOutcome(const absl::Status& s) {
  // A run stopped because newer data arrived (CANCELLED) is neither a
  // failure nor a success: the next run decides.
  if (absl::IsCancelled(s)) return;
  absl::MutexLock lock(&mu_);
  if (s.ok()) {
    failure_ = absl::OkStatus();
    return;
  }
  failure_ = s;
  failed_at_ = options_.now();
  ++failures_;
}

absl::Status LinkageRunner::Failure() const {
  absl::MutexLock lock(&mu_);
  return failure_;
}

uint64_t LinkageRunner::failures() const {
  absl::MutexLock lock(&mu_);
  return failures_;
}

LinkageStatus LinkageRunner::Status() const {
  auto stored = linkage_.Status();
  LinkageStatus st;
  if (stored.ok() && stored->has_value()) st = **std::move(stored);
  absl::MutexLock lock(&mu_);
  absl::Status failure = failure_;
  if (!stored.ok() && failure.ok()) failure = stored.status();
  if (!failure.ok()) {
    // A failure shows until a run succeeds, even while the next one runs.
    st.set_state(cohortlink::v1::FAILED);
    st.set_failure(std::string(failure.message()));
    if (failed_at_ != absl::InfinitePast())
      st.set_failed_at(util::FormatUtc(failed_at_));
    st.set_progress(running_ ? progress_.load() : 0.0);
    return st;
  }
  st.set_state(running_   ? cohortlink::v1::LINKING
               : pending_ ? cohortlink::v1::PENDING
                          : cohortlink::v1::LINKED);
  st.set_progress(running_ ? progress_.load() : (pending_ ? 0.0 : 1.0));
  return st;
}

absl::StatusOr<std::shared_ptr<const cohort::QueryIndex>>
LinkageRunner::ServingIndex() const {
  absl::MutexLock lock(&mu_);
  if (!failure_.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "the linkage failed and queries are refused until it is repaired: ",
        failure_.message()));
  }
  if (index_ == nullptr) {
    return absl::UnavailableError(
        "the linkage is still loading; try again in a moment");
  }
  return index_;
}

absl::StatusOr<LinkageModel> LinkageRunner::CurrentModel() const {
  return linkage_.CurrentModel();
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
  cohortlink::v1::LinkRow row;
  for (size_t v = 0; v < snap->versions().size(); ++v) {
    const auto& ver = snap->versions()[v];
    RETURN_IF_ERROR(linkage_.ForEachLink(
        *snap, v, [&](const cohortlink::v1::RecordLink& link) {
          row.set_agency(ver.status.agency());
          row.set_extract(ver.status.extract_name());
          row.set_record_key(link.record_key());
          row.set_entity_id(link.entity_id());
          row.set_match_probability(link.probability());
          return fn(row);
        }));
  }
  return absl::OkStatus();
}

absl::Status LinkageRunner::Run() {
  absl::MutexLock run_lock(&run_mu_);
  const auto started = std::chrono::steady_clock::now();
  progress_.store(0.01);
  ASSIGN_OR_RETURN(auto snap, extracts_->Snapshot());
  const auto& versions = snap->versions();
  {
    store::LinkageWrite none(store_);
    RETURN_IF_ERROR(
        extracts_->WriteLinkageState(versions, cohortlink::v1::LINKING, &none));
  }
  ASSIGN_OR_RETURN(auto previous, linkage_.Status());
  LinkageStatus st;
  st.set_generation((previous.has_value() ? previous->generation() : 0) + 1);

  // Incremental unless the model is to be (re)trained, nothing is held in
  // memory yet, or withdrawn records would make up too many of those held.
  ASSIGN_OR_RETURN(LinkageModel stored_model, CurrentModel());
  uint64_t total = 0;
  absl::flat_hash_set<std::string> agencies;
  for (const auto& v : versions) {
    total += v.status.records();
    agencies.insert(v.status.agency());
  }
  bool retrain =
      retrain_.exchange(false) || stored_model.version() == 0 ||
      total >= options_.retrain_growth *
                   static_cast<double>(stored_model.records()) ||
      (stored_model.agencies() > 0 &&
       agencies.size() >= options_.retrain_agency_growth *
                              static_cast<double>(stored_model.agencies()));
  bool incremental = !retrain && memory_ != nullptr && memory_->state;
  if (incremental) {
    absl::flat_hash_set<VersionId> current;
    for (const auto& v : versions) current.insert(IdOf(v));
    uint64_t leaving = memory_->state->dead();
    for (const auto& [id, v] : memory_->versions)
      if (!current.contains(id)) leaving += v.end - v.begin;
    incremental = static_cast<double>(leaving) <
                  options_.compact_fraction * memory_->state->size();
  }
  std::optional<LinkageModel> new_model;
  Change change;
  absl::Status run = incremental ? RunIncremental(*snap, &st, &change)
                                 : RunFull(*snap, stored_model, retrain, &st,
                                           &new_model, &change);
  if (!run.ok()) {
    if (retrain && run.code() == absl::StatusCode::kCancelled)
      retrain_.store(true);  // the next run retrains instead
    memory_.reset();         // the next run starts afresh
    return run;
  }
  if (new_model.has_value())
    new_model->set_agencies(static_cast<uint32_t>(agencies.size()));
  progress_.store(0.9);
  Memory& mem = *memory_;
  // Memory ahead of storage is no memory: forget it unless the write below
  // succeeds.
  absl::Cleanup forget = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(run_mu_) {
    memory_.reset();
  };
  const uint64_t model_version =
      new_model.has_value() ? new_model->version() : stored_model.version();

  // Stable entity ids: each entity the run formed takes the id of the old
  // entity it shares most records with (largest overlaps first); the rest
  // get new ids. The old entities of the touched and removed records are
  // wholly among them (an entity never spans two components), so the old
  // ids not taken are retired.
  auto label_of = [&](uint32_t x) {
    return mem.state ? mem.state->entity(x) : x;
  };
  absl::flat_hash_map<uint32_t, absl::flat_hash_map<uint64_t, uint32_t>>
      overlap;  // label -> old id -> shared records
  absl::flat_hash_map<uint32_t, uint32_t> members;
  for (uint32_t x : change.touched) {
    uint32_t label = label_of(x);
    ++members[label];
    if (mem.rows[x].entity_id != 0) ++overlap[label][mem.rows[x].entity_id];
  }
  struct Claim {
    uint32_t shared;
    uint32_t label;
    uint64_t old_id;
  };
  std::vector<Claim> claims;
  for (const auto& [label, ids] : overlap)
    for (const auto& [id, n] : ids) claims.push_back({n, label, id});
  std::sort(claims.begin(), claims.end(), [](const Claim& a, const Claim& b) {
    return std::tie(b.shared, a.old_id, a.label) <
           std::tie(a.shared, b.old_id, b.label);
  });
  absl::flat_hash_map<uint32_t, uint64_t> id_of;
  absl::flat_hash_set<uint64_t> taken;
  for (const Claim& c : claims) {
    if (id_of.contains(c.label) || taken.contains(c.old_id)) continue;
    id_of[c.label] = c.old_id;
    taken.insert(c.old_id);
  }
  ASSIGN_OR_RETURN(uint64_t next_id, linkage_.NextEntityId());
  // New ids in order of each entity's first touched record.
  for (uint32_t x : change.touched)
    if (!id_of.contains(label_of(x))) id_of[label_of(x)] = next_id++;

  // One write: the changed links, entities and statuses.
  store::LinkageWrite write(store_);
  if (change.rewrite_all) {
    write.RemoveAllLinks();
  } else {
    for (const auto& [extract, upload] : change.removed_versions)
      write.RemoveVersionLinks(extract, upload);
    auto retire = [&](uint64_t id) {
      if (id != 0 && !taken.contains(id)) write.RemoveEntity(id);
    };
    for (uint32_t x : change.touched) retire(mem.rows[x].entity_id);
    for (uint32_t x : change.removed) retire(mem.rows[x].entity_id);
  }
  cohortlink::v1::RecordLink link;
  for (uint32_t x : change.touched) {
    Memory::Row& row = mem.rows[x];
    row.entity_id = id_of[label_of(x)];
    link.set_entity_id(row.entity_id);
    link.set_probability(mem.state ? mem.state->probability(x) : 1.0f);
    link.set_model_version(model_version);
    link.set_record_key(row.record_key);
    write.PutLink(row.extract_id, row.upload_id, row.index, link);
  }
  for (const auto& [label, n] : members) write.PutEntity(id_of[label], n);
  write.SetNextEntityId(next_id);
  if (new_model.has_value()) write.PutModel(*new_model);
  st.set_records(mem.state ? mem.state->live() : mem.rows.size());
  st.set_entities(mem.state ? mem.state->entities() : mem.rows.size());
  st.set_model_version(model_version);
  {
    const LinkageModel& used =
        new_model.has_value() ? *new_model : stored_model;
    if (used.version() > 0) {
      st.set_model_method(used.method().empty() ? "em" : used.method());
      st.set_model_converged(used.em_converged());
      st.set_model_em_iterations(used.em_iterations());
    }
  }
  st.set_linked_at(util::FormatUtc(options_.now()));
  st.set_run_seconds(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count());
  write.SetStatus(st);
  RETURN_IF_ERROR(
      extracts_->WriteLinkageState(versions, cohortlink::v1::LINKED, &write));
  std::move(forget).Cancel();

  // The cohort-query index of the new linkage, from memory.
  std::vector<uint32_t> live;
  std::vector<uint64_t> ids;
  std::vector<float> probabilities;
  live.reserve(mem.rows.size());
  ids.reserve(mem.rows.size());
  probabilities.reserve(mem.rows.size());
  for (uint32_t x = 0; x < mem.rows.size(); ++x) {
    if (mem.state && !mem.state->alive(x)) continue;
    live.push_back(x);
    ids.push_back(mem.rows[x].entity_id);
    probabilities.push_back(mem.state ? mem.state->probability(x) : 1.0f);
  }
  ASSIGN_OR_RETURN(auto index, mem.facts->BuildFor(live, ids, probabilities));
  auto mutable_index = std::const_pointer_cast<cohort::QueryIndex>(index);
  mutable_index->generation = st.generation();
  mutable_index->linked_at = st.linked_at();
  {
    absl::MutexLock lock(&mu_);
    index_ = std::move(index);
  }
  progress_.store(1.0);
  return absl::OkStatus();
}

namespace {

// A run's figures into the status.
void SetRunStats(const RunStats& r, LinkageStatus* st) {
  st->set_candidate_pairs(r.blocking.candidates);
  st->set_token_pairs(r.blocking.token_pairs);
  st->set_lsh_pairs(r.blocking.lsh_pairs);
  st->set_oversized_blocks(r.blocking.oversized_blocks);
  st->set_split_pairs(r.blocking.split_pairs);
  st->set_reduction_ratio(r.blocking.reduction_ratio());
  st->set_links(r.links);
  st->set_refused_merges(r.cluster.refused_merges);
  st->set_blocking_seconds(r.times.blocking_s);
  st->set_training_seconds(r.times.training_s);
  st->set_scoring_seconds(r.times.scoring_s);
  st->set_clustering_seconds(r.times.clustering_s);
  st->set_records_added(r.added);
  st->set_records_removed(r.removed);
  st->set_records_touched(r.touched);
}

}  // namespace

absl::Status LinkageRunner::ReadVersion(
    const store::ExtractSnapshot& snap, size_t v, Memory* mem,
    const std::function<absl::Status(const cohortlink::v1::EncodedRecord&,
                                     uint32_t partition, uint64_t order)>&
        add) {
  const store::ExtractVersion& ver = snap.versions()[v];
  const std::string type = AgencyType(ver.status.agency());
  Memory::Version mv;
  mv.begin = static_cast<uint32_t>(mem->rows.size());
  absl::Status s = absl::OkStatus();
  RETURN_IF_ERROR(snap.ForEachRecord(
      v, [&](uint64_t index, const cohortlink::v1::EncodedRecord& r) {
        if (!s.ok()) return;
        // Records of different key epochs are never compared.
        s = add(r, store::KeyEpoch(ver.status.key_epoch()),
                OrderKey(ver.status, r.record_key()));
        if (s.ok()) {
          s = mem->facts->AddFacts(type, ver.status.agency(),
                                   ver.status.extract_name(), r);
        }
        mem->rows.push_back(
            {ver.extract_id, ver.status.upload_id(), index, r.record_key()});
      }));
  RETURN_IF_ERROR(s);
  mv.end = static_cast<uint32_t>(mem->rows.size());
  mem->versions[IdOf(ver)] = mv;
  return absl::OkStatus();
}

absl::Status LinkageRunner::RunFull(const store::ExtractSnapshot& snap,
                                    const LinkageModel& stored_model,
                                    bool retrain, LinkageStatus* st,
                                    std::optional<LinkageModel>* new_model,
                                    Change* change) {
  memory_.reset();  // rebuilt below
  auto mem = std::make_unique<Memory>();
  change->rewrite_all = true;
  const auto& versions = snap.versions();
  uint64_t expected = 0;
  for (const auto& v : versions) expected += v.status.records();
  ASSIGN_OR_RETURN(auto layout, extracts_->Layout());
  ASSIGN_OR_RETURN(keys::SecretBytes cell_secret, linkage_.CellKeySecret());
  std::string secret(cell_secret.view());
  absl::Cleanup wipe = [&secret] { keys::SecretBytes(std::move(secret)); };
  // The records, in snapshot order, with their order keys.
  std::vector<uint64_t> order;
  auto load = [&]() -> absl::StatusOr<std::optional<blocking::Dataset>> {
    mem->rows.clear();
    mem->versions.clear();
    order.clear();
    mem->facts = std::make_unique<cohort::QueryIndexBuilder>(secret);
    if (!layout.has_value() || expected == 0) return std::nullopt;
    ASSIGN_OR_RETURN(blocking::Dataset data,
                     blocking::Dataset::ForLayout(*layout));
    data.Reserve(expected);
    mem->rows.reserve(expected);
    order.reserve(expected);
    for (size_t v = 0; v < versions.size(); ++v) {
      RETURN_IF_ERROR(
          ReadVersion(snap, v, mem.get(),
                      [&](const cohortlink::v1::EncodedRecord& r,
                          uint32_t partition, uint64_t key) {
                        order.push_back(key);
                        if (order.size() % 65536 == 0)
                          progress_.store(0.3 * order.size() / expected);
                        return data.Add(static_cast<uint32_t>(v), r, partition);
                      }));
    }
    mem->next_source = static_cast<uint32_t>(versions.size());
    return data;
  };
  ASSIGN_OR_RETURN(std::optional<blocking::Dataset> data, load());
  progress_.store(0.3);
  // The old ids, so a replaced extract's unchanged records keep their
  // entities.
  {
    absl::flat_hash_map<std::string, uint64_t> old;
    RETURN_IF_ERROR(linkage_.ForEachStoredLink(
        [&](uint64_t extract_id, const cohortlink::v1::RecordLink& link) {
          old[IdKey(extract_id, link.record_key())] = link.entity_id();
          return absl::OkStatus();
        }));
    for (Memory::Row& row : mem->rows) {
      auto found = old.find(IdKey(row.extract_id, row.record_key));
      if (found != old.end()) row.entity_id = found->second;
    }
  }

  // The model: keep the current one (with its block plan) unless
  // retraining is due.
  std::optional<model::Model> current;
  blocking::BlockPlan plan = PlanFromProto(stored_model.block_plan());
  if (stored_model.version() > 0 && data.has_value()) {
    auto m = ModelFromProto(stored_model, data->field_names());
    if (m.ok()) current = *std::move(m);
  }
  retrain = retrain || !current.has_value();
  std::vector<std::string> field_names;
  if (data.has_value() && mem->rows.size() >= 2) {
    field_names = data->field_names();
    auto stage = [this](double p) { progress_.store(0.3 + 0.55 * p); };
    // A change committed meanwhile makes this run's result stale: stop
    // early and let the worker start over with the newer data.
    auto superseded = [this] {
      absl::MutexLock lock(&mu_);
      return pending_;
    };
    auto link = [&](blocking::Dataset d, bool train) {
      return LinkState::Link(std::move(d), order, options_.link,
                             train ? nullptr : &*current,
                             train ? nullptr : &plan, stage, superseded);
    };
    bool trained = retrain;
    auto linked = link(*std::move(data), retrain);
    if (!linked.ok() && retrain && current.has_value() &&
        linked.status().code() == absl::StatusCode::kFailedPrecondition) {
      trained = false;  // too little data to retrain: keep the old model
      ASSIGN_OR_RETURN(data, load());
      linked = link(*std::move(data), false);
    }
    if (linked.ok()) {
      mem->state = *std::move(linked);
      if (trained) {
        model::Model m = mem->state->model();
        m.version = stored_model.version() + 1;
        *new_model = ModelToProto(m, field_names, mem->state->plan());
        (*new_model)->set_trained_at(util::FormatUtc(options_.now()));
        (*new_model)->set_records(mem->rows.size());
      }
      SetRunStats(mem->state->last_run(), st);
      change->touched = mem->state->touched();
    } else if (linked.status().code() ==
               absl::StatusCode::kFailedPrecondition) {
      st->set_message(std::string(linked.status().message()));
    } else {
      return linked.status();
    }
  }
  if (!mem->state) {  // no model: singletons
    change->touched.resize(mem->rows.size());
    for (size_t i = 0; i < mem->rows.size(); ++i)
      change->touched[i] = static_cast<uint32_t>(i);
    if (st->message().empty() && !mem->rows.empty())
      st->set_message("too few records to train a model; records unlinked");
  }
  memory_ = std::move(mem);
  return absl::OkStatus();
}

absl::Status LinkageRunner::RunIncremental(const store::ExtractSnapshot& snap,
                                           LinkageStatus* st, Change* change) {
  Memory& mem = *memory_;
  LinkState& state = *mem.state;
  const auto& versions = snap.versions();
  absl::flat_hash_set<VersionId> current;
  const size_t first_added = mem.rows.size();
  for (size_t v = 0; v < versions.size(); ++v) {
    current.insert(IdOf(versions[v]));
    if (mem.versions.contains(IdOf(versions[v]))) continue;
    // A new version: its records join.
    const uint32_t source = mem.next_source++;
    RETURN_IF_ERROR(ReadVersion(
        snap, v, &mem,
        [&](const cohortlink::v1::EncodedRecord& r, uint32_t partition,
            uint64_t key) { return state.Add(source, r, partition, key); }));
  }
  progress_.store(0.3);
  // Withdrawn and replaced versions: their records leave.
  for (auto it = mem.versions.begin(); it != mem.versions.end();) {
    if (current.contains(it->first)) {
      ++it;
      continue;
    }
    for (uint32_t x = it->second.begin; x < it->second.end; ++x)
      change->removed.push_back(x);
    change->removed_versions.push_back(it->first);
    mem.versions.erase(it++);
  }
  // A replaced extract's records that come back (same extract, same
  // record key) bring their old entity id as a claim, as in a full relink,
  // so re-sending an extract does not renumber its entities.
  if (!change->removed.empty()) {
    absl::flat_hash_map<std::string, uint64_t> replaced;
    for (uint32_t x : change->removed)
      replaced[IdKey(mem.rows[x].extract_id, mem.rows[x].record_key)] =
          mem.rows[x].entity_id;
    for (size_t x = first_added; x < mem.rows.size(); ++x) {
      auto it =
          replaced.find(IdKey(mem.rows[x].extract_id, mem.rows[x].record_key));
      if (it != replaced.end()) mem.rows[x].entity_id = it->second;
    }
  }
  RETURN_IF_ERROR(state.Update(change->removed));
  change->touched = state.touched();
  SetRunStats(state.last_run(), st);
  st->set_incremental(true);
  return absl::OkStatus();
}

}  // namespace cohortlink::entities
