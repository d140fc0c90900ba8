// A hostile client holding a certificate from the server's CA, with raw
// gRPC stubs (never the CLI, which would refuse to send most of this). Each
// case is refused with its precise error, changes no stored state, keeps the
// server's memory bounded, and leaves an access log that still verifies.
// The limits are in docs/limits.md.

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <thread>

#include "cohortlink/v1/ingest.grpc.pb.h"
#include "cohortlink/v1/query.grpc.pb.h"
#include "google/protobuf/unknown_field_set.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "keys/mac.h"
#include "linkage/cohort/query_spec.h"
#include "linkage/encoding/extract_file.h"
#include "linkage/store/extract_store.h"
#include "linkage/store/test_upload.h"
#include "tests/access_log.h"
#include "tests/cli_runner.h"
#include "tests/grpc_client.h"
#include "tests/server_process.h"
#include "util/temp_dir.h"

namespace cohortlink {
namespace {

namespace fs = std::filesystem;
using store::testing::MakeUpload;
using store::testing::Upload;

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define COHORTLINK_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define COHORTLINK_ASAN 1
#endif

// How much the server's peak memory may grow over a run of hostile calls
// (measured: 57 MiB for the eleven 13 MB queries). Under ASan, which keeps
// 256 MiB of freed memory in quarantine and pads every allocation, more.
#ifdef COHORTLINK_ASAN
constexpr int64_t kMemoryGrowthKiB = int64_t{768} << 10;
#else
constexpr int64_t kMemoryGrowthKiB = int64_t{160} << 10;
#endif

uint64_t DirBytes(const std::string& dir) {
  uint64_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) n += e.file_size();
  return n;
}

class HostileClientTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(); }
  void TearDown() override { server_.Stop(SIGTERM); }
  void Start() {
    std::string error;
    ASSERT_TRUE(server_.Start(&error)) << "server did not start: " << error;
  }
  testing::CliResult Cli(std::vector<std::string> args) {
    return testing::RunCli(args, tmp_.path());
  }
  testing::CliResult As(const std::string& who, std::vector<std::string> args) {
    return testing::RunCliAs(server_, who, std::move(args), tmp_.path());
  }
  std::shared_ptr<grpc::Channel> Channel(const std::string& who) {
    return grpc::CreateChannel(server_.address(),
                               testing::DevCredentials(server_.Tls(who)));
  }
  grpc::Status Send(const Upload& u, const std::string& who = "police") {
    auto stub = cohortlink::v1::IngestService::NewStub(Channel(who));
    return testing::UploadOnce(stub.get(), u.header, u.framed);
  }
  // What a submitter sees of its extracts: names, versions, record counts.
  std::string Extracts(const std::string& who = "police") {
    auto stub = cohortlink::v1::IngestService::NewStub(Channel(who));
    grpc::ClientContext ctx;
    cohortlink::v1::ListExtractsRequest req;
    cohortlink::v1::ListExtractsResponse resp;
    grpc::Status s = stub->ListExtracts(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::string out;
    for (const auto& e : resp.extracts())
      out += e.extract_name() + "/" + std::to_string(e.version()) + "/" +
             std::to_string(e.records()) + " ";
    return out;
  }
  // The analyst's query of the example spec, edited.
  grpc::Status Query(
      const std::function<void(cohortlink::v1::CohortQuery*)>& edit,
      const std::string& who = "analyst",
      cohortlink::v1::QueryResult* out = nullptr) {
    auto q = cohort::ParseQuerySpec(
        testing::Slurp(std::string(COHORTLINK_SOURCE_DIR) +
                       "/examples/queries/reoffending-12m.json"),
        "reoffending-12m.json");
    EXPECT_TRUE(q.ok()) << q.status();
    edit(&*q);
    auto stub = cohortlink::v1::QueryService::NewStub(Channel(who));
    grpc::ClientContext ctx;
    // A query that spins would meet this deadline instead of its error.
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(20));
    cohortlink::v1::QueryResult r;
    grpc::Status s = stub->RunQuery(&ctx, *q, &r);
    if (out != nullptr) *out = r;
    return s;
  }
  void ExpectRefused(const grpc::Status& s, grpc::StatusCode code,
                     const std::string& message, const std::string& what) {
    EXPECT_EQ(s.error_code(), code) << what << ": " << s.error_message();
    EXPECT_NE(s.error_message().find(message), std::string::npos)
        << what << ": " << s.error_message();
  }
  void ExpectLogVerifies() {
    fs::copy_file(tmp_.File("data/audit-public.pem"), tmp_.File("pub.pem"),
                  fs::copy_options::overwrite_existing);
    auto v =
        As("auditor", {"audit", "verify", "--pubkey", tmp_.File("pub.pem")});
    EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
    auto log = As("auditor", {"audit", "log"});
    EXPECT_EQ(log.exit_code, 0) << log.err;
    EXPECT_EQ(log.out.find('\x1b'), std::string::npos);
  }
  // A linked region: the prison's releases and the police's arrests.
  void LinkARegion() {
    ASSERT_EQ(Cli({"synth", "--people", "2000", "--out", tmp_.File("region")})
                  .exit_code,
              0);
    std::ofstream(tmp_.File("secret")) << "shared secret\n";
    for (const std::string& a :
         {std::string("police"), std::string("prison")}) {
      auto e = Cli({"encode", "--schema", tmp_.File("region/schema.json"),
                    "--secret", tmp_.File("secret"), "--input",
                    tmp_.File("region/" + a + ".csv"), "--output",
                    tmp_.File(a + ".clx")});
      ASSERT_EQ(e.exit_code, 0) << e.err;
      auto u = As(a, {"upload", "--extract", "main", tmp_.File(a + ".clx")});
      ASSERT_EQ(u.exit_code, 0) << u.err;
    }
    auto st = As("prison", {"status", "--wait", "120"});
    ASSERT_EQ(st.exit_code, 0) << st.err;
  }

  util::TempDir tmp_{"hostile_client_test"};
  testing::ServerProcess server_{tmp_.File("data"), tmp_.File("server.log")};
};

TEST_F(HostileClientTest, QueriesOutsideTheirLimitsAreRefusedBeforeAnyWork) {
  LinkARegion();
  cohortlink::v1::QueryResult ok;
  ASSERT_TRUE(Query([](auto*) {}, "analyst", &ok).ok());
  const int64_t kMin32 = std::numeric_limits<int32_t>::min(),
                kMax32 = std::numeric_limits<int32_t>::max();
  struct Case {
    const char* what;
    std::function<void(cohortlink::v1::CohortQuery*)> edit;
    const char* message;
  };
  const Case cases[] = {
      // Each limit at its value passes, and at value + 1 is refused.
      {"threshold 4294967295",
       [](auto* q) { q->mutable_disclosure()->set_threshold(4294967295u); },
       "disclosure.threshold: at most 1000"},
      {"threshold 1001",
       [](auto* q) {
         q->mutable_disclosure()->set_threshold(cohort::kMaxThreshold + 1);
       },
       "disclosure.threshold: at most 1000"},
      {"rounding 4294967295",
       [](auto* q) { q->mutable_disclosure()->set_rounding(4294967295u); },
       "disclosure.rounding: at most 1000"},
      {"window [-2^31, 2^31-1]",
       [&](auto* q) {
         q->mutable_outcomes(0)->set_from_day(static_cast<int32_t>(kMin32));
         q->mutable_outcomes(0)->set_to_day(static_cast<int32_t>(kMax32));
       },
       "window_days: days lie within -36525 and 36525"},
      {"window one day too long",
       [](auto* q) {
         q->mutable_outcomes(0)->set_to_day(cohort::kMaxWindowDays + 1);
       },
       "window_days: days lie within"},
      {"NaN probability",
       [](auto* q) {
         q->set_min_match_probability(std::numeric_limits<double>::quiet_NaN());
       },
       "min_match_probability: must be between 0 and 1"},
      {"17 outcomes",
       [](auto* q) {
         for (int i = q->outcomes_size(); i <= cohort::kMaxOutcomes; ++i) {
           auto* o = q->add_outcomes();
           *o = q->outcomes(0);
           o->set_name("o" + std::to_string(i));
         }
       },
       "outcomes: at most 16"},
      {"65 filter values",
       [](auto* q) {
         auto& f =
             (*q->mutable_cohort()->mutable_event()->mutable_filters())["area"];
         for (int i = 0; i <= cohort::kMaxFilterValues; ++i)
           f.add_values("v" + std::to_string(i));
       },
       "at most 64 values"},
      {"an escape in a breakdown",
       [](auto* q) { q->add_breakdowns("sex\x1b[2J"); }, "is not a valid name"},
      {"a control character in a filter value",
       [](auto* q) {
         (*q->mutable_cohort()->mutable_event()->mutable_filters())["area"]
             .add_values("bristol\n");
       },
       "bytes of printable UTF-8"},
  };
  for (const Case& c : cases)
    ExpectRefused(Query(c.edit), grpc::StatusCode::INVALID_ARGUMENT, c.message,
                  c.what);
  // At the limits, the query is answered (windows at +-36,525 days are
  // within the bound but off the server's menu: see the grid below).
  grpc::Status at = Query([](auto* q) {
    q->mutable_disclosure()->set_threshold(cohort::kMaxThreshold);
    q->mutable_disclosure()->set_rounding(cohort::kMaxRounding);
    q->mutable_outcomes(0)->set_from_day(-730);
    q->mutable_outcomes(0)->set_to_day(730);
  });
  ExpectRefused(at, grpc::StatusCode::INVALID_ARGUMENT,
                "outcomes[0].window_days: [-730, 730] is not a window of the "
                "server's menu",
                "a window across the index date");
  EXPECT_TRUE(Query([](auto* q) {
                q->mutable_disclosure()->set_threshold(cohort::kMaxThreshold);
                q->mutable_disclosure()->set_rounding(cohort::kMaxRounding);
                q->mutable_outcomes(0)->set_from_day(-730);
                q->mutable_outcomes(0)->set_to_day(-366);
              }).ok());
  // Off the grid: refused with the nearest allowed form, never moved.
  const Case off_grid[] = {
      {"a cohort from the 5th",
       [](auto* q) { q->mutable_cohort()->set_from("2024-01-05"); },
       "cohort.from: 2024-01-05 is not the first day of a month; cohort "
       "periods follow the server's month grid: the nearest allowed is "
       "2024-01-01"},
      {"a cohort to the 30th",
       [](auto* q) { q->mutable_cohort()->set_to("2024-12-30"); },
       "cohort.to: 2024-12-30 is not the last day of a month; cohort periods "
       "follow the server's month grid: the nearest allowed is 2024-12-31"},
      {"a window of 90 days",
       [](auto* q) { q->mutable_outcomes(0)->set_to_day(90); },
       "outcomes[0].window_days: [1, 90] is not a window of the server's "
       "menu; the nearest allowed is [1, 91]"},
      {"a window from day 4",
       [](auto* q) { q->mutable_outcomes(0)->set_from_day(4); },
       "outcomes[0].window_days: [4, 365] is not a window of the server's "
       "menu; the nearest allowed is [2, 365]"},
  };
  for (const Case& c : off_grid)
    ExpectRefused(Query(c.edit), grpc::StatusCode::INVALID_ARGUMENT, c.message,
                  c.what);

  // Ten 13 MB queries from a caller who may not query: denied, and recorded
  // without the specification.
  const uint64_t before = DirBytes(tmp_.File("data"));
  const int64_t memory = server_.PeakMemoryKiB();
  for (int i = 0; i < 10; ++i) {
    grpc::Status s = Query(
        [](auto* q) {
          auto& f = (*q->mutable_cohort()
                          ->mutable_event()
                          ->mutable_filters())["area"];
          for (int v = 0; v < 13 * 1024; ++v)
            f.add_values(std::string(1000, 'x'));
        },
        "police");
    ExpectRefused(s, grpc::StatusCode::PERMISSION_DENIED, "", "denied query");
  }
  // An analyst's oversized one is refused by the limits, and its entry is
  // bounded too.
  ExpectRefused(
      Query([](auto* q) {
        auto& f =
            (*q->mutable_cohort()->mutable_event()->mutable_filters())["area"];
        for (int v = 0; v < 13 * 1024; ++v)
          f.add_values(std::string(1000, 'x'));
      }),
      grpc::StatusCode::INVALID_ARGUMENT, "at most 64 values",
      "huge analyst query");
  EXPECT_LT(DirBytes(tmp_.File("data")) - before, uint64_t{4} << 20);
  EXPECT_LT(server_.PeakMemoryKiB() - memory, kMemoryGrowthKiB);
  ExpectLogVerifies();
  server_.Stop(SIGTERM);
  for (const auto& e : testing::ReadAccessLog(tmp_.File("data"))) {
    EXPECT_LE(e.ByteSizeLong(), 16u << 10) << e.method();
    if (e.method() == "QueryService/RunQuery" && e.role() != "analyst") {
      EXPECT_EQ(e.query(), "");
    }
  }
}

TEST_F(HostileClientTest, UploadsOutsideTheirLimitsAreRefusedAndChangeNothing) {
  ASSERT_TRUE(Send(MakeUpload("base", 20)).ok());
  const std::string extracts = Extracts();
  const int64_t memory = server_.PeakMemoryKiB();
  struct Case {
    std::string what;
    Upload upload;
    grpc::StatusCode code;
    std::string message;
  };
  std::vector<Case> cases;
  for (const std::string& name :
       {std::string(".."), std::string("../../etc/passwd"), std::string("a/b"),
        std::string("a\0b", 3), std::string("a\nb"), std::string("\x1b[31mred"),
        std::string("evil\xe2\x80\xaetxt"), std::string(""),
        std::string(129, 'n')}) {
    cases.push_back({"name " + name, MakeUpload(name, 5),
                     grpc::StatusCode::INVALID_ARGUMENT, "extract_name: '"});
  }
  cases.back().message = "is not a valid name";  // the empty name
  {
    // 8,000 empty attribute names on 2 records.
    Upload u = MakeUpload("attrs", 2);
    for (int i = 0; i < 8000; ++i)
      u.header.mutable_extract()->add_attribute_names("");
    cases.push_back({"8000 attribute names",
                     store::testing::WithRecords(u, 2,
                                                 [](int, auto* r) {
                                                   for (int i = 0; i < 8000;
                                                        ++i)
                                                     r->add_attributes();
                                                 }),
                     grpc::StatusCode::INVALID_ARGUMENT,
                     "extract.attribute_names: 8000 names; at most 32"});
  }
  {
    // 1,001 distinct areas: the dictionary of one extract is bounded.
    Upload u = MakeUpload("areas", 1);
    u.header.mutable_extract()->add_attribute_names("area");
    cases.push_back({"1001 distinct values",
                     store::testing::WithRecords(
                         u, 1001,
                         [](int i, auto* r) {
                           auto* a = r->add_attributes();
                           a->set_name("area");
                           a->set_value("area-" + std::to_string(i));
                         }),
                     grpc::StatusCode::INVALID_ARGUMENT,
                     "record 1000: attributes.area: more than 1000 distinct "
                     "values in one extract"});
  }
  {
    Upload u = MakeUpload("attrs2", 1);
    u.header.mutable_extract()->add_attribute_names("area");
    cases.push_back(
        {"a value with an escape",
         store::testing::WithRecords(u, 1,
                                     [](int, auto* r) {
                                       auto* a = r->add_attributes();
                                       a->set_name("area");
                                       a->set_value("bristol\x1b[2J");
                                     }),
         grpc::StatusCode::INVALID_ARGUMENT,
         "record 0: attributes.area: a value is at most 64"});
  }
  cases.push_back({"zero records", MakeUpload("empty", 0),
                   grpc::StatusCode::INVALID_ARGUMENT,
                   "an extract holds at least one record"});
  cases.push_back(
      {"key epoch 4294967295",
       MakeUpload("far", 5, "", std::string(32, 'f'), "kcv-9999", 4294967295u),
       grpc::StatusCode::FAILED_PRECONDITION,
       "key epoch 4294967295 is not open; an admin opens it"});
  cases.push_back(
      {"a submitter squatting the next key epoch",
       MakeUpload("next", 5, "", std::string(32, 'f'), "kcv-9999", 2),
       grpc::StatusCode::FAILED_PRECONDITION,
       "key epoch 2 is not open; an admin opens it"});
  cases.push_back({"a key check value of the wrong size",
                   MakeUpload("kcv", 5, "", std::string(32, 'f'), "kcv", 2),
                   grpc::StatusCode::INVALID_ARGUMENT,
                   "extract.key_check_value: must be 8 bytes"});
  {
    Upload u = MakeUpload("bits", 1, "", std::string(32, 'f'), "kcv-1234", 1,
                          store::kMaxFilterBits + 64);
    cases.push_back({"a filter of 65,600 bits", u,
                     grpc::StatusCode::INVALID_ARGUMENT,
                     "extract.layout: must be a multiple of 64 bits, at most "
                     "65536"});
  }
  for (const Case& c : cases)
    ExpectRefused(Send(c.upload), c.code, c.message, c.what);
  EXPECT_EQ(Extracts(), extracts);
  EXPECT_LT(server_.PeakMemoryKiB() - memory, kMemoryGrowthKiB);
  // The status table escapes whatever the server holds.
  auto st = As("police", {"status"});
  EXPECT_EQ(st.exit_code, 0) << st.err;
  EXPECT_EQ(As("police", {"delete", "--extract", "../x"}).exit_code, 2);
  ExpectLogVerifies();
}

TEST_F(HostileClientTest, InventedMethodsDoNotGrowTheMetrics) {
  auto channel = Channel("police");
  ASSERT_TRUE(testing::RawUnary(channel,
                                "/cohortlink.v1.IngestService/ListExtracts", "")
                  .ok());
  const std::string before =
      testing::HttpGet(server_.metrics_port(), "/metrics");
  for (int i = 0; i < 3000; ++i) {
    grpc::Status s = testing::RawUnary(
        channel, "/cohortlink.v1.Invented" + std::to_string(i) + "/M", "");
    ASSERT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  }
  const std::string after =
      testing::HttpGet(server_.metrics_port(), "/metrics");
  EXPECT_NE(after.find("method=\"unknown\""), std::string::npos);
  EXPECT_EQ(after.find("Invented"), std::string::npos);
  EXPECT_NE(after.find("method=\"cohortlink.v1.IngestService/ListExtracts\""),
            std::string::npos);
  // The label sets are the same; only the counts and timings moved.
  EXPECT_LT(after.size(), before.size() + (16 << 10));
}

TEST_F(HostileClientTest, ASecondServerCannotShareThePort) {
  testing::ServerProcess second(tmp_.File("other"), tmp_.File("other.log"),
                                server_.port());
  std::string log;
  EXPECT_FALSE(second.Start(&log));
  EXPECT_NE(second.exit_status(), -1) << "the second server kept running";
  EXPECT_NE(
      log.find("cannot listen on 127.0.0.1:" + std::to_string(server_.port())),
      std::string::npos)
      << log;
  EXPECT_EQ(Extracts(), "");  // the first still answers
}

// A request of `bytes` bytes exactly, which every request type parses: one
// unknown length-delimited field (number 1000) of padding.
std::string MessageOfSize(size_t bytes) {
  for (size_t len = bytes > 8 ? bytes - 8 : 0; len <= bytes; ++len) {
    cohortlink::v1::ListExtractsRequest r;
    r.GetReflection()->MutableUnknownFields(&r)->AddLengthDelimited(
        1000, std::string(len, 'x'));
    std::string out = r.SerializeAsString();
    if (out.size() == bytes) return out;
  }
  return "";
}

// The message-size limit holds at its value and one byte beyond.
TEST_F(HostileClientTest, TheMessageSizeLimitHoldsAtItsValueAndOneBeyond) {
  server_.Stop(SIGTERM);
  constexpr size_t kLimit = 64 << 10;
  std::ofstream(tmp_.File("server.json"))
      << "{\"limits\": {\"max_message_bytes\": " << kLimit << "}}";
  server_.extra_args = {"--config", tmp_.File("server.json")};
  Start();
  const std::string at = MessageOfSize(kLimit),
                    over = MessageOfSize(kLimit + 1);
  ASSERT_EQ(at.size(), kLimit);
  ASSERT_EQ(over.size(), kLimit + 1);
  auto channel = Channel("police");
  const std::string kList = "/cohortlink.v1.IngestService/ListExtracts";
  grpc::Status s = testing::RawUnary(channel, kList, at);
  EXPECT_TRUE(s.ok()) << s.error_message();
  s = testing::RawUnary(channel, kList, over);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << s.error_message();
  EXPECT_NE(s.error_message().find("larger than max"), std::string::npos)
      << s.error_message();
  EXPECT_EQ(Extracts(), "");
  ExpectLogVerifies();
}

// At most 32 calls at once on one connection: the 33rd waits for one of
// them to end. At most 128 threads serve calls: a flood of open calls on
// many connections is refused with RESOURCE_EXHAUSTED beyond them, and the
// server's threads stay bounded.
TEST_F(HostileClientTest, StreamAndThreadCapsHold) {
  constexpr int kStreams = 32, kThreads = 128;
  const int64_t baseline = server_.Threads();
  ASSERT_GT(baseline, 0);
  struct Open {
    std::unique_ptr<cohortlink::v1::IngestService::Stub> stub;
    std::unique_ptr<grpc::ClientContext> ctx;
    cohortlink::v1::UploadReceipt receipt;
    std::unique_ptr<grpc::ClientWriter<cohortlink::v1::UploadRequest>> writer;
  };
  auto open = [&](const std::shared_ptr<grpc::Channel>& channel) {
    auto o = std::make_unique<Open>();
    o->stub = cohortlink::v1::IngestService::NewStub(channel);
    o->ctx = std::make_unique<grpc::ClientContext>();
    o->ctx->set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(120));
    o->writer = o->stub->Upload(o->ctx.get(), &o->receipt);
    return o;
  };
  // Separate connections: channels that differ in an argument do not
  // share one.
  auto connection = [&](int i) {
    grpc::ChannelArguments args;
    args.SetInt("cohortlink.test.connection", i);
    return grpc::CreateCustomChannel(
        server_.address(), testing::DevCredentials(server_.Tls("police")),
        args);
  };
  auto one = connection(0);
  std::vector<std::unique_ptr<Open>> calls;
  for (int i = 0; i < kStreams; ++i) calls.push_back(open(one));
  const std::string kList = "/cohortlink.v1.IngestService/ListExtracts";
  grpc::Status s =
      testing::RawUnary(one, kList, "", std::chrono::milliseconds(1500));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << "a 33rd call on one connection was served: " << s.error_message();
  // Another connection is served meanwhile; and so is the first, once one
  // of its calls ends.
  s = testing::RawUnary(connection(1), kList, "");
  EXPECT_TRUE(s.ok()) << s.error_message();
  calls.back()->writer->WritesDone();
  EXPECT_EQ(calls.back()->writer->Finish().error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  calls.pop_back();
  s = testing::RawUnary(one, kList, "");
  EXPECT_TRUE(s.ok()) << s.error_message();

  // A flood: 6 connections of 32 open uploads each.
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int c = 2; c < 8; ++c) {
    channels.push_back(connection(c));
    for (int i = 0; i < kStreams; ++i) calls.push_back(open(channels.back()));
  }
  // Until the server has taken every call it will (its thread count stops
  // rising), noting the most threads it ran.
  int64_t peak = server_.Threads();
  int steady = 0;
  for (int i = 0; i < 300 && steady < 10; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const int64_t now = server_.Threads();
    steady = now == peak ? steady + 1 : 0;
    peak = std::max(peak, now);
  }
  EXPECT_LE(peak - baseline, kThreads) << "threads: " << peak;
  int refused = 0, served = 0;
  for (auto& c : calls) {
    c->writer->WritesDone();
    grpc::Status f = c->writer->Finish();
    if (f.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) ++refused;
    if (f.error_code() == grpc::StatusCode::INVALID_ARGUMENT) ++served;
  }
  calls.clear();
  EXPECT_GT(refused, 0) << served << " served";
  EXPECT_EQ(refused + served, 6 * kStreams + kStreams - 1);
  // And it serves again.
  EXPECT_EQ(Extracts(), "");
  ExpectLogVerifies();
}

TEST_F(HostileClientTest, HealthWithoutACertificateOnlyOnItsOwnListener) {
  server_.Stop(SIGTERM);
  server_.extra_args = {"--health-listen", "127.0.0.1:0"};
  Start();
  const std::string log = testing::Slurp(server_.log());
  const std::string kLine =
      "health checks (no client certificate) on 127.0.0.1:";
  const size_t at = log.rfind(kLine);
  ASSERT_NE(at, std::string::npos) << log;
  const std::string health =
      "127.0.0.1:" + std::to_string(std::atoi(log.c_str() + at + kLine.size()));
  std::string error;
  EXPECT_EQ(testing::HealthCheck(health, "", &error), 1) << error;  // SERVING
  // Liveness and readiness by name (nothing stored: ready at once); any
  // other service is unknown.
  EXPECT_EQ(testing::HealthCheck(health, "", &error, "liveness"), 1) << error;
  EXPECT_EQ(testing::HealthCheck(health, "", &error, "readiness"), 1) << error;
  EXPECT_EQ(testing::HealthCheck(health, "", &error, "other"), -1);
  EXPECT_NE(error.find("service"), std::string::npos) << error;
  // Nothing else is served there: no reflection, no service.
  auto plain = grpc::CreateChannel(health, grpc::InsecureChannelCredentials());
  EXPECT_EQ(
      testing::RawUnary(plain, "/cohortlink.v1.IngestService/ListExtracts", "")
          .error_code(),
      grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(
      testing::RawBidi(
          plain,
          "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
          .error_code(),
      grpc::StatusCode::UNIMPLEMENTED);
  // The main listener still wants a certificate.
  EXPECT_EQ(testing::HealthCheck(server_.address(), "", &error), -1);
  // Reflection on the main listener is for admins.
  const std::string kReflection =
      "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";
  // ServerReflectionRequest { list_services = 7: "" }
  const std::string list_services("\x3a\x00", 2);
  for (const char* who : {"police", "analyst", "auditor"}) {
    grpc::Status s = testing::RawBidi(Channel(who), kReflection, list_services);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << who << ": " << s.error_message();
  }
  grpc::Status admin =
      testing::RawBidi(Channel("admin"), kReflection, list_services);
  EXPECT_TRUE(admin.ok()) << admin.error_message();
}

TEST_F(HostileClientTest, ShutdownEndsACallThatNeverFinishesAndSignsTheLog) {
  // An upload that sends its header and then nothing.
  auto stub = cohortlink::v1::IngestService::NewStub(Channel("police"));
  grpc::ClientContext ctx;
  cohortlink::v1::UploadReceipt receipt;
  auto writer = stub->Upload(&ctx, &receipt);
  cohortlink::v1::UploadRequest req;
  *req.mutable_header() = MakeUpload("stalled", 5).header;
  ASSERT_TRUE(writer->Write(req));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  server_.Stop(SIGTERM);  // returns once the process has exited
  const std::string log = testing::Slurp(server_.log());
  EXPECT_NE(log.find("\"msg\":\"access log: final signed tree head\""),
            std::string::npos)
      << log;
  EXPECT_FALSE(writer->Finish().ok());
}

}  // namespace
}  // namespace cohortlink
