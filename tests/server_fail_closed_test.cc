// The real server fails closed where a user would meet the problem: two
// real clients racing a replacement and a withdrawal, or two first uploads
// of different schemas; an extract with the wrong filter layout; a damaged,
// truncated or deleted write-ahead log; a replaced signing key; a corrupt
// records table; a full disk (a small tmpfs, when this user may mount one);
// and the modes of what the server writes.

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "cohortlink/v1/ingest.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "keys/mac.h"
#include "keys/pki.h"
#include "keys/signing.h"
#include "linkage/encoding/extract_file.h"
#include "linkage/store/store.h"
#include "tests/cli_runner.h"
#include "tests/grpc_client.h"
#include "tests/server_process.h"
#include "util/temp_dir.h"

namespace cohortlink {
namespace {

namespace fs = std::filesystem;

// One upload streamed by hand: the header now, the records when asked, the
// end later. `edit_header` and `edit_record` change what is sent (the
// content digest follows the records as sent).
class StreamedUpload {
 public:
  StreamedUpload(
      cohortlink::v1::IngestService::Stub* stub, const std::string& clx,
      const std::string& name,
      std::function<void(cohortlink::v1::UploadHeader*)> edit_header = {},
      std::function<void(cohortlink::v1::EncodedRecord*)> edit_record = {}) {
    auto reader = encoding::ExtractReader::Open(clx);
    EXPECT_TRUE(reader.ok()) << reader.status();
    std::string bytes, all;
    while (*(*reader)->Next(&bytes)) {
      if (edit_record) {
        cohortlink::v1::EncodedRecord r;
        EXPECT_TRUE(r.ParseFromString(bytes));
        edit_record(&r);
        bytes = r.SerializeAsString();
      }
      std::string framed;
      encoding::AppendLengthDelimited(bytes, &framed);
      all += framed;
      frames_.push_back(std::move(framed));
    }
    writer_ = stub->Upload(&ctx_, &receipt_);
    cohortlink::v1::UploadRequest req;
    auto* h = req.mutable_header();
    h->set_extract_name(name);
    *h->mutable_extract() = (*reader)->header();
    h->set_record_count(frames_.size());
    h->set_content_digest(keys::Sha256::Digest(all));
    if (edit_header) edit_header(h);
    EXPECT_TRUE(writer_->Write(req));
  }
  // Sends up to `n` more records (all that remain by default).
  void Send(uint64_t n = UINT64_MAX) {
    std::string batch;
    for (; n > 0 && next_ < frames_.size(); --n) {
      batch += frames_[next_++];
      if (batch.size() > (256 << 10)) Flush(&batch);
    }
    Flush(&batch);
  }
  grpc::Status Finish() {
    writer_->WritesDone();
    return writer_->Finish();
  }
  uint64_t records() const { return frames_.size(); }

 private:
  void Flush(std::string* batch) {
    if (batch->empty()) return;
    cohortlink::v1::UploadRequest req;
    req.mutable_batch()->set_framed_records(*batch);
    writer_->Write(req);
    batch->clear();
  }
  std::vector<std::string> frames_;
  size_t next_ = 0;
  grpc::ClientContext ctx_;
  cohortlink::v1::UploadReceipt receipt_;
  std::unique_ptr<grpc::ClientWriter<cohortlink::v1::UploadRequest>> writer_;
};

class ServerFailClosedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Start();
    ASSERT_EQ(Cli({"synth", "--people", "3000", "--out", tmp_.File("region")})
                  .exit_code,
              0);
    std::ofstream(tmp_.File("secret")) << "shared secret\n";
    for (const char* a : {"police", "prison", "probation"}) {
      auto r = Cli({"encode", "--schema", tmp_.File("region/schema.json"),
                    "--secret", tmp_.File("secret"), "--input",
                    tmp_.File(std::string("region/") + a + ".csv"), "--output",
                    tmp_.File(std::string(a) + ".clx")});
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
  }
  void TearDown() override { server_.Stop(SIGTERM); }

  void Start() {
    std::string error;
    ASSERT_TRUE(server_.Start(&error)) << "server did not start: " << error;
  }
  // Starts the server expecting it to refuse; returns its log.
  std::string StartRefused() {
    std::string error;
    EXPECT_FALSE(server_.Start(&error));
    EXPECT_NE(server_.exit_status(), -1) << "the server did not exit";
    return error;
  }
  testing::CliResult Cli(std::vector<std::string> args) {
    return testing::RunCli(args, tmp_.path());
  }
  testing::CliResult As(const std::string& who, std::vector<std::string> args) {
    return testing::RunCliAs(server_, who, std::move(args), tmp_.path());
  }
  testing::CliResult Upload(const std::string& who, const std::string& name) {
    return As(who, {"upload", "--extract", name, tmp_.File(who + ".clx"),
                    "--retries", "0"});
  }
  std::unique_ptr<cohortlink::v1::IngestService::Stub> Stub(
      const std::string& who) {
    return testing::IngestStub(server_.address(), server_.Tls(who));
  }
  std::string Query() {
    auto r = As("analyst", {"query", "--spec",
                            std::string(COHORTLINK_SOURCE_DIR) +
                                "/examples/queries/reoffending-12m.json",
                            "--format", "json"});
    return r.exit_code == 0
               ? r.out
               : "exit " + std::to_string(r.exit_code) + ": " + r.err;
  }
  // The write-ahead log files of the stopped server's database.
  std::vector<fs::path> Wals() {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(tmp_.File("data/db")))
      if (e.path().extension() == ".log") out.push_back(e.path());
    return out;
  }
  // Five acknowledged uploads, then kill -9: they live only in the WAL.
  void FiveUploadsThenKill() {
    int n = 0;
    for (const char* a : {"police", "prison", "probation"}) {
      for (const char* name : {"one", "two"}) {
        if (++n > 5) break;
        auto r = Upload(a, name);
        ASSERT_EQ(r.exit_code, 0) << r.err;
      }
    }
    server_.Stop(SIGKILL);
  }

  util::TempDir tmp_{"server_fail_closed_test"};
  testing::ServerProcess server_{tmp_.File("data"), tmp_.File("server.log")};
};

TEST_F(ServerFailClosedTest, AWithdrawalDuringAReplacementUploadWins) {
  ASSERT_EQ(Upload("police", "main").exit_code, 0);
  auto stub = Stub("police");
  StreamedUpload up(stub.get(), tmp_.File("police.clx"), "main");
  up.Send(up.records() / 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto del = As("police", {"delete", "--extract", "main"});
  ASSERT_EQ(del.exit_code, 0) << del.err;
  up.Send();
  grpc::Status s = up.Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED) << s.error_message();
  EXPECT_NE(s.error_message().find("withdrawn while this upload was in flight"),
            std::string::npos)
      << s.error_message();
  auto st = As("police", {"status", "--format", "json", "--wait", "60"});
  ASSERT_EQ(st.exit_code, 0) << st.err;
  EXPECT_EQ(st.out.find("\"main\""), std::string::npos) << st.out;
  // The linkage map is whole: the export agrees with what is stored.
  ASSERT_EQ(Upload("prison", "main").exit_code, 0);
  ASSERT_EQ(As("prison", {"status", "--wait", "60"}).exit_code, 0);
  auto ex = As("exporter", {"export-links", "--out", tmp_.File("links.csv")});
  EXPECT_EQ(ex.exit_code, 0) << ex.err;
  server_.Stop(SIGTERM);
  Start();
  st = As("police", {"status", "--format", "json"});
  EXPECT_EQ(st.out.find("\"main\""), std::string::npos) << st.out;
}

TEST_F(ServerFailClosedTest, OfTwoRacingFirstUploadsWithOtherSchemasOneWins) {
  auto police = Stub("police"), prison = Stub("prison");
  StreamedUpload a(police.get(), tmp_.File("police.clx"), "main");
  StreamedUpload b(prison.get(), tmp_.File("prison.clx"), "main",
                   [](cohortlink::v1::UploadHeader* h) {
                     std::string fp = h->extract().schema_fingerprint();
                     fp[0] ^= 1;  // another schema, the same layout
                     h->mutable_extract()->set_schema_fingerprint(fp);
                   });
  a.Send();
  b.Send();
  grpc::Status sa = a.Finish(), sb = b.Finish();
  EXPECT_NE(sa.ok(), sb.ok())
      << sa.error_message() << " / " << sb.error_message();
  const grpc::Status& loser = sa.ok() ? sb : sa;
  EXPECT_EQ(loser.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(loser.error_message().find("different linkage schema"),
            std::string::npos)
      << loser.error_message();
}

TEST_F(ServerFailClosedTest, AnExtractWithAnotherFilterLayoutIsRefused) {
  ASSERT_EQ(Upload("police", "main").exit_code, 0);
  ASSERT_EQ(As("police", {"status", "--wait", "60"}).exit_code, 0);
  auto stub = Stub("prison");
  // Filters of 64 more bits, and a header that says so: every record
  // agrees with its header, only not with the linkage.
  StreamedUpload up(
      stub.get(), tmp_.File("prison.clx"), "main",
      [](cohortlink::v1::UploadHeader* h) {
        auto* l = h->mutable_extract()->mutable_layout();
        l->set_total_bits(l->total_bits() + 64);
      },
      [](cohortlink::v1::EncodedRecord* r) {
        r->mutable_filters()->append(8, '\0');
      });
  up.Send();
  grpc::Status s = up.Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << s.error_message();
  EXPECT_NE(s.error_message().find("the linkage's are"), std::string::npos)
      << s.error_message();
  auto st = As("admin", {"status", "--format", "json"});
  EXPECT_EQ(st.out.find("\"prison\""), std::string::npos) << st.out;
  EXPECT_NE(st.out.find("\"state\": \"LINKED\""), std::string::npos) << st.out;
}

TEST_F(ServerFailClosedTest, AWalTruncatedByHalfStopsTheServer) {
  FiveUploadsThenKill();
  auto wals = Wals();
  ASSERT_FALSE(wals.empty());
  for (const auto& w : wals) fs::resize_file(w, fs::file_size(w) / 2);
  std::string log = StartRefused();
  EXPECT_NE(log.find("acknowledged writes are missing"), std::string::npos)
      << log;
}

TEST_F(ServerFailClosedTest, AWalWithFlippedBytesStopsTheServer) {
  FiveUploadsThenKill();
  auto wals = Wals();
  ASSERT_FALSE(wals.empty());
  for (const auto& w : wals) {
    std::fstream f(w, std::ios::in | std::ios::out | std::ios::binary);
    const auto size = static_cast<std::streamoff>(fs::file_size(w));
    for (std::streamoff at = size / 4; at < size * 3 / 4; at += size / 16) {
      f.seekg(at);
      char c = static_cast<char>(f.get());
      f.seekp(at);
      f.put(static_cast<char>(c ^ 0x5a));
    }
  }
  std::string log = StartRefused();
  EXPECT_TRUE(log.find("damaged") != std::string::npos ||
              log.find("acknowledged writes are missing") != std::string::npos)
      << log;
}

TEST_F(ServerFailClosedTest, ADeletedWalStopsTheServerUntilTheOperatorAccepts) {
  FiveUploadsThenKill();
  for (const auto& w : Wals()) fs::remove(w);
  std::string log = StartRefused();
  EXPECT_NE(log.find("acknowledged writes are missing"), std::string::npos)
      << log;
  EXPECT_NE(log.find("--accept-integrity-change"), std::string::npos) << log;
  // The operator accepts the loss; the log records it, and sequence
  // numbers go on from what is stored, without reuse.
  server_.extra_args = {"--accept-integrity-change"};
  Start();
  server_.extra_args.clear();
  auto entries = As("auditor", {"audit", "log", "--format", "json"});
  ASSERT_EQ(entries.exit_code, 0) << entries.err;
  EXPECT_NE(entries.out.find("AcceptIntegrityChange"), std::string::npos);
  server_.Stop(SIGTERM);
  Start();  // accepted once: the next start is clean
}

TEST_F(ServerFailClosedTest, AReplacedSigningKeyStopsTheServer) {
  ASSERT_EQ(Upload("police", "main").exit_code, 0);
  server_.Stop(SIGTERM);
  const std::string key = tmp_.File("data/audit-signing.key");
  fs::remove(key);
  ASSERT_TRUE(keys::SigningKey::LoadOrCreate(key).ok());
  std::string log = StartRefused();
  EXPECT_NE(log.find("is not the key that signed the last tree head"),
            std::string::npos)
      << log;
}

TEST_F(ServerFailClosedTest, ACorruptRecordsTableFailsTheLinkageAndQueries) {
  ASSERT_EQ(Upload("police", "main").exit_code, 0);
  ASSERT_EQ(Upload("prison", "main").exit_code, 0);
  ASSERT_EQ(As("prison", {"status", "--wait", "60"}).exit_code, 0);
  ASSERT_EQ(Query().rfind("exit", 0), std::string::npos) << Query();
  server_.Stop(SIGTERM);
  // A restart flushes the log into tables; find the records' tables.
  Start();
  server_.Stop(SIGTERM);
  std::vector<std::string> tables;
  {
    auto db = store::Store::Open(tmp_.File("data/db"));
    ASSERT_TRUE(db.ok()) << db.status();
    std::vector<rocksdb::LiveFileMetaData> files;
    (*db)->db()->GetLiveFilesMetaData(&files);
    for (const auto& f : files)
      if (f.column_family_name == "records")
        tables.push_back(tmp_.File("data/db") + f.name);
  }
  ASSERT_FALSE(tables.empty());
  for (const auto& t : tables) {
    // Flip bytes in the data blocks (the first half; the footer stays).
    std::fstream f(t, std::ios::in | std::ios::out | std::ios::binary);
    const auto size = static_cast<std::streamoff>(fs::file_size(t));
    for (std::streamoff at = 64; at < size / 2; at += 97) {
      f.seekp(at);
      f.put('\x5a');
    }
  }
  std::string error;
  if (!server_.Start(&error)) {
    // Refusing to start on damaged data is failing closed too.
    std::cerr << "the server refused to start on the damaged table\n";
    EXPECT_NE(error.find("damaged"), std::string::npos) << error;
    return;
  }
  auto st = As("admin", {"status", "--format", "json", "--wait", "60"});
  EXPECT_EQ(st.exit_code, 1) << st.out;
  EXPECT_NE(st.out.find("\"state\": \"FAILED\""), std::string::npos) << st.out;
  std::string q = Query();
  EXPECT_EQ(q.rfind("exit 1", 0), 0u) << q;
  EXPECT_NE(q.find("the linkage failed"), std::string::npos) << q;
  std::string herr;
  EXPECT_EQ(
      testing::HealthCheck(server_.address(), server_.Tls("admin"), &herr), 2)
      << herr;
  // Not ready, still alive: a restart would not help.
  EXPECT_EQ(testing::HealthCheck(server_.address(), server_.Tls("admin"), &herr,
                                 "readiness"),
            2)
      << herr;
  EXPECT_EQ(testing::HealthCheck(server_.address(), server_.Tls("admin"), &herr,
                                 "liveness"),
            1)
      << herr;
  std::string page = testing::HttpGet(server_.metrics_port(), "/metrics");
  EXPECT_NE(page.find("cohortlink_linkage_failed 1"), std::string::npos)
      << page;
}

TEST_F(ServerFailClosedTest, WhatTheServerWritesIsPrivate) {
  ASSERT_EQ(Upload("police", "main").exit_code, 0);
  struct stat st;
  ASSERT_EQ(::stat(tmp_.File("data").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  for (const auto& e : fs::recursive_directory_iterator(tmp_.File("data"))) {
    ASSERT_EQ(::stat(e.path().c_str(), &st), 0);
    if (e.path().filename() == "audit-public.pem") continue;  // public
    if (e.path().extension() == ".pem" && e.path().filename() != "key.pem" &&
        e.path().filename() != "ca-key.pem")
      continue;  // certificates
    EXPECT_EQ(st.st_mode & 077, 0u) << e.path() << " is readable by others";
  }
  server_.Stop(SIGTERM);
  ::chmod(tmp_.File("data").c_str(), 0755);
  std::string log = StartRefused();
  EXPECT_NE(log.find("chmod -R go-rwx " + tmp_.File("data")), std::string::npos)
      << log;
}

// A data directory on a 256 MiB tmpfs fills up: once less than the reserve
// (32 MiB here) is free, uploads fail with RESOURCE_EXHAUSTED and health
// turns NOT_SERVING; once space is freed the server resumes by itself, and
// nothing acknowledged is lost.
TEST_F(ServerFailClosedTest, AFullDiskRefusesWritesAndRecoversWithoutARestart) {
  server_.Stop(SIGTERM);
  const std::string mnt = tmp_.File("small");
  fs::create_directories(mnt);
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=256m,mode=0700") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{mnt};
  testing::ServerProcess small(mnt + "/data", tmp_.File("small.log"));
  std::ofstream(tmp_.File("small.json"))
      << R"({"limits": {"disk_reserve_mib": 32}})";
  small.extra_args = {"--config", tmp_.File("small.json")};
  std::string error;
  ASSERT_TRUE(small.Start(&error)) << error;
  auto as = [&](const std::string& who, std::vector<std::string> args) {
    for (auto& a : {std::string("--server"), small.address(),
                    std::string("--tls"), small.Tls(who)})
      args.push_back(a);
    return Cli(args);
  };
  ASSERT_EQ(as("police", {"upload", "--extract", "main",
                          tmp_.File("police.clx"), "--retries", "0"})
                .exit_code,
            0);
  // Fill what is left.
  {
    std::ofstream filler(mnt + "/filler", std::ios::binary);
    std::string mb(1 << 20, 'x');
    while (filler.write(mb.data(), mb.size())) {
    }
  }
  // Upload until the reserve is reached (the filler leaves what the
  // tmpfs's blocks round up to).
  ASSERT_EQ(
      Cli({"synth", "--people", "40000", "--out", tmp_.File("big")}).exit_code,
      0);
  auto enc =
      Cli({"encode", "--schema", tmp_.File("region/schema.json"), "--secret",
           tmp_.File("secret"), "--input", tmp_.File("big/prison.csv"),
           "--output", tmp_.File("big.clx")});
  ASSERT_EQ(enc.exit_code, 0) << enc.err;
  testing::CliResult r;
  for (int i = 0; i < 60; ++i) {
    r = as("prison", {"upload", "--extract", "r" + std::to_string(i),
                      tmp_.File("big.clx"), "--retries", "0"});
    if (r.exit_code != 0) break;
  }
  ASSERT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find("disk is full"), std::string::npos)
      << r.err << testing::Slurp(tmp_.File("small.log"));
  std::string herr;
  int health = -1;
  for (int i = 0; i < 50 && health != 2; ++i) {
    health = testing::HealthCheck(small.address(), small.Tls("admin"), &herr);
    if (health != 2)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(health, 2) << herr;
  fs::remove(mnt + "/filler");
  for (int i = 0; i < 100 && health != 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    health = testing::HealthCheck(small.address(), small.Tls("admin"), &herr);
  }
  ASSERT_EQ(health, 1) << herr;
  auto ok = as("prison", {"upload", "--extract", "after",
                          tmp_.File("prison.clx"), "--retries", "0"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  small.Stop(SIGTERM);
  ASSERT_TRUE(small.Start(&error)) << error;
  auto st = as("admin", {"status", "--format", "json"});
  EXPECT_NE(st.out.find("\"after\""), std::string::npos) << st.out;
  EXPECT_NE(st.out.find("\"main\""), std::string::npos) << st.out;
  small.Stop(SIGTERM);
}

}  // namespace
}  // namespace cohortlink
