// `switchboard import routerbench` on small CSVs: both splits, responses kept, incomplete rows
// dropped, duplicate ids rejected without leaving a half-written file.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "data/outcomes.h"
#include "eval/import.h"

namespace switchboard::eval {
namespace {

namespace fs = std::filesystem;

const char* kHeader =
    ",sample_id,prompt,eval_name,m1,m2,m1|model_response,m2|model_response,m1|total_cost,"
    "m2|total_cost,oracle_model_to_route_to\n";

fs::path fresh_dir(const std::string& name) {
  auto dir = fs::temp_directory_path() / "sb_eval_import" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void write(const fs::path& p, const std::string& text) {
  std::ofstream(p) << text;
}

std::string read(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(ImportRouterBench, WritesBothSplits) {
  auto in = fresh_dir("in");
  write(in / "a_train.csv",
        std::string(kHeader) +
            "0,a.1,\"['q one', 'more']\",a,1.0,0.0,\"['yes']\",\"['no']\",0.002,0.001,m1\n"
            "1,a.2,['q two'],a,1.0,,['x'],,0.002,,m1\n");  // m2 missing: dropped
  write(in / "b_train.csv",
        std::string(kHeader) + "0,b.1,['q three'],b,0.0,1.0,['x'],['y'],0.2,0.1,m2\n");
  write(in / "a_test.csv",
        std::string(kHeader) + "0,a.9,['q nine'],a,1.0,1.0,['x'],['y'],0.2,0.1,m2\n");
  auto out = fresh_dir("out");
  auto summary = import_routerbench(in.string(), (out / "sub").string());
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->train.records, 2u);
  EXPECT_EQ(summary->train.files.size(), 2u);
  EXPECT_EQ(summary->train.models, (std::vector<std::string>{"m1", "m2"}));
  EXPECT_EQ(summary->train.tasks, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(summary->test.records, 1u);

  auto train = data::read_outcomes_jsonl((out / "sub" / "train.jsonl").string());
  ASSERT_TRUE(train.ok()) << train.error().message;
  ASSERT_EQ(train->records.size(), 2u);
  const auto& r = train->records[0];
  EXPECT_EQ(r.id, "a.1");
  EXPECT_EQ(r.task, "a");
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[1].content, "more");
  EXPECT_EQ(r.outcomes.at("m1").score, 1.0);
  EXPECT_EQ(r.outcomes.at("m2").cost, 0.001);
  EXPECT_EQ(*r.outcomes.at("m1").response, "yes");
  EXPECT_EQ(train->records[1].id, "b.1");
  auto test = data::read_outcomes_jsonl((out / "sub" / "test.jsonl").string());
  ASSERT_TRUE(test.ok());
  EXPECT_EQ(test->records[0].id, "a.9");
  EXPECT_FALSE(fs::exists(out / "sub" / "train.jsonl.tmp"));
}

TEST(ImportRouterBench, Errors) {
  auto in = fresh_dir("dup");
  write(in / "a_train.csv",
        std::string(kHeader) + "0,x.1,['q'],a,1.0,0.0,['y'],['n'],0.2,0.1,m1\n");
  write(in / "b_train.csv",
        std::string(kHeader) + "0,x.1,['q'],b,1.0,0.0,['y'],['n'],0.2,0.1,m1\n");
  write(in / "a_test.csv", std::string(kHeader));
  auto out = fresh_dir("dup_out");
  auto r = import_routerbench(in.string(), out.string());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("x.1"), std::string::npos);
  EXPECT_FALSE(fs::exists(out / "train.jsonl"));
  EXPECT_FALSE(fs::exists(out / "train.jsonl.tmp"));

  auto no_test = fresh_dir("no_test");
  write(no_test / "a_train.csv", std::string(kHeader));
  r = import_routerbench(no_test.string(), fresh_dir("no_test_out").string());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("_test.csv"), std::string::npos);

  auto bad = fresh_dir("bad");
  write(bad / "a_train.csv",
        std::string(kHeader) + "0,x.1,['q'],a,2.0,0.0,['y'],['n'],0.2,0.1,m1\n");
  r = import_routerbench(bad.string(), fresh_dir("bad_out").string());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("a_train.csv:2"), std::string::npos);

  EXPECT_FALSE(import_routerbench("/nonexistent/dir", fresh_dir("x").string()).ok());
}

// A re-import whose test split fails leaves both old splits as they were (the new train.jsonl
// was in place beside the old test.jsonl) and no temporary file.
TEST(ImportRouterBench, AFailedTestSplitReplacesNeitherSplit) {
  auto in = fresh_dir("again");
  write(in / "a_train.csv",
        std::string(kHeader) + "0,x.1,['q'],a,1.0,0.0,['y'],['n'],0.2,0.1,m1\n");
  write(in / "a_test.csv",
        std::string(kHeader) + "0,x.9,['q'],a,1.0,0.0,['y'],['n'],0.2,0.1,m1\n");
  auto out = fresh_dir("again_out");
  ASSERT_TRUE(import_routerbench(in.string(), out.string()).ok());
  const auto before_train = read(out / "train.jsonl"), before_test = read(out / "test.jsonl");
  write(in / "a_train.csv",
        std::string(kHeader) + "0,x.2,['other'],a,1.0,0.0,['y'],['n'],0.2,0.1,m1\n");
  write(in / "a_test.csv",
        std::string(kHeader) + "0,x.9,['q'],a,2.0,0.0,['y'],['n'],0.2,0.1,m1\n");  // score 2
  auto r = import_routerbench(in.string(), out.string());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("a_test.csv:2"), std::string::npos) << r.error().message;
  EXPECT_EQ(read(out / "train.jsonl"), before_train);
  EXPECT_EQ(read(out / "test.jsonl"), before_test);
  EXPECT_FALSE(fs::exists(out / "train.jsonl.tmp"));
  EXPECT_FALSE(fs::exists(out / "test.jsonl.tmp"));
}

}  // namespace
}  // namespace switchboard::eval
