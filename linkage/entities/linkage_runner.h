#ifndef COHORTLINK_LINKAGE_ENTITIES_LINKAGE_RUNNER_H_
#define COHORTLINK_LINKAGE_ENTITIES_LINKAGE_RUNNER_H_

// Keeps the stored linkage current. After every committed change (a new
// extract version, a withdrawal, a replacement: both at once), a
// background worker brings the linkage up to date from one consistent
// snapshot and writes what changed in one atomic write, so readers always
// see one complete linkage.
//
// Incremental: the runner keeps the linkage in memory (LinkState: the
// filters in aligned arrays, the block index, the links, the entities).
// A change's records are blocked and scored against the stored ones, a
// withdrawn extract's records leave with their links, and only the
// entities linked to the change are clustered again and rewritten; see
// link_state.h for why the result equals a full relink. A full relink is
// made instead on the run the worker makes at start (rebuilding the memory
// from RocksDB), when the model is (re)trained, and when withdrawn records
// make up a third of those held (RunnerOptions::compact_fraction).
//
// Entity ids are stable: each new entity takes the id of the old entity
// that shares most of its records (largest overlap first), so entities a
// change did not touch keep their ids; ids are never reused.
//
// The model is trained on the first run with enough data (model::Train),
// kept for later runs, and retrained on request (RequestRetrain) or
// automatically once the stored records have grown to `retrain_growth`
// times those it was trained on, or the agencies holding them to
// `retrain_agency_growth` times (a model trained while only the first
// agency had uploaded knows duplicates within an agency, not links across
// agencies). The block plan is chosen and stored with the model. Each stored
// link records the model version that scored it.

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cohortlink/v1/linkage.pb.h"
#include "linkage/cohort/query_index.h"
#include "linkage/entities/linker.h"
#include "linkage/store/extract_store.h"
#include "linkage/store/linkage_store.h"
#include "linkage/store/store.h"

namespace cohortlink::entities {

struct RunnerOptions {
  LinkOptions link;
  std::function<absl::Time()> now = [] { return absl::Now(); };
  double retrain_growth = 2.0;
  double retrain_agency_growth = 1.5;
  // A full relink replaces the incremental run once withdrawn records
  // (kept in memory until then) would make up this share of those held.
  double compact_fraction = 1.0 / 3;
  // Changes arriving within this interval share one run.
  absl::Duration debounce = absl::Milliseconds(200);
  // A failed run is tried again after retry_first, then at doubling
  // intervals up to retry_max, until one succeeds.
  absl::Duration retry_first = absl::Seconds(2);
  absl::Duration retry_max = absl::Minutes(5);
  // The agency type of an agency id (for cohort queries); "" when unknown.
  std::function<std::string(const std::string& agency)> agency_type;
  // Called with each run's outcome (for the server's log).
  std::function<void(const absl::Status&, const cohortlink::v1::LinkageStatus&)>
      on_run;
};

class LinkageRunner {
 public:
  LinkageRunner(store::Store* store, store::ExtractStore* extracts,
                RunnerOptions options);
  ~LinkageRunner();  // stops the worker (a run in progress finishes first)
  LinkageRunner(const LinkageRunner&) = delete;
  LinkageRunner& operator=(const LinkageRunner&) = delete;

  // Starts the background worker; it runs once at start if anything is
  // stored (a full relink that rebuilds the in-memory linkage).
  void Start() ABSL_LOCKS_EXCLUDED(mu_);
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);
  // Something changed: relink soon.
  void Notify() ABSL_LOCKS_EXCLUDED(mu_);
  // Retrain the model on the next run, and start one.
  void RequestRetrain();
  // One run now, on the calling thread (tests; the worker calls it too).
  absl::Status RunOnce();

  // The last completed run's figures, with the live state and progress.
  // State FAILED, with the reason, from a failed run (or an unreadable
  // stored status) until a run succeeds.
  cohortlink::v1::LinkageStatus Status() const;
  // OK, or why the last run failed (the FAILED state).
  absl::Status Failure() const;
  // Runs that failed since the start (for metrics).
  uint64_t failures() const;
  // The index queries are answered from: UNAVAILABLE, with the reason,
  // while the linkage is failed or still loading. Never an empty or stale
  // stand-in.
  absl::StatusOr<std::shared_ptr<const cohort::QueryIndex>> ServingIndex()
      const;
  // Progress of the run in progress (0 when idle).
  double progress() const { return progress_.load(); }
  absl::StatusOr<cohortlink::v1::LinkageModel> CurrentModel() const;
  // The cohort-query index of the last completed run (null until the
  // worker has built it, shortly after start).
  std::shared_ptr<const cohort::QueryIndex> QueryIndex() const;
  // Rebuilds the query index from the stored linkage (the worker does this
  // at start; each run builds it from memory).
  absl::Status RebuildQueryIndex();
  // Every linked record (agency, extract, record key, entity, probability)
  // from one snapshot of the linkage map; FAILED_PRECONDITION unless every
  // stored extract is linked.
  absl::Status ForEachLink(
      const std::function<absl::Status(const cohortlink::v1::LinkRow&)>& fn,
      uint64_t* total = nullptr) const;

 private:
  void Loop() ABSL_LOCKS_EXCLUDED(mu_, run_mu_);
  absl::Status Run() ABSL_LOCKS_EXCLUDED(run_mu_);
  // Records a run's outcome as the failure state.
  void NoteOutcome(const absl::Status& s) ABSL_LOCKS_EXCLUDED(mu_);
  std::string AgencyType(const std::string& agency) const;
  struct Memory;
  struct Change;
  // The full relink / the incremental update of one run; what it changed
  // goes into `change`.
  absl::Status RunFull(const store::ExtractSnapshot& snap,
                       const cohortlink::v1::LinkageModel& stored_model,
                       bool retrain, cohortlink::v1::LinkageStatus* st,
                       std::optional<cohortlink::v1::LinkageModel>* new_model,
                       Change* change) ABSL_EXCLUSIVE_LOCKS_REQUIRED(run_mu_);
  absl::Status RunIncremental(const store::ExtractSnapshot& snap,
                              cohortlink::v1::LinkageStatus* st, Change* change)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(run_mu_);
  // Appends version v's records to memory, a row each with its query
  // facts; `add` puts each into the linkage with its key epoch
  // (partition) and order key.
  absl::Status ReadVersion(
      const store::ExtractSnapshot& snap, size_t v, Memory* mem,
      const std::function<absl::Status(const cohortlink::v1::EncodedRecord&,
                                       uint32_t partition, uint64_t order)>&
          add);

  store::Store* store_;
  store::LinkageStore linkage_;
  store::ExtractStore* extracts_;
  RunnerOptions options_;
  std::atomic<double> progress_{0};
  std::atomic<bool> retrain_{false};
  mutable absl::Mutex mu_;
  bool pending_ ABSL_GUARDED_BY(mu_) = false;
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  absl::Time failed_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  uint64_t failures_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Mutex run_mu_;  // one run at a time
  std::unique_ptr<Memory> memory_ ABSL_GUARDED_BY(run_mu_);
  std::shared_ptr<const cohort::QueryIndex> index_ ABSL_GUARDED_BY(mu_);
  std::thread worker_;
};

// Conversions between the engine's model and its stored form.
cohortlink::v1::LinkageModel ModelToProto(
    const model::Model& m, const std::vector<std::string>& field_names,
    const blocking::BlockPlan& plan);
blocking::BlockPlan PlanFromProto(const cohortlink::v1::BlockPlan& p);
absl::StatusOr<model::Model> ModelFromProto(
    const cohortlink::v1::LinkageModel& p,
    const std::vector<std::string>& field_names);

}  // namespace cohortlink::entities

#endif  // COHORTLINK_LINKAGE_ENTITIES_LINKAGE_RUNNER_H_
