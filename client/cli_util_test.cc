#include "client/cli_util.h"

#include "gtest/gtest.h"

namespace cohortlink::client {
namespace {

// JSON for scripts: keys in one (sorted) order on every run, whatever the
// order of insertion; numbers in their shortest exact form; strings
// escaped.
TEST(JsonTextTest, SortedKeysExactNumbersEscapedStrings) {
  google::protobuf::Value v;
  auto& f = *v.mutable_struct_value()->mutable_fields();
  for (const char* k : {"zeta", "alpha", "mid", "beta", "omega", "delta"})
    f[k] = JsonNumber(1);
  f["rate"] = JsonNumber(0.1);
  f["big"] = JsonNumber(9007199254740991.0);
  f["third"] = JsonNumber(1.0 / 3);
  f["text"] = JsonString("a\"b\\c\n\x01");
  f["none"].set_null_value(google::protobuf::NULL_VALUE);
  f["list"].mutable_list_value();
  EXPECT_EQ(JsonText(v),
            "{\n"
            " \"alpha\": 1,\n"
            " \"beta\": 1,\n"
            " \"big\": 9007199254740991,\n"
            " \"delta\": 1,\n"
            " \"list\": [],\n"
            " \"mid\": 1,\n"
            " \"none\": null,\n"
            " \"omega\": 1,\n"
            " \"rate\": 0.1,\n"
            " \"text\": \"a\\\"b\\\\c\\n\\u0001\",\n"
            " \"third\": 0.3333333333333333,\n"
            " \"zeta\": 1\n"
            "}\n");
}

}  // namespace
}  // namespace cohortlink::client
