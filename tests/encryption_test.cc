// Encryption at rest on the real server: with a data key, no data file
// holds the plain bytes of a stored record (without one they do: the
// probe can fail), and a wrong key or no key is refused with a clear
// message before anything is read.

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "linkage/encoding/extract_file.h"
#include "tests/cli_runner.h"
#include "tests/server_process.h"
#include "util/atomic_file.h"
#include "util/temp_dir.h"

namespace cohortlink {
namespace {

class EncryptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(Cli({"synth", "--people", "200", "--out", tmp_.File("region")})
                  .exit_code,
              0);
    std::ofstream(tmp_.File("secret")) << "shared secret\n";
    auto r =
        Cli({"encode", "--schema", tmp_.File("region/schema.json"), "--secret",
             tmp_.File("secret"), "--input", tmp_.File("region/police.csv"),
             "--output", tmp_.File("police.clx")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const char* k : {"data.key", "other.key"}) {
      ASSERT_EQ(Cli({"keys", "secret", "--out", tmp_.File(k)}).exit_code, 0);
    }
    // A distinctive stored value: the first record's pseudonymous key.
    auto in = encoding::ExtractReader::Open(tmp_.File("police.clx"));
    ASSERT_TRUE(in.ok());
    std::string bytes;
    ASSERT_TRUE(*(*in)->Next(&bytes));
    cohortlink::v1::EncodedRecord rec;
    ASSERT_TRUE(rec.ParseFromString(bytes));
    probe_ = rec.record_key();
    ASSERT_GE(probe_.size(), 16u);
  }
  testing::CliResult Cli(std::vector<std::string> args) {
    return testing::RunCli(args, tmp_.path());
  }
  // Starts a server on `dir` with `args`, uploads the extract, stops it.
  void UploadTo(const std::string& dir, std::vector<std::string> args) {
    testing::ServerProcess server(tmp_.File(dir), tmp_.File(dir + ".log"));
    server.extra_args = std::move(args);
    std::string error;
    ASSERT_TRUE(server.Start(&error)) << error;
    auto r = Cli({"upload", "--server", server.address(), "--tls",
                  server.Tls("police"), "--extract", "arrests",
                  tmp_.File("police.clx"), "--retries", "0"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    server.Stop(SIGTERM);
  }
  // Whether any file under `dir` contains the probe bytes.
  bool Found(const std::string& dir) {
    for (const auto& f : std::filesystem::recursive_directory_iterator(
             tmp_.File(dir) + "/db")) {
      if (!f.is_regular_file()) continue;
      auto text = util::ReadFile(f.path().string());
      if (text.ok() && text->find(probe_) != std::string::npos) return true;
    }
    return false;
  }
  // Runs the server binary to completion (it should refuse to start).
  std::pair<int, std::string> Refused(const std::string& dir,
                                      const std::string& key) {
    std::string cmd = "timeout 60 " + testing::ServerBinary() +
                      " --dev --data-dir " + tmp_.File(dir) +
                      " --listen 127.0.0.1:0" +
                      (key.empty() ? "" : " --data-key-file " + key) + " 2>" +
                      tmp_.File("refused.log");
    int rc = std::system(cmd.c_str());
    return {WEXITSTATUS(rc),
            util::ReadFile(tmp_.File("refused.log")).value_or("")};
  }
  // Starts the server on `dir` with `key`: the uploaded extract is there.
  void ExpectExtractWith(const std::string& dir, const std::string& key) {
    testing::ServerProcess server(tmp_.File(dir),
                                  tmp_.File(dir + ".again.log"));
    server.extra_args = {"--data-key-file", key};
    std::string error;
    ASSERT_TRUE(server.Start(&error)) << error;
    auto st = Cli({"status", "--server", server.address(), "--tls",
                   server.Tls("police"), "--format", "json"});
    ASSERT_EQ(st.exit_code, 0) << st.err;
    EXPECT_NE(st.out.find("\"extract\": \"arrests\""), std::string::npos);
  }

  util::TempDir tmp_{"encryption_test"};
  std::string probe_;
};

TEST_F(EncryptionTest, DataFilesHoldNoPlainRecordBytes) {
  UploadTo("plain", {});
  EXPECT_TRUE(Found("plain"));  // the probe works
  UploadTo("sealed", {"--data-key-file", tmp_.File("data.key")});
  EXPECT_FALSE(Found("sealed"));
  // The right key opens it again, and the extract is there.
  ExpectExtractWith("sealed", tmp_.File("data.key"));
}

TEST_F(EncryptionTest, WrongOrMissingKeyIsRefused) {
  UploadTo("sealed", {"--data-key-file", tmp_.File("data.key")});
  auto [rc, log] = Refused("sealed", tmp_.File("other.key"));
  EXPECT_EQ(rc, 1);
  EXPECT_NE(log.find("wrong data key"), std::string::npos) << log;
  std::tie(rc, log) = Refused("sealed", "");
  EXPECT_EQ(rc, 1);
  EXPECT_NE(log.find("is encrypted: give its data key"), std::string::npos)
      << log;
  ::chmod(tmp_.File("data.key").c_str(), 0644);
  std::tie(rc, log) = Refused("sealed", tmp_.File("data.key"));
  EXPECT_EQ(rc, 1);
  EXPECT_NE(log.find("data.key is readable by"), std::string::npos) << log;
  EXPECT_NE(log.find("run: chmod 600"), std::string::npos) << log;
}

TEST_F(EncryptionTest, TheDataKeyRotates) {
  UploadTo("sealed", {"--data-key-file", tmp_.File("data.key")});
  std::string cmd = "timeout 120 " + testing::ServerBinary() + " --data-dir " +
                    tmp_.File("sealed") + " --data-key-file " +
                    tmp_.File("data.key") + " --rotate-data-key " +
                    tmp_.File("other.key") + " 2>" + tmp_.File("rotate.log");
  ASSERT_EQ(WEXITSTATUS(std::system(cmd.c_str())), 0)
      << util::ReadFile(tmp_.File("rotate.log")).value_or("");
  std::filesystem::remove_all(tmp_.File("sealed") + "/db.old");
  EXPECT_FALSE(Found("sealed"));
  auto [rc, log] = Refused("sealed", tmp_.File("data.key"));
  EXPECT_EQ(rc, 1);
  EXPECT_NE(log.find("wrong data key"), std::string::npos) << log;
  ExpectExtractWith("sealed", tmp_.File("other.key"));
}

}  // namespace
}  // namespace cohortlink
