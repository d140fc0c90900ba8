// The stored linkage under add, replace and withdraw: the same partition
// as a from-scratch linkage of the same data, stable entity ids for
// entities a change does not touch, and a consistent export.

#include "linkage/entities/linkage_runner.h"

#include <map>
#include <random>
#include <set>

#include "gtest/gtest.h"
#include "keys/mac.h"
#include "linkage/encoding/encode_pipeline.h"
#include "linkage/encoding/extract_file.h"
#include "linkage/store/meta_keys.h"
#include "linkage/synth/synth.h"
#include "rocksdb/write_batch.h"
#include "util/temp_dir.h"

namespace cohortlink::entities {
namespace {

struct Extract {
  cohortlink::v1::UploadHeader header;
  std::string framed;
};

// A synthetic region encoded once per agency (shared by all tests).
class Region {
 public:
  static Region& Get() {
    static Region* r = new Region();
    return *r;
  }
  // `agency`'s extract, or its first `rows` records when rows > 0.
  Extract Load(const std::string& agency, const std::string& name,
               size_t rows = 0) {
    auto reader = encoding::ExtractReader::Open(dir_.File(agency + ".clx"));
    EXPECT_TRUE(reader.ok()) << reader.status();
    Extract e;
    e.header.set_extract_name(name);
    *e.header.mutable_extract() = (*reader)->header();
    std::string bytes;
    uint64_t n = 0;
    while (*(*reader)->Next(&bytes) && (rows == 0 || n < rows)) {
      encoding::AppendLengthDelimited(bytes, &e.framed);
      ++n;
    }
    e.header.set_record_count(n);
    e.header.set_content_digest(keys::Sha256::Digest(e.framed));
    return e;
  }

 private:
  Region() {
    synth::SynthOptions so;
    so.people = 1500;
    so.out_dir = dir_.File("region");
    EXPECT_TRUE(synth::GenerateRegion(so).ok());
    auto schema = encoding::LoadSchemaFile(dir_.File("region/schema.json"));
    EXPECT_TRUE(schema.ok()) << schema.status();
    for (const char* a : {"police", "probation", "prison", "health"}) {
      auto enc = encoding::NewRecordEncoder(*schema, "runner test secret", {});
      EXPECT_TRUE(enc.ok());
      auto r = encoding::EncodeCsv(
          **enc, dir_.File(std::string("region/") + a + ".csv"),
          dir_.File(std::string(a) + ".clx"), {});
      EXPECT_TRUE(r.ok()) << r.status();
    }
  }
  util::TempDir dir_{"linkage_runner_region"};
};

// A server's worth of storage with a runner (no worker thread: runs are
// made explicitly).
class Server {
 public:
  explicit Server(const std::string& dir, RunnerOptions options = {})
      : options_(std::move(options)) {
    store_ = *store::Store::Open(dir);
    extracts_ = *store::ExtractStore::Create(store_.get());
    Restart();
  }
  // A new runner on the same storage, as after a server restart: it holds
  // nothing in memory, so its first run is a full relink.
  void Restart() {
    runner_.reset();
    runner_ = std::make_unique<LinkageRunner>(store_.get(), extracts_.get(),
                                              options_);
  }
  void Upload(const std::string& agency, const Extract& e) {
    auto s = extracts_->BeginUpload(agency, "test", e.header);
    ASSERT_TRUE(s.ok()) << s.status();
    ASSERT_TRUE((*s)->AddFramedRecords(e.framed).ok());
    ASSERT_TRUE((*s)->Commit().ok());
  }
  void Withdraw(const std::string& agency, const std::string& name) {
    ASSERT_TRUE(extracts_->Delete(agency, name).ok());
  }
  void Link(bool retrain = false) {
    if (retrain) runner_->RequestRetrain();
    ASSERT_TRUE(runner_->RunOnce().ok());
  }
  // agency/extract/record key -> entity id
  std::map<std::string, uint64_t> Links() {
    std::map<std::string, uint64_t> out;
    EXPECT_TRUE(
        runner_
            ->ForEachLink([&](const cohortlink::v1::LinkRow& r) {
              out[r.agency() + "/" + r.extract() + "/" + r.record_key()] =
                  r.entity_id();
              return absl::OkStatus();
            })
            .ok());
    return out;
  }
  LinkageRunner& runner() { return *runner_; }
  store::ExtractStore& extracts() { return *extracts_; }
  store::Store& store() { return *store_; }

 private:
  RunnerOptions options_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<store::ExtractStore> extracts_;
  std::unique_ptr<LinkageRunner> runner_;
};

// Each entity's records (names), by entity id.
std::map<uint64_t, std::set<std::string>> Members(
    const std::map<std::string, uint64_t>& links) {
  std::map<uint64_t, std::set<std::string>> by;
  for (const auto& [rec, id] : links) by[id].insert(rec);
  return by;
}

// The partition a linkage map induces: sets of record names.
std::set<std::set<std::string>> Partition(
    const std::map<std::string, uint64_t>& links) {
  std::set<std::set<std::string>> out;
  for (auto& [id, recs] : Members(links)) out.insert(recs);
  return out;
}

TEST(LinkageRunnerTest, ChangesGiveTheSameLinkageAsAFreshRelink) {
  Region& region = Region::Get();
  util::TempDir tmp("linkage_runner_test");
  Server a(tmp.File("a"));
  a.Upload("police", region.Load("police", "arrests"));
  a.Upload("prison", region.Load("prison", "releases", 200));
  a.Link();
  a.Upload("health", region.Load("health", "gp"));
  a.Link();
  a.Upload("prison", region.Load("prison", "releases"));  // replace
  a.Upload("probation", region.Load("probation", "cases"));
  a.Link();
  a.Withdraw("health", "gp");
  a.Link(/*retrain=*/true);

  Server b(tmp.File("b"));
  b.Upload("police", region.Load("police", "arrests"));
  b.Upload("prison", region.Load("prison", "releases"));
  b.Upload("probation", region.Load("probation", "cases"));
  b.Link();

  auto la = a.Links(), lb = b.Links();
  ASSERT_EQ(la.size(), lb.size());
  for (const auto& [rec, id] : la) {
    EXPECT_TRUE(lb.contains(rec)) << rec;
    EXPECT_EQ(rec.rfind("health/", 0), std::string::npos);  // withdrawn
  }
  EXPECT_EQ(Partition(la), Partition(lb));
  // Several agencies' records were linked together.
  EXPECT_LT(Partition(la).size(), la.size());
  auto status = a.runner().Status();
  EXPECT_EQ(status.state(), cohortlink::v1::LINKED);
  EXPECT_EQ(status.records(), la.size());
  // v1 on police and prison, v2 when health made three agencies (1.5
  // times two), v3 on request.
  EXPECT_EQ(status.model_version(), 3u);
  auto listed = a.extracts().List("");
  ASSERT_TRUE(listed.ok());
  for (const auto& x : *listed)
    EXPECT_EQ(x.linkage_state(), cohortlink::v1::LINKED) << x.extract_name();
}

// Incremental runs (a change scored against the stored records, only the
// entities it touches reclustered) against a full relink of the same data
// with the same model and block plan. Block caps are set high enough that
// no block crosses its cap between runs, the one case where the two may
// differ (link_state.h).
TEST(LinkageRunnerTest, IncrementalRunsEqualAFullRelinkWithTheSameModel) {
  Region& region = Region::Get();
  util::TempDir tmp("linkage_runner_test");
  RunnerOptions options;
  options.retrain_growth = 1e9;  // one model throughout
  options.retrain_agency_growth = 1e9;
  options.compact_fraction = 0.9;
  options.agency_type = [](const std::string& agency) { return agency; };
  options.link.blocking.max_block = 100000;
  options.link.blocking.token_pairs_per_record = 1e9;
  options.link.blocking.lsh_pairs_per_record = 1e9;
  Server s(tmp.File("s"), options);
  s.Upload("police", region.Load("police", "arrests", 900));
  s.Upload("prison", region.Load("prison", "releases", 200));
  s.Link();
  EXPECT_FALSE(s.runner().Status().incremental());
  auto first = s.Links();

  s.Upload("health", region.Load("health", "gp"));  // add
  s.Link();
  auto status = s.runner().Status();
  EXPECT_TRUE(status.incremental());
  EXPECT_GT(status.records_added(), 0u);
  EXPECT_EQ(status.records_removed(), 0u);
  EXPECT_LT(status.records_touched(), status.records());
  auto before_replace = s.Links();
  s.Upload("prison", region.Load("prison", "releases"));  // replace
  s.Upload("probation", region.Load("probation", "cases"));
  s.Link();
  EXPECT_TRUE(s.runner().Status().incremental());
  EXPECT_EQ(s.runner().Status().records_removed(), 200u);
  {
    // The replaced extract's records that came back keep their entity ids
    // where their entity kept its members.
    auto after_replace = s.Links();
    auto was = Members(before_replace), is = Members(after_replace);
    size_t kept = 0;
    for (const auto& [rec, id] : before_replace) {
      if (rec.rfind("prison/", 0) != 0) continue;
      uint64_t now = after_replace.at(rec);
      if (is[now] == was[id]) {
        EXPECT_EQ(now, id) << rec;
        ++kept;
      }
    }
    EXPECT_GT(kept, 30u);  // enough cases for the check to mean something
  }
  s.Withdraw("health", "gp");  // withdraw
  s.Link();
  status = s.runner().Status();
  EXPECT_TRUE(status.incremental());
  EXPECT_GT(status.records_removed(), 0u);
  EXPECT_EQ(status.model_version(), 1u);
  auto incremental = s.Links();
  // The query index each run builds from memory equals one rebuilt from
  // the stored records and links.
  auto from_memory = s.runner().QueryIndex();
  ASSERT_NE(from_memory, nullptr);
  ASSERT_TRUE(s.runner().RebuildQueryIndex().ok());
  auto from_store = s.runner().QueryIndex();
  EXPECT_EQ(from_memory->records(), incremental.size());
  EXPECT_EQ(from_memory->records(), from_store->records());
  EXPECT_EQ(from_memory->entities(), from_store->entities());
  EXPECT_EQ(from_memory->entities(), Partition(incremental).size());
  EXPECT_EQ(from_memory->generation, from_store->generation);
  for (const char* type : {"police", "prison", "probation", "health"}) {
    const int t = cohort::QueryIndex::AgencyTypeId(type);
    const auto& names = from_store->event_types().names;
    for (size_t e = 0; e < names.size(); ++e) {
      int m = from_memory->event_types().Find(names[e]);
      size_t in_memory =
          m < 0 ? 0 : from_memory->Events(t, static_cast<uint16_t>(m)).size();
      EXPECT_EQ(in_memory,
                from_store->Events(t, static_cast<uint16_t>(e)).size())
          << type << " " << names[e];
    }
  }

  s.Restart();
  s.Link();
  status = s.runner().Status();
  EXPECT_FALSE(status.incremental());
  EXPECT_EQ(status.model_version(), 1u);
  auto full = s.Links();
  ASSERT_EQ(incremental.size(), full.size());
  EXPECT_EQ(Partition(incremental), Partition(full));
  // The same partition keeps every id.
  EXPECT_EQ(incremental, full);
  EXPECT_LT(Partition(full).size(), full.size());
  // And the police records' entities at the start were not all rebuilt.
  size_t kept = 0;
  for (const auto& [rec, id] : first)
    kept += full.contains(rec) && full.at(rec) == id;
  EXPECT_GT(kept, first.size() / 2);
}

// Random sequences of uploads, replacements and withdrawals, with the same
// records sent under two extract names (exact duplicates across extracts,
// whose representative moves when one copy is withdrawn), each linked
// incrementally; after every sequence a restart relinks from scratch with
// the same model and must find the same map.
TEST(LinkageRunnerTest, RandomChangesLinkedIncrementallyEqualAFullRelink) {
  Region& region = Region::Get();
  RunnerOptions options;
  options.retrain_growth = 1e9;
  options.retrain_agency_growth = 1e9;
  options.compact_fraction = 0.99;
  options.link.blocking.max_block = 100000;
  options.link.blocking.token_pairs_per_record = 1e9;
  options.link.blocking.lsh_pairs_per_record = 1e9;
  const char* agencies[] = {"police", "prison", "probation", "health"};
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    util::TempDir tmp("linkage_runner_test");
    Server s(tmp.File("s"), options);
    std::mt19937_64 rng(seed);
    s.Upload("police", region.Load("police", "a", 600));
    s.Upload("prison", region.Load("prison", "a", 300));
    s.Link();
    std::set<std::pair<std::string, std::string>> stored = {{"police", "a"},
                                                            {"prison", "a"}};
    int incremental = 0;
    for (int step = 0; step < 8; ++step) {
      const std::string agency = agencies[rng() % 4];
      const std::string name = rng() % 2 ? "a" : "b";
      if (stored.contains({agency, name}) && rng() % 3 == 0) {
        s.Withdraw(agency, name);
        stored.erase({agency, name});
      } else {
        // A prefix of the agency's records: overlapping the other name's
        // prefix, so many records are exact duplicates across extracts.
        s.Upload(agency, region.Load(agency, name, 100 + rng() % 500));
        stored.insert({agency, name});
      }
      s.Link();
      incremental += s.runner().Status().incremental();
    }
    EXPECT_GT(incremental, 4) << "seed " << seed;
    auto links = s.Links();
    s.Restart();
    s.Link();
    EXPECT_FALSE(s.runner().Status().incremental());
    auto full = s.Links();
    EXPECT_EQ(Partition(links), Partition(full)) << "seed " << seed;
    EXPECT_EQ(links, full) << "seed " << seed;
  }
}

// A model trained while one agency had uploaded is retrained as others
// join (links across agencies differ from duplicates within one), and
// then kept while the data grows modestly.
TEST(LinkageRunnerTest, TheModelIsRetrainedAsAgenciesJoin) {
  Region& region = Region::Get();
  util::TempDir tmp("linkage_runner_test");
  Server s(tmp.File("s"));
  s.Upload("police", region.Load("police", "arrests"));
  s.Link();
  auto model = s.runner().CurrentModel();
  ASSERT_TRUE(model.ok());
  EXPECT_EQ(model->version(), 1u);
  EXPECT_EQ(model->agencies(), 1u);
  s.Upload("prison", region.Load("prison", "releases", 100));
  s.Link();
  EXPECT_FALSE(s.runner().Status().incremental());
  model = s.runner().CurrentModel();
  EXPECT_EQ(model->version(), 2u);
  EXPECT_EQ(model->agencies(), 2u);
  s.Upload("police", region.Load("police", "more", 50));
  s.Link();
  EXPECT_TRUE(s.runner().Status().incremental());
  EXPECT_EQ(s.runner().Status().model_version(), 2u);
}

TEST(LinkageRunnerTest, EntitiesAChangeDoesNotTouchKeepTheirIds) {
  Region& region = Region::Get();
  util::TempDir tmp("linkage_runner_test");
  Server s(tmp.File("s"));
  s.Upload("police", region.Load("police", "arrests"));
  s.Upload("prison", region.Load("prison", "releases"));
  s.Link();
  auto before = s.Links();
  // Health records join some entities and create others.
  s.Upload("health", region.Load("health", "gp"));
  s.Link();
  auto after = s.Links();
  auto members_before = Members(before), members_after = Members(after);
  size_t unchanged = 0;
  for (const auto& [id, recs] : members_before) {
    // An entity whose records all still belong together, with nothing
    // added, keeps its id.
    uint64_t now = after.at(*recs.begin());
    if (members_after[now] == recs) {
      EXPECT_EQ(now, id);
      ++unchanged;
    }
  }
  EXPECT_GT(unchanged, members_before.size() / 2);
  // An entity that only gained new records (no other old entity merged
  // into it) keeps its id too.
  size_t grew = 0;
  for (const auto& [id, recs] : members_before) {
    uint64_t now = after.at(*recs.begin());
    if (members_after[now].size() <= recs.size()) continue;
    std::set<uint64_t> old_ids;
    for (const auto& rec : members_after[now])
      if (before.contains(rec)) old_ids.insert(before.at(rec));
    if (old_ids.size() == 1) {
      EXPECT_EQ(now, id);
      ++grew;
    }
  }
  EXPECT_GT(grew, 0u);
}

TEST(LinkageRunnerTest, ExportWaitsForTheLinkageToCatchUp) {
  Region& region = Region::Get();
  util::TempDir tmp("linkage_runner_test");
  Server s(tmp.File("s"));
  s.Upload("police", region.Load("police", "arrests"));
  auto refused = s.runner().ForEachLink(
      [](const cohortlink::v1::LinkRow&) { return absl::OkStatus(); });
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.message().find("is not linked yet"), std::string::npos);
  s.Link();
  uint64_t total = 0, rows = 0;
  ASSERT_TRUE(s.runner()
                  .ForEachLink(
                      [&](const cohortlink::v1::LinkRow&) {
                        ++rows;
                        return absl::OkStatus();
                      },
                      &total)
                  .ok());
  EXPECT_EQ(rows, total);
  EXPECT_GT(rows, 0u);
}

// A stored status or id counter that cannot be read fails the run, which is
// then FAILED with its reason and refuses queries; it never restarts the
// run count or the entity ids from 1 (ids are never reused).
TEST(LinkageRunnerTest, AnUnreadableStoredStateFailsTheRunVisibly) {
  Region& region = Region::Get();
  util::TempDir tmp("linkage_runner_test");
  Server s(tmp.File("s"));
  s.Upload("police", region.Load("police", "arrests", 300));
  s.Link();
  ASSERT_TRUE(s.runner().ServingIndex().ok());
  for (const char* key :
       {store::meta::kLinkageStatus, store::meta::kNextEntityId}) {
    SCOPED_TRACE(key);
    rocksdb::WriteBatch b;
    b.Put(s.store().cf(store::Family::kMeta), key,
          "\x01\x02\x03");  // neither a status nor an id
    ASSERT_TRUE(s.store().Write(&b).ok());
    s.Upload("police", region.Load("police", "arrests", 200));
    absl::Status run = s.runner().RunOnce();
    EXPECT_EQ(run.code(), absl::StatusCode::kDataLoss) << run;
    auto st = s.runner().Status();
    EXPECT_EQ(st.state(), cohortlink::v1::FAILED);
    EXPECT_NE(st.failure().find("corrupt"), std::string::npos) << st.failure();
    auto index = s.runner().ServingIndex();
    EXPECT_TRUE(absl::IsUnavailable(index.status())) << index.status();
    EXPECT_NE(index.status().message().find("the linkage failed"),
              std::string::npos);
    // Repaired (as a restore would): the next run succeeds and clears it.
    rocksdb::WriteBatch undo;
    undo.Delete(s.store().cf(store::Family::kMeta), key);
    if (std::string(key) == store::meta::kNextEntityId)
      undo.Put(s.store().cf(store::Family::kMeta), key,
               store::BigEndian64(1'000'000));
    ASSERT_TRUE(s.store().Write(&undo).ok());
    s.Link();
    EXPECT_EQ(s.runner().Status().state(), cohortlink::v1::LINKED);
    EXPECT_TRUE(s.runner().ServingIndex().ok());
  }
}

}  // namespace
}  // namespace cohortlink::entities
