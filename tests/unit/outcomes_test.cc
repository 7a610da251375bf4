#include "data/outcomes.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace switchboard::data {
namespace {

std::string temp_file(const std::string& name, const std::string& contents) {
  auto path = std::filesystem::temp_directory_path() / ("sb_outcomes_" + name);
  std::ofstream(path, std::ios::binary) << contents;
  return path.string();
}

TEST(OutcomesJsonl, ReadsPromptAndMessagesForms) {
  std::string path = temp_file(
      "forms.jsonl",
      R"({"id":"a","prompt":"hi","task":"qa","outcomes":{"m1":{"score":1,"cost":0.5,"response":"yo"}}})"
      "\n\n"
      R"({"id":"b","messages":[{"role":"system","content":"s"},{"role":"user","content":"u1"},)"
      R"({"role":"user","content":"u2"}],"extra":[1,2],"outcomes":{"m2":{"score":0.25,"cost":0,"latency_ms":12,"x":1}}})"
      "\r\n");
  auto out = read_outcomes_jsonl(path);
  ASSERT_TRUE(out.ok()) << out.error().message;
  ASSERT_EQ(out->records.size(), 2u);
  const auto& a = out->records[0];
  EXPECT_EQ(a.id, "a");
  EXPECT_EQ(a.task, "qa");
  ASSERT_EQ(a.messages.size(), 1u);
  EXPECT_EQ(a.messages[0], (Message{"user", "hi"}));
  EXPECT_EQ(a.outcomes.at("m1").score, 1.0);
  EXPECT_EQ(a.outcomes.at("m1").response, "yo");
  EXPECT_FALSE(a.outcomes.at("m1").latency_ms.has_value());
  const auto& b = out->records[1];
  EXPECT_EQ(b.user_text(), "u1\nu2");
  EXPECT_EQ(b.task, "");
  EXPECT_EQ(b.outcomes.at("m2").latency_ms, 12.0);
  EXPECT_FALSE(b.outcomes.at("m2").response.has_value());
  EXPECT_EQ(out->models(), (std::vector<std::string>{"m1", "m2"}));
}

struct BadCase {
  std::string line;
  std::string expected;  // a substring of the error message
};

TEST(OutcomesJsonl, ErrorsNameFileLineAndField) {
  const std::string good = R"({"id":"ok","prompt":"p","outcomes":{}})";
  const std::vector<BadCase> cases = {
      {"{not json", ":3: not valid JSON"},
      {"[1]", ":3: a line must be a JSON object"},
      {R"({"prompt":"p","outcomes":{}})", ":3: id must be a non-empty string"},
      {R"({"id":"x","outcomes":{}})", ":3: one of prompt or messages"},
      {R"({"id":"x","prompt":3,"outcomes":{}})", ":3: prompt must be a string"},
      {R"({"id":"x","messages":[{"role":"user"}],"outcomes":{}})", ":3: messages[0].content"},
      {R"({"id":"x","messages":[{"role":"human","content":"hi"}],"outcomes":{}})",
       ":3: messages[0].role must be one of"},
      {R"({"id":"x","prompt":"p"})", ":3: outcomes must be an object"},
      {R"({"id":"x","prompt":"p","outcomes":{"m":{"cost":1}}})", ":3: outcomes.m.score"},
      {R"({"id":"x","prompt":"p","outcomes":{"m":{"score":1.5,"cost":1}}})",
       ":3: outcomes.m.score"},
      {R"({"id":"x","prompt":"p","outcomes":{"m":{"score":1,"cost":"1"}}})", ":3: outcomes.m.cost"},
      // Bounded so that sums stay finite (three of 1e308 summed to inf in a report).
      {R"({"id":"x","prompt":"p","outcomes":{"m":{"score":1,"cost":1e308}}})",
       ":3: outcomes.m.cost must be a number of USD in [0, 1e9]"},
      {R"({"id":"x","prompt":"p","outcomes":{"m":{"score":1,"cost":1,"latency_ms":1e300}}})",
       ":3: outcomes.m.latency_ms"},
      {R"({"id":"x","prompt":"p","outcomes":{"m":{"score":1,"cost":1,"response":7}}})",
       ":3: outcomes.m.response"},
      {R"({"id":"x","prompt":"p","task":1,"outcomes":{}})", ":3: task must be a string"},
      {good, ":3: id 'ok' repeats"},
  };
  for (const auto& c : cases) {
    std::string path = temp_file("bad.jsonl", good + "\n\n" + c.line + "\n");
    auto out = read_outcomes_jsonl(path);
    ASSERT_FALSE(out.ok()) << c.line;
    EXPECT_EQ(out.error().kind, ErrorKind::kBadRequest);
    EXPECT_NE(out.error().message.find(path + c.expected), std::string::npos)
        << c.line << " -> " << out.error().message;
  }
}

TEST(OutcomesJsonl, MissingFileIsAnError) {
  auto out = read_outcomes_jsonl("/nonexistent/x.jsonl");
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.error().message.find("/nonexistent/x.jsonl"), std::string::npos);
}

TEST(OutcomesJsonl, WriteThenReadRoundTrips) {
  Outcomes in;
  PromptRecord one{"1", {{"user", "line\n\"quoted\" é"}}, "math", {}};
  one.outcomes["m"] = ModelOutcome{0, 0.000125, 340.5, "answer"};
  PromptRecord two{"2", {{"system", "be brief"}, {"user", "q"}}, "", {}};
  two.outcomes["m"] = ModelOutcome{1, 2, std::nullopt, std::nullopt};
  in.records = {one, two};
  std::string path = temp_file("roundtrip.jsonl", "");
  auto written = write_outcomes_jsonl(in, path);
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(*written, 2u);
  auto back = read_outcomes_jsonl(path);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->records, in.records);
  EXPECT_NE(to_jsonl_line(one).find("\"prompt\""), std::string::npos);
  EXPECT_NE(to_jsonl_line(two).find("\"messages\""), std::string::npos);
  EXPECT_EQ(to_jsonl_line(two).find("\"task\""), std::string::npos);
}

TEST(OutcomesJsonl, DemoDataSetLoads) {
  auto out = read_outcomes_jsonl(std::string(SB_SOURCE_DIR) + "/demo/data/demo_outcomes.jsonl");
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_GE(out->records.size(), 20u);
  EXPECT_EQ(out->models(),
            (std::vector<std::string>{"gpt-4-1106-preview", "mistralai/mistral-7b-chat",
                                      "mistralai/mixtral-8x7b-chat"}));
  std::map<std::string, int> tasks;
  for (const auto& r : out->records) {
    ++tasks[r.task];
    EXPECT_EQ(r.outcomes.size(), 3u) << r.id;
    for (const auto& [model, o] : r.outcomes) {
      EXPECT_TRUE(o.score == 0 || o.score == 1) << r.id;
      EXPECT_GT(o.cost, 0) << r.id;
      EXPECT_TRUE(o.response && !o.response->empty()) << r.id;
    }
  }
  EXPECT_EQ(tasks.size(), 3u);
  EXPECT_TRUE(tasks.count("qa") && tasks.count("code") && tasks.count("math"));
}

}  // namespace
}  // namespace switchboard::data
