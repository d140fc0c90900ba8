// Backup and restore through the real server and CLI: `cohortlink backup
// create` (role admin) against a serving server, while agencies upload,
// then `cohortlink-server --restore` into a new data directory and a
// server started on it. The restored server holds exactly what the access
// log had acknowledged at the backup's sequence number, answers queries
// and exports the linkage map as the original did, and passes the
// auditor's verification from before the backup. Damaged, forged and
// misplaced backups are refused without leaving a data directory.

#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "keys/signing.h"
#include "linkage/store/backup_manifest.h"
#include "linkage/store/extract_store.h"
#include "tests/access_log.h"
#include "tests/cli_runner.h"
#include "tests/server_process.h"
#include "util/atomic_file.h"
#include "util/temp_dir.h"

namespace cohortlink {
namespace {

namespace fs = std::filesystem;

// `cohortlink-server <args>`: the exit code, and stderr in `log`.
int RunServer(const std::vector<std::string>& args, const std::string& log) {
  std::string cmd = testing::ShellQuote(testing::ServerBinary());
  for (const auto& a : args) cmd += " " + testing::ShellQuote(a);
  cmd += " </dev/null 2>" + testing::ShellQuote(log);
  int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The (agency, extract, records) of every extract stored under `data_dir`.
std::set<std::tuple<std::string, std::string, uint64_t>> StoredExtracts(
    const std::string& data_dir) {
  std::set<std::tuple<std::string, std::string, uint64_t>> out;
  auto db = store::Store::Open(data_dir + "/db");
  EXPECT_TRUE(db.ok()) << db.status();
  if (!db.ok()) return out;
  auto extracts = store::ExtractStore::Create(db->get());
  EXPECT_TRUE(extracts.ok()) << extracts.status();
  if (!extracts.ok()) return out;
  auto all = (*extracts)->List("");
  EXPECT_TRUE(all.ok()) << all.status();
  if (!all.ok()) return out;
  for (const auto& x : *all)
    out.insert({x.agency(), x.extract_name(), x.records()});
  return out;
}

class BackupRestoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(server_.Start(&error)) << error;
    ASSERT_EQ(testing::EncodeRegion(tmp_.path(), 1200), "");
  }

  testing::CliResult Cli(std::vector<std::string> args) {
    return testing::RunCli(args, tmp_.path());
  }
  testing::CliResult As(const testing::ServerProcess& s, const std::string& who,
                        std::vector<std::string> args,
                        const fs::path& scratch = {}) {
    return testing::RunCliAs(s, who, std::move(args),
                             scratch.empty() ? tmp_.path() : scratch);
  }
  void Upload(const std::string& agency, const std::string& extract,
              const fs::path& scratch = {}) {
    auto r = As(server_, agency,
                {"upload", "--extract", extract, tmp_.File(agency + ".clx")},
                scratch);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  // The query's answer as JSON, without the fields that name the run.
  std::string Answer(const testing::ServerProcess& s) {
    auto r = As(s, "analyst",
                {"query", "--spec",
                 std::string(COHORTLINK_SOURCE_DIR) +
                     "/examples/queries/reoffending-12m.json",
                 "--format", "json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string out;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) {
      if (line.find("\"linkage_generation\"") != std::string::npos ||
          line.find("\"linked_at\"") != std::string::npos)
        continue;
      out += line + "\n";
    }
    return out;
  }
  std::string Links(const testing::ServerProcess& s, const std::string& name) {
    auto r = As(s, "exporter", {"export-links", "--out", tmp_.File(name)});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return util::ReadFile(tmp_.File(name)).value_or("");
  }
  int Restore(const std::string& backup, const std::string& data_dir,
              const std::string& log = "") {
    return RunServer({"--restore", backup, "--data-dir", data_dir,
                      "--signing-key", tmp_.File("data/audit-signing.key")},
                     log.empty() ? tmp_.File("restore.log") : log);
  }

  util::TempDir tmp_{"backup_restore_test"};
  testing::ServerProcess server_{tmp_.File("data"), tmp_.File("server.log")};
};

// A backup of a quiet server restores to the same answers: the same
// linkage map (entity ids included), the same query answer, and an access
// log that extends what the auditor verified before the backup.
TEST_F(BackupRestoreTest, RestoredServerAnswersAsTheOriginal) {
  for (const std::string& a : testing::Agencies()) Upload(a, "main");
  ASSERT_EQ(As(server_, "police", {"status", "--wait", "120"}).exit_code, 0);
  auto verified =
      As(server_, "auditor",
         {"audit", "verify", "--pubkey", tmp_.File("data/audit-public.pem"),
          "--state", tmp_.File("auditor.state")});
  ASSERT_EQ(verified.exit_code, 0) << verified.err;
  const std::string answer = Answer(server_);
  const std::string links = Links(server_, "links-a.csv");
  ASSERT_NE(answer.find("\"cells\""), std::string::npos) << answer;

  // Only the admin role may take a backup.
  auto denied = As(server_, "analyst",
                   {"backup", "create", "--out", tmp_.File("denied")});
  EXPECT_EQ(denied.exit_code, 1);
  EXPECT_NE(denied.err.find("may not call CreateBackup"), std::string::npos)
      << denied.err;
  EXPECT_FALSE(fs::exists(tmp_.File("denied")));
  EXPECT_FALSE(fs::exists(tmp_.File("denied.partial")));

  auto made = As(
      server_, "admin",
      {"backup", "create", "--out", tmp_.File("backup"), "--format", "json"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  EXPECT_NE(made.out.find("\"access_log_entries\""), std::string::npos);
  // The signing key is not in the backup.
  EXPECT_FALSE(fs::exists(tmp_.File("backup/audit-signing.key")));
  auto checked = Cli({"backup", "verify", tmp_.File("backup"), "--pubkey",
                      tmp_.File("data/audit-public.pem")});
  EXPECT_EQ(checked.exit_code, 0) << checked.err;

  ASSERT_EQ(Restore(tmp_.File("backup"), tmp_.File("restored")), 0)
      << util::ReadFile(tmp_.File("restore.log")).value_or("");
  testing::ServerProcess restored(tmp_.File("restored"),
                                  tmp_.File("restored.log"));
  std::string error;
  ASSERT_TRUE(restored.Start(&error)) << error;
  ASSERT_EQ(As(restored, "police", {"status", "--wait", "120"}).exit_code, 0);
  EXPECT_EQ(Links(restored, "links-b.csv"), links);
  EXPECT_EQ(Answer(restored), answer);
  // The auditor's state from before the backup verifies against the
  // restored log: nothing verified was lost or altered.
  auto again =
      As(restored, "auditor",
         {"audit", "verify", "--pubkey", tmp_.File("data/audit-public.pem"),
          "--state", tmp_.File("auditor.state")});
  EXPECT_EQ(again.exit_code, 0) << again.err << again.out;
}

// A backup taken while agencies upload holds exactly the uploads its
// access log acknowledged, and the entries before it byte for byte.
TEST_F(BackupRestoreTest, BackupDuringUploadsHoldsWhatItsLogAcknowledged) {
  Upload("police", "main");
  Upload("prison", "main");
  ASSERT_EQ(As(server_, "police", {"status", "--wait", "120"}).exit_code, 0);
  fs::create_directories(tmp_.File("uploader"));
  std::thread uploads([&] {
    for (int round = 0; round < 3; ++round) {
      for (const char* a : {"probation", "health", "local-authority"})
        Upload(a, absl::StrCat("round-", round), tmp_.File("uploader"));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto made =
      As(server_, "admin", {"backup", "create", "--out", tmp_.File("backup")});
  uploads.join();
  ASSERT_EQ(made.exit_code, 0) << made.err;
  server_.Stop(SIGTERM);

  auto manifest = store::ReadManifest(tmp_.File("backup"));
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  const uint64_t n = manifest->access_log_entries();
  std::vector<cohortlink::v1::AuditEntry> original =
      testing::ReadAccessLog(tmp_.File("data"));
  ASSERT_GE(original.size(), n);
  // What the log acknowledged up to the backup: its committed uploads,
  // and the backup's own entry last.
  std::set<std::pair<std::string, std::string>> acknowledged;
  for (uint64_t i = 0; i < n; ++i) {
    const auto& e = original[i];
    if (e.method() == "IngestService/Upload" && e.code() == 0)
      acknowledged.insert({e.agency(), e.target()});
  }
  EXPECT_EQ(original[n - 1].method(), "AdminService/CreateBackup");
  const auto all_after = StoredExtracts(tmp_.File("data"));

  ASSERT_EQ(Restore(tmp_.File("backup"), tmp_.File("restored")), 0)
      << util::ReadFile(tmp_.File("restore.log")).value_or("");
  const auto restored_extracts = StoredExtracts(tmp_.File("restored"));
  std::set<std::pair<std::string, std::string>> restored_names;
  for (const auto& [agency, name, records] : restored_extracts) {
    restored_names.insert({agency, name});
    // The same extract, whole, as the original holds it.
    EXPECT_EQ(all_after.count({agency, name, records}), 1u) << agency << name;
  }
  EXPECT_EQ(restored_names, acknowledged);
  std::cout << "the backup holds " << acknowledged.size() << " of the "
            << all_after.size() << " extracts stored at the end\n";
  std::vector<cohortlink::v1::AuditEntry> restored_log =
      testing::ReadAccessLog(tmp_.File("restored"));
  ASSERT_EQ(restored_log.size(), n);
  for (uint64_t i = 0; i < n; ++i)
    EXPECT_EQ(restored_log[i].SerializeAsString(),
              original[i].SerializeAsString())
        << "entry " << i;

  // The restored server starts, links what it holds and exports it all.
  testing::ServerProcess restored(tmp_.File("restored"),
                                  tmp_.File("restored.log"));
  std::string error;
  ASSERT_TRUE(restored.Start(&error)) << error;
  ASSERT_EQ(As(restored, "police", {"status", "--wait", "120"}).exit_code, 0);
  uint64_t records = 0;
  for (const auto& x : restored_extracts) records += std::get<2>(x);
  const std::string links = Links(restored, "links.csv");
  EXPECT_EQ(static_cast<uint64_t>(std::count(links.begin(), links.end(), '\n')),
            records + 1);
}

// Restore checks before it builds anything: a damaged file, a forged
// manifest, the wrong signing key, a non-empty target, a missing flag.
TEST_F(BackupRestoreTest, DamagedOrForgedBackupsAreRefused) {
  Upload("police", "main");
  ASSERT_EQ(
      As(server_, "admin", {"backup", "create", "--out", tmp_.File("backup")})
          .exit_code,
      0);
  // Into a directory that exists and is not empty: refused by the CLI.
  auto again =
      As(server_, "admin", {"backup", "create", "--out", tmp_.File("backup")});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("not empty"), std::string::npos) << again.err;

  auto copy = [&](const std::string& name) {
    fs::copy(tmp_.File("backup"), tmp_.File(name), fs::copy_options::recursive);
    return tmp_.File(name);
  };
  auto refused = [&](const std::string& backup, const std::string& expect,
                     std::vector<std::string> args = {}) {
    const std::string target =
        tmp_.File("target-" + fs::path(backup).filename().string());
    if (args.empty()) {
      args = {"--restore",     backup,
              "--data-dir",    target,
              "--signing-key", tmp_.File("data/audit-signing.key")};
    }
    int rc = RunServer(args, tmp_.File("refused.log"));
    std::string log = util::ReadFile(tmp_.File("refused.log")).value_or("");
    EXPECT_NE(rc, 0) << log;
    EXPECT_NE(log.find(expect), std::string::npos) << log;
    EXPECT_FALSE(fs::exists(target)) << target;
    EXPECT_FALSE(fs::exists(target + ".restoring")) << target;
    return rc;
  };

  // One byte of a table file changed.
  {
    std::string dir = copy("flipped");
    std::string sst;
    for (const auto& e : fs::directory_iterator(dir + "/db"))
      if (e.path().extension() == ".sst") sst = e.path().string();
    ASSERT_FALSE(sst.empty());
    std::fstream f(sst, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('\x5a');
    f.close();
    refused(dir, "differs from the manifest");
    auto verify = Cli({"backup", "verify", dir});
    EXPECT_EQ(verify.exit_code, 1);
  }
  // The manifest edited to claim fewer access-log entries.
  {
    std::string dir = copy("forged");
    std::string json = util::ReadFile(dir + "/backup.json").value();
    size_t p = json.find("\"access_log_entries\": \"");
    ASSERT_NE(p, std::string::npos);
    json.replace(p, json.find('"', p + 23) - p + 1,
                 "\"access_log_entries\": \"1\"");
    std::ofstream(dir + "/backup.json", std::ios::trunc) << json;
    refused(dir, "signature does not verify");
  }
  // Another server's signing key.
  {
    std::string other = tmp_.File("other.key");
    auto key = keys::SigningKey::LoadOrCreate(other);
    ASSERT_TRUE(key.ok());
    refused(tmp_.File("backup"), "is not the access-log signing key",
            {"--restore", tmp_.File("backup"), "--data-dir",
             tmp_.File("target-backup"), "--signing-key", other});
  }
  // A target that is not empty is left as it was.
  {
    fs::create_directories(tmp_.File("busy"));
    std::ofstream(tmp_.File("busy/keep")) << "x";
    int rc = RunServer(
        {"--restore", tmp_.File("backup"), "--data-dir", tmp_.File("busy"),
         "--signing-key", tmp_.File("data/audit-signing.key")},
        tmp_.File("busy.log"));
    EXPECT_EQ(rc, 1);
    EXPECT_TRUE(fs::exists(tmp_.File("busy/keep")));
  }
  // Without --signing-key: a usage error.
  EXPECT_EQ(RunServer({"--restore", tmp_.File("backup"), "--data-dir",
                       tmp_.File("nokey")},
                      tmp_.File("nokey.log")),
            2);
}

}  // namespace
}  // namespace cohortlink
