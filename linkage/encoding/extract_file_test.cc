#include "linkage/encoding/extract_file.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "util/temp_dir.h"

namespace cohortlink::encoding {
namespace {

namespace fs = std::filesystem;

class ExtractFileTest : public ::testing::Test {
 protected:
  void SetUp() override { path_ = tmp_.File("x.clx"); }

  std::string WriteSample(int n) {
    cohortlink::v1::ExtractHeader h;
    h.set_schema_kind("cohortlink/1");
    h.set_schema_fingerprint(std::string(32, 'f'));
    h.mutable_layout()->set_total_bits(64);
    auto w = ExtractWriter::Create(path_, h);
    EXPECT_TRUE(w.ok());
    for (int i = 0; i < n; ++i) {
      cohortlink::v1::EncodedRecord r;
      r.set_record_key(std::to_string(i));
      r.set_filters(std::string(8, static_cast<char>(i)));
      EXPECT_TRUE((*w)->AppendSerialized(r.SerializeAsString()).ok());
    }
    auto digest = (*w)->Finish();
    EXPECT_TRUE(digest.ok());
    return *digest;
  }

  absl::Status ReadAll() {
    auto r = ExtractReader::Open(path_);
    if (!r.ok()) return r.status();
    std::string bytes;
    for (;;) {
      auto more = (*r)->Next(&bytes);
      if (!more.ok()) return more.status();
      if (!*more) return absl::OkStatus();
    }
  }

  void FlipByte(long offset_from_end) {
    std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(offset_from_end, std::ios::end);
    char c;
    f.get(c);
    f.seekp(offset_from_end, std::ios::end);
    f.put(static_cast<char>(c ^ 1));
  }

  util::TempDir tmp_{"extract_file_test"};
  std::string path_;
};

TEST_F(ExtractFileTest, RoundTripInOrder) {
  std::string digest = WriteSample(1000);
  auto r = ExtractReader::Open(path_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)->record_count(), 1000u);
  EXPECT_EQ((*r)->content_digest(), digest);
  EXPECT_EQ((*r)->header().schema_kind(), "cohortlink/1");
  std::string bytes;
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(*(*r)->Next(&bytes));
    cohortlink::v1::EncodedRecord rec;
    ASSERT_TRUE(rec.ParseFromString(bytes));
    EXPECT_EQ(rec.record_key(), std::to_string(i));
  }
  EXPECT_FALSE(*(*r)->Next(&bytes));
}

TEST_F(ExtractFileTest, EmptyExtractIsValid) {
  WriteSample(0);
  EXPECT_TRUE(ReadAll().ok());
}

TEST_F(ExtractFileTest, CorruptRecordIsDataLoss) {
  WriteSample(50);
  FlipByte(-(80 + 3));  // inside the last record
  auto s = ReadAll();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("x.clx"), std::string::npos);
}

TEST_F(ExtractFileTest, CorruptHeaderOrTrailerIsDataLoss) {
  WriteSample(5);
  {
    std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(30);
    f.put('X');
  }
  EXPECT_EQ(ReadAll().code(), absl::StatusCode::kDataLoss);
  WriteSample(5);
  fs::resize_file(path_, fs::file_size(path_) - 10);
  EXPECT_EQ(ReadAll().code(), absl::StatusCode::kDataLoss);
}

TEST_F(ExtractFileTest, NotAnExtract) {
  std::ofstream(path_) << "recid,name\n1,a\n";
  auto r = ExtractReader::Open(path_);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("bad magic"), std::string::npos);
}

}  // namespace
}  // namespace cohortlink::encoding
