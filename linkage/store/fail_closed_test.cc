// The store fails closed: admission is checked again at commit under the
// lock, an upload racing a withdrawal or another upload of the same extract
// loses cleanly, and a write or sync that fails at any step of a commit, a
// withdrawal, a linkage write or an access-log append leaves no partial
// extract, loses nothing acknowledged and keeps the access log verifiable.
// Faults come from an injected RocksDB FileSystem (fault_fs.h).

#include <atomic>
#include <map>
#include <thread>

#include "gtest/gtest.h"
#include "keys/mac.h"
#include "linkage/encoding/extract_file.h"
#include "linkage/store/audit_log.h"
#include "linkage/store/extract_store.h"
#include "linkage/store/fault_fs.h"
#include "linkage/store/linkage_store.h"
#include "linkage/store/test_upload.h"
#include "util/error_details.h"
#include "util/temp_dir.h"

namespace cohortlink::store {
namespace {

using cohortlink::v1::EncodedRecord;
using cohortlink::v1::UploadHeader;

using testing::MakeUpload;
using testing::Upload;

class FailClosedTest : public ::testing::Test {
 public:
  void SetUp() override { Open(nullptr); }

  // (Re)opens everything, with `fs` under RocksDB when given.
  void Open(std::shared_ptr<FaultFs> fs) {
    extracts_.reset();
    audit_.reset();
    store_.reset();
    StoreOptions o;
    o.cache_blocks = fs == nullptr;  // every read reaches a faulty fs
    o.file_system = std::move(fs);
    auto s = Store::Open(tmp_.File(sub_ + "/db"), o);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
    auto a = AuditLog::Create(
        store_.get(), [] { return absl::FromUnixSeconds(0); },
        tmp_.File(sub_ + "/checkpoint"));
    ASSERT_TRUE(a.ok()) << a.status();
    audit_ = *std::move(a);
    auto e = ExtractStore::Create(store_.get(), {}, audit_.get());
    ASSERT_TRUE(e.ok()) << e.status();
    extracts_ = *std::move(e);
  }

  absl::StatusOr<std::unique_ptr<UploadSession>> Begin(
      const Upload& u, const std::string& agency = "police") {
    return extracts_->BeginUpload(agency, "spiffe://t/agency/x/submitter",
                                  u.header);
  }
  absl::StatusOr<cohortlink::v1::UploadReceipt> Send(
      const Upload& u, const std::string& agency = "police") {
    auto s = Begin(u, agency);
    if (!s.ok()) return s.status();
    if (auto st = (*s)->AddFramedRecords(u.framed); !st.ok()) return st;
    return (*s)->Commit(Entry("upload"));
  }
  static cohortlink::v1::AuditEntry Entry(const std::string& what) {
    cohortlink::v1::AuditEntry e;
    e.set_method(what);
    return e;
  }
  // Records stored under the current version of each extract, against the
  // count its status claims: a partial extract shows as a mismatch.
  std::map<std::string, std::pair<uint64_t, uint64_t>> Census() {
    std::map<std::string, std::pair<uint64_t, uint64_t>> out;
    auto all = extracts_->List("");
    EXPECT_TRUE(all.ok()) << all.status();
    for (const auto& x : *all) {
      uint64_t n = 0;
      EXPECT_TRUE(extracts_
                      ->ForEachRecord(x.agency(), x.extract_name(),
                                      [&](const EncodedRecord&) { ++n; })
                      .ok());
      out[x.agency() + "/" + x.extract_name()] = {x.records(), n};
    }
    return out;
  }

  util::TempDir tmp_{"fail_closed_test"};
  std::string sub_ = "main";  // the data directory under tmp_
  std::unique_ptr<Store> store_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<ExtractStore> extracts_;
};

TEST_F(FailClosedTest, WithdrawalDuringAnUploadMakesTheUploadLose) {
  ASSERT_TRUE(Send(MakeUpload("main", 40)).ok());
  Upload next = MakeUpload("main", 60, "-v2");
  auto session = Begin(next);
  ASSERT_TRUE(session.ok());
  const size_t half = next.framed.size() / 2;
  ASSERT_TRUE((*session)->AddFramedRecords(next.framed.substr(0, half)).ok());
  ASSERT_TRUE(extracts_->Delete("police", "main", Entry("delete")).ok());
  ASSERT_TRUE((*session)->AddFramedRecords(next.framed.substr(half)).ok());
  auto r = (*session)->Commit(Entry("upload"));
  ASSERT_EQ(r.status().code(), absl::StatusCode::kAborted) << r.status();
  EXPECT_NE(r.status().message().find("withdrawn while this upload"),
            std::string::npos);
  session->reset();
  EXPECT_TRUE(absl::IsNotFound(extracts_->Get("police", "main").status()));
  EXPECT_TRUE(Census().empty());
  // The extract can be sent again, whole.
  auto again = Send(next);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((Census()["police/main"]), (std::pair<uint64_t, uint64_t>{60, 60}));
}

// An upload that began while its extract did not exist loses when, before
// it commits, another upload created the extract and it was withdrawn
// again: the withdrawal removed what the first had staged, so "absent then,
// absent now" must not read as "unchanged".
TEST_F(FailClosedTest, AnUploadBegunBeforeACreateAndWithdrawalLoses) {
  Upload first = MakeUpload("main", 30, "-first");
  auto session = Begin(first);
  ASSERT_TRUE(session.ok());
  ASSERT_TRUE((*session)->AddFramedRecords(first.framed).ok());
  ASSERT_TRUE(Send(MakeUpload("main", 10, "-other")).ok());
  ASSERT_TRUE(extracts_->Delete("police", "main", Entry("delete")).ok());
  auto r = (*session)->Commit(Entry("upload"));
  ASSERT_EQ(r.status().code(), absl::StatusCode::kAborted) << r.status();
  EXPECT_NE(r.status().message().find("withdrawn while this upload"),
            std::string::npos);
  session->reset();
  EXPECT_TRUE(Census().empty());
  // The same after a restart, and the extract can be sent again, whole.
  Upload again = MakeUpload("main", 20, "-again");
  auto s2 = Begin(again);
  ASSERT_TRUE(s2.ok());
  ASSERT_TRUE((*s2)->AddFramedRecords(again.framed).ok());
  ASSERT_TRUE(Send(MakeUpload("main", 5, "-x")).ok());
  ASSERT_TRUE(extracts_->Delete("police", "main", Entry("delete")).ok());
  s2->reset();
  Open(nullptr);
  ASSERT_TRUE(Send(again).ok());
  EXPECT_EQ((Census()["police/main"]), (std::pair<uint64_t, uint64_t>{20, 20}));
}

TEST_F(FailClosedTest, OfTwoRacingReplacementsTheSecondToCommitLoses) {
  ASSERT_TRUE(Send(MakeUpload("main", 10)).ok());
  Upload a = MakeUpload("main", 20, "-a"), b = MakeUpload("main", 30, "-b");
  auto sa = Begin(a), sb = Begin(b);
  ASSERT_TRUE(sa.ok() && sb.ok());
  ASSERT_TRUE((*sa)->AddFramedRecords(a.framed).ok());
  ASSERT_TRUE((*sb)->AddFramedRecords(b.framed).ok());
  ASSERT_TRUE((*sa)->Commit(Entry("upload")).ok());
  auto rb = (*sb)->Commit(Entry("upload"));
  EXPECT_EQ(rb.status().code(), absl::StatusCode::kAborted) << rb.status();
  EXPECT_NE(rb.status().message().find("replaced by another upload"),
            std::string::npos);
  sa->reset();
  sb->reset();
  EXPECT_EQ((Census()["police/main"]), (std::pair<uint64_t, uint64_t>{20, 20}));
}

TEST_F(FailClosedTest, ConcurrentFirstUploadsWithDifferentSchemasOneCommits) {
  Upload a = MakeUpload("a", 5, "", std::string(32, 'f'));
  Upload b = MakeUpload("b", 5, "", std::string(32, 'g'));
  auto sa = Begin(a), sb = Begin(b, "prison");
  ASSERT_TRUE(sa.ok() && sb.ok());  // both pass the early check
  ASSERT_TRUE((*sa)->AddFramedRecords(a.framed).ok());
  ASSERT_TRUE((*sb)->AddFramedRecords(b.framed).ok());
  ASSERT_TRUE((*sa)->Commit().ok());
  auto rb = (*sb)->Commit();
  ASSERT_EQ(rb.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(rb.status().message().find("different linkage schema"),
            std::string::npos);
  sb->reset();
  EXPECT_EQ(Census().size(), 1u);
}

TEST_F(FailClosedTest, AnUploadBegunBeforeItsEpochRetiredIsRefusedAtCommit) {
  ASSERT_TRUE(
      Send(MakeUpload("old", 5, "", std::string(32, 'f'), "kcv-1234", 1)).ok());
  ASSERT_TRUE(extracts_->OpenEpoch(2, "kcv-2222", Entry("open")).ok());
  ASSERT_TRUE(
      Send(MakeUpload("new", 5, "", std::string(32, 'f'), "kcv-2222", 2)).ok());
  Upload late = MakeUpload("late", 5, "", std::string(32, 'f'), "kcv-1234", 1);
  auto s = Begin(late);
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_TRUE((*s)->AddFramedRecords(late.framed).ok());
  ASSERT_TRUE(extracts_->RetireEpoch(1, Entry("retire")).ok());
  auto r = (*s)->Commit();
  ASSERT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("key epoch 1 is retired"),
            std::string::npos);
  s->reset();
  EXPECT_TRUE(absl::IsNotFound(extracts_->Get("police", "late").status()));
}

TEST_F(FailClosedTest, AFilterLayoutOtherThanTheLinkagesIsRefused) {
  ASSERT_TRUE(Send(MakeUpload("a", 5)).ok());
  auto r =
      Send(MakeUpload("b", 5, "", std::string(32, 'f'), "kcv-1234", 1, 192));
  ASSERT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("filters of 192 bits (surname 192); the "
                                      "linkage's are 128 bits (surname 128)"),
            std::string::npos)
      << r.status();
  EXPECT_EQ(Census().size(), 1u);
}

// Only an admin opens an epoch after the first, in order, once: an upload
// cannot fix a later epoch's secret.
TEST_F(FailClosedTest, KeyEpochsAfterTheFirstOpenOnlyByAnAdminInOrder) {
  ASSERT_TRUE(Send(MakeUpload("a", 5)).ok());
  auto r = Send(MakeUpload("b", 5, "", std::string(32, 'f'), "kcv-2222", 2));
  ASSERT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("key epoch 2 is not open"),
            std::string::npos)
      << r.status();
  absl::Status s = extracts_->OpenEpoch(9, "kcv-9999", Entry("open"));
  ASSERT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("key epoch 9 cannot open before key epoch 8"),
            std::string::npos)
      << s;
  EXPECT_EQ(extracts_->OpenEpoch(0, "kcv-2222", Entry("open")).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(extracts_->OpenEpoch(2, "short", Entry("open")).code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(extracts_->OpenEpoch(2, "kcv-2222", Entry("open")).ok());
  EXPECT_EQ(extracts_->OpenEpoch(2, "kcv-3333", Entry("open")).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(extracts_->OpenEpoch(1, "kcv-3333", Entry("open")).code(),
            absl::StatusCode::kAlreadyExists);
  // The opened epoch takes only its own secret.
  r = Send(MakeUpload("b", 5, "", std::string(32, 'f'), "kcv-3333", 2));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(
      Send(MakeUpload("b", 5, "", std::string(32, 'f'), "kcv-2222", 2)).ok());
}

// Every step of every kind of write fails in turn. After the fault and a
// restart: what was acknowledged is there, nothing is partial, the access
// log is whole and agrees with its checkpoint, and the store says it was
// ill when a write failed.
TEST_F(FailClosedTest, AWriteFaultAtAnyStepLosesNothingAcknowledged) {
  struct Op {
    const char* name;
    std::function<absl::Status(FailClosedTest*)> run;
  };
  std::vector<Op> ops = {
      {"new extract",
       [](FailClosedTest* t) {
         return t->Send(MakeUpload("fresh", 300, "-f")).status();
       }},
      {"replacement",
       [](FailClosedTest* t) {
         return t->Send(MakeUpload("base", 200, "-r")).status();
       }},
      {"withdrawal",
       [](FailClosedTest* t) {
         return t->extracts_->Delete("police", "base", Entry("delete"))
             .status();
       }},
      {"linkage write",
       [](FailClosedTest* t) {
         auto snap = t->extracts_->Snapshot();
         if (!snap.ok()) return snap.status();
         LinkageWrite w(t->store_.get());
         const auto& v = (*snap)->versions()[0];
         cohortlink::v1::RecordLink link;
         for (uint64_t i = 0; i < v.status.records(); ++i) {
           link.set_entity_id(i + 1);
           link.set_record_key("k" + std::to_string(i));
           w.PutLink(v.extract_id, v.status.upload_id(), i, link);
         }
         w.SetNextEntityId(v.status.records() + 1);
         return t->extracts_->WriteLinkageState((*snap)->versions(),
                                                cohortlink::v1::LINKED, &w);
       }},
      {"access-log append",
       [](FailClosedTest* t) { return t->audit_->Append(Entry("query")); }},
  };
  for (const Op& op : ops) {
    // How many write operations the op makes when nothing fails.
    int64_t steps = 0;
    {
      sub_ = absl::StrCat(op.name, "-count");
      auto fs = std::make_shared<FaultFs>();
      Open(fs);
      ASSERT_TRUE(Send(MakeUpload("base", 100)).ok());
      int64_t before = fs->writes();
      ASSERT_TRUE(op.run(this).ok()) << op.name;
      steps = fs->writes() - before;
    }
    ASSERT_GT(steps, 0) << op.name;
    for (int64_t k = 0; k < steps; ++k) {
      SCOPED_TRACE(absl::StrCat(op.name, ": fault after ", k, " of ", steps,
                                " write steps"));
      sub_ = absl::StrCat(op.name, "-", k);
      auto fs = std::make_shared<FaultFs>();
      Open(fs);
      ASSERT_TRUE(Send(MakeUpload("base", 100)).ok());
      const uint64_t log_before = audit_->size();
      fs->FailAfter(k, /*disk_full=*/k % 2 == 1);
      absl::Status s = op.run(this);
      if (!s.ok()) {
        EXPECT_FALSE(store_->Health().ok()) << s;
      }
      fs->Heal();
      Open(nullptr);  // a restart, on the disk as the fault left it
      EXPECT_TRUE(audit_->CheckIntegrity("").empty());
      auto census = Census();
      for (const auto& [name, counts] : census)
        EXPECT_EQ(counts.first, counts.second) << name << " is partial";
      if (s.ok()) {
        EXPECT_GT(audit_->size(), log_before);
        const std::string name = op.name;
        if (name == "new extract") {
          EXPECT_TRUE(census.contains("police/fresh"));
        } else if (name == "withdrawal") {
          EXPECT_FALSE(census.contains("police/base"));
        } else if (name == "replacement") {
          EXPECT_EQ(census["police/base"].first, 200u);
        }
      }
      if (std::string(op.name) != "withdrawal" || !s.ok()) {
        // The acknowledged base extract is whole (or, unacknowledged
        // withdrawals aside, replaced whole).
        if (census.contains("police/base")) {
          EXPECT_TRUE(census["police/base"].first == 100 ||
                      census["police/base"].first == 200);
        } else {
          EXPECT_EQ(std::string(op.name), "withdrawal");
        }
      }
    }
  }
}

// Uploads, replacements, withdrawals, linkage writes and audited calls of
// the same extracts from several threads at once (also run under TSan):
// every extract stays whole, and the access log has one entry per
// acknowledged change, with no gaps.
TEST_F(FailClosedTest, ConcurrentChangesOfTheSameExtractsStayWhole) {
  ASSERT_TRUE(Send(MakeUpload("e0", 20)).ok());
  std::atomic<int> acknowledged{1};
  auto worker = [&](int t) {
    for (int i = 0; i < 12; ++i) {
      const std::string name = "e" + std::to_string((t + i) % 3);
      absl::Status s;
      switch ((t * 7 + i) % 4) {
        case 0:
        case 1:
          s = Send(MakeUpload(name, 10 + 5 * t + i, absl::StrCat("-", t, i)))
                  .status();
          break;
        case 2:
          s = extracts_->Delete("police", name, Entry("delete")).status();
          break;
        case 3: {
          auto snap = extracts_->Snapshot();
          s = snap.status();
          if (s.ok()) {
            LinkageWrite w(store_.get());
            w.SetNextEntityId(i + 1);
            s = extracts_->WriteLinkageState((*snap)->versions(),
                                             cohortlink::v1::LINKED, &w);
          }
          if (s.ok()) s = audit_->Append(Entry("query"));
          break;
        }
      }
      // Losing a race (ABORTED) or withdrawing what is gone (NOT_FOUND) is
      // a clean refusal; nothing else may fail.
      EXPECT_TRUE(s.ok() || absl::IsAborted(s) || absl::IsNotFound(s)) << s;
      if (s.ok()) ++acknowledged;
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back(worker, t);
  for (auto& th : threads) th.join();
  EXPECT_GE(audit_->size(), static_cast<uint64_t>(acknowledged.load()));
  Open(nullptr);
  EXPECT_TRUE(audit_->CheckIntegrity("").empty());
  for (const auto& [name, counts] : Census())
    EXPECT_EQ(counts.first, counts.second) << name << " is partial";
}

TEST_F(FailClosedTest, AFullDiskIsReportedAndTheStoreResumesWhenSpaceReturns) {
  auto fs = std::make_shared<FaultFs>();
  Open(fs);
  ASSERT_TRUE(Send(MakeUpload("base", 50)).ok());
  fs->FailAfter(0, /*disk_full=*/true);
  auto r = Send(MakeUpload("more", 50, "-m"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted)
      << r.status();
  EXPECT_TRUE(absl::IsResourceExhausted(store_->Health())) << store_->Health();
  EXPECT_FALSE(store_->TryResume().ok());  // still full
  fs->Heal();
  // RocksDB's own recovery from a full disk checks the free space every
  // few seconds: as the server does, try again until it resumes.
  absl::Status resumed = store_->TryResume();
  for (int i = 0; i < 600 && !resumed.ok(); ++i) {
    absl::SleepFor(absl::Milliseconds(100));
    resumed = store_->TryResume();
  }
  ASSERT_TRUE(resumed.ok()) << resumed;
  EXPECT_TRUE(store_->Health().ok());
  ASSERT_TRUE(Send(MakeUpload("more", 50, "-m")).ok());
  Open(nullptr);
  EXPECT_EQ(Census().size(), 2u);
}

// A read that fails is an error, never "absent": not "no version yet" (the
// version would restart at 1 beside the old records), not "epoch not
// retired", not "a different secret".
TEST_F(FailClosedTest, AReadErrorIsAnErrorNotAbsence) {
  ASSERT_TRUE(Send(MakeUpload("main", 30)).ok());
  auto fs = std::make_shared<FaultFs>();
  Open(fs);  // the reopen flushes everything into table files
  Open(fs);
  fs->FailReads(true);
  auto r = Send(MakeUpload("main", 20, "-v2"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("injected read fault"), std::string::npos)
      << r.status();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInternal) << r.status();
  EXPECT_FALSE(absl::IsNotFound(extracts_->Get("police", "main").status()));
  // The same at commit, where a failed read of the current version once
  // meant "none": version 1 again, beside the old records.
  fs->Heal();
  Upload v2 = MakeUpload("main", 20, "-v2");
  auto session = Begin(v2);
  ASSERT_TRUE(session.ok()) << session.status();
  ASSERT_TRUE((*session)->AddFramedRecords(v2.framed).ok());
  fs->FailReads(true);
  auto c = (*session)->Commit(Entry("upload"));
  EXPECT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("injected read fault"), std::string::npos)
      << c.status();
  session->reset();
  fs->Heal();
  auto st = extracts_->Get("police", "main");
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->version(), 1u);
  auto again = Send(MakeUpload("main", 20, "-v2"));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->version(), 2u);
  EXPECT_EQ((Census()["police/main"]), (std::pair<uint64_t, uint64_t>{20, 20}));
}

TEST_F(FailClosedTest, TheCheckpointNoticesALogThatShrank) {
  ASSERT_TRUE(Send(MakeUpload("a", 5)).ok());
  ASSERT_TRUE(audit_->Append(Entry("query")).ok());
  // The last two entries vanish, as with a truncated write-ahead log.
  extracts_.reset();
  audit_.reset();
  {
    rocksdb::WriteBatch b;
    b.DeleteRange(store_->cf(Family::kAudit), BigEndian64(0), BigEndian64(100));
    ASSERT_TRUE(store_->Write(&b).ok());
  }
  Open(nullptr);
  auto problems = audit_->CheckIntegrity("");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("holds 0 entries, but 2 were acknowledged"),
            std::string::npos)
      << problems[0];
}

}  // namespace
}  // namespace cohortlink::store
