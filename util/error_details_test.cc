#include "util/error_details.h"

#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace cohortlink::util {
namespace {

using ::testing::ElementsAre;

TEST(ErrorDetailsTest, FieldViolationsAccumulateAndRoundTrip) {
  absl::Status s = absl::InvalidArgumentError("record 3: bad");
  s = WithFieldViolation(s, "records[3].filters", "960 bits");
  s = WithFieldViolation(s, "records[3].event_date", "not a date");
  std::string bytes = ToRpcStatusBytes(s);

  google::rpc::Status wire;
  ASSERT_TRUE(wire.ParseFromString(bytes));
  EXPECT_EQ(wire.code(), 3);
  EXPECT_EQ(wire.message(), "record 3: bad");
  ASSERT_EQ(wire.details_size(), 1);
  EXPECT_EQ(wire.details(0).type_url(),
            "type.googleapis.com/google.rpc.BadRequest");
  EXPECT_THAT(DescribeRpcStatusBytes(bytes),
              ElementsAre("records[3].filters: 960 bits",
                          "records[3].event_date: not a date"));
}

TEST(ErrorDetailsTest, PreconditionFailure) {
  absl::Status s =
      WithPreconditionViolation(absl::FailedPreconditionError("secret differs"),
                                "LINKAGE_SECRET", "agency/police", "re-encode");
  EXPECT_THAT(DescribeRpcStatusBytes(ToRpcStatusBytes(s)),
              ElementsAre("LINKAGE_SECRET (agency/police): re-encode"));
}

TEST(ErrorDetailsTest, OkStatusTakesNoPayloadAndGarbageDescribesNothing) {
  EXPECT_TRUE(WithFieldViolation(absl::OkStatus(), "f", "d").ok());
  EXPECT_TRUE(DescribeRpcStatusBytes("\xff\xff garbage").empty());
}

}  // namespace
}  // namespace cohortlink::util
