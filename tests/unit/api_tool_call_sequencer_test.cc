// Parallel tool calls whose chat stream interleaves their pieces (index 0, 1, 0, 1, …) reach
// Messages and Responses clients as one block / item per call, each with its id, name and whole
// JSON arguments; calls sent one after the other stream through unchanged.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "api/messages.h"
#include "api/responses.h"
#include "api/tool_call_sequencer.h"

namespace switchboard::api {
namespace {

using nlohmann::json;

ToolCallPart part(std::size_t index, std::string args, std::string id = {}, std::string name = {}) {
  ToolCallPart p;
  p.index = index;
  p.id = std::move(id);
  p.name = std::move(name);
  p.arguments = std::move(args);
  return p;
}

// The runs of a sequence: index → (id, name, arguments); fails if an index appears in two runs.
std::map<std::size_t, std::vector<std::string>> runs(const std::vector<ToolCallPart>& parts) {
  std::map<std::size_t, std::vector<std::string>> out;
  std::optional<std::size_t> last;
  for (const auto& p : parts) {
    if (p.index != last) {
      EXPECT_FALSE(out.contains(p.index)) << "index " << p.index << " in two runs";
      out[p.index] = {p.id, p.name, ""};
      last = p.index;
    }
    out[p.index][2] += p.arguments;
  }
  return out;
}

std::vector<ToolCallPart> interleaved() {
  return {part(0, R"({"city":)", "call_a", "weather"), part(1, R"({"tz":)", "call_b", "clock"),
          part(0, R"("Paris"})"), part(1, R"("CET"})")};
}

TEST(ToolCallSequencer, InterleavedCallsComeOutOneRunEach) {
  ToolCallSequencer s;
  std::vector<ToolCallPart> out;
  for (const auto& p : interleaved()) {
    auto got = s.feed({p});
    out.insert(out.end(), got.begin(), got.end());
  }
  auto rest = s.flush();
  out.insert(out.end(), rest.begin(), rest.end());
  const auto r = runs(out);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r.at(0), (std::vector<std::string>{"call_a", "weather", R"({"city":"Paris"})"}));
  EXPECT_EQ(r.at(1), (std::vector<std::string>{"call_b", "clock", R"({"tz":"CET"})"}));
  // Call 1 was released as soon as call 0's arguments were whole, not at the end.
  EXPECT_TRUE(rest.empty());
}

TEST(ToolCallSequencer, SequentialCallsPassUnchanged) {
  ToolCallSequencer s;
  const std::vector<ToolCallPart> in = {part(0, "{\"a\":", "x", "f"), part(0, "1}"),
                                        part(1, "{\"b\":\"}{\"}", "y", "g"), part(2, "{}", "z", "h")};
  std::vector<ToolCallPart> out;
  for (const auto& p : in) {
    auto got = s.feed({p});
    out.insert(out.end(), got.begin(), got.end());
  }
  EXPECT_TRUE(s.flush().empty());
  ASSERT_EQ(out.size(), in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(out[i].index, in[i].index);
    EXPECT_EQ(out[i].arguments, in[i].arguments);
  }
}

TEST(ToolCallSequencer, ArgumentsThatNeverCloseHoldTheOthersToTheEnd) {
  ToolCallSequencer s;
  auto a = s.feed({part(0, R"({"x":"unterminated)", "a", "f"), part(1, "{}", "b", "g")});
  ASSERT_EQ(a.size(), 1u);
  auto rest = s.flush();
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].id, "b");
  EXPECT_EQ(rest[0].arguments, "{}");
}

std::string chunk(const ToolCallPart& p) {
  json fn = {{"arguments", p.arguments}};
  if (!p.name.empty()) fn["name"] = p.name;
  json call = {{"index", p.index}, {"function", fn}};
  if (!p.id.empty()) call["id"] = p.id, call["type"] = "function";
  return json{{"id", "c1"}, {"object", "chat.completion.chunk"}, {"model", "m"},
              {"choices", json::array({{{"index", 0}, {"delta", {{"tool_calls", json::array({call})}}},
                                        {"finish_reason", nullptr}}})}}
      .dump();
}

// Every `data:` JSON of a translated stream.
std::vector<json> events(const std::string& sse) {
  std::vector<json> out;
  std::size_t at = 0;
  while ((at = sse.find("data: ", at)) != std::string::npos) {
    const auto end = sse.find('\n', at);
    out.push_back(json::parse(sse.substr(at + 6, end - at - 6)));
    at = end;
  }
  return out;
}

TEST(ToolCallSequencer, AMessagesClientGetsOneWholeToolUseBlockPerCall) {
  auto t = messages_translator(nullptr);
  std::string sse;
  for (const auto& p : interleaved()) sse += t->event(chunk(p));
  sse += t->finish();
  std::map<int, json> blocks;  // content block index → block with its input text
  for (const auto& e : events(sse)) {
    if (e["type"] == "content_block_start") blocks[e["index"]] = e["content_block"];
    if (e["type"] == "content_block_delta") {
      auto& b = blocks.at(e["index"]);
      b["text"] = b.value("text", "") + e["delta"]["partial_json"].get<std::string>();
    }
  }
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[0]["id"], "call_a");
  EXPECT_EQ(blocks[0]["name"], "weather");
  EXPECT_EQ(json::parse(blocks[0]["text"].get<std::string>()), json({{"city", "Paris"}}));
  EXPECT_EQ(blocks[1]["id"], "call_b");
  EXPECT_EQ(json::parse(blocks[1]["text"].get<std::string>()), json({{"tz", "CET"}}));
}

TEST(ToolCallSequencer, AResponsesClientGetsOneWholeFunctionCallItemPerCall) {
  auto t = responses_translator(nullptr);
  std::string sse;
  for (const auto& p : interleaved()) sse += t->event(chunk(p));
  sse += t->finish();
  std::vector<json> done;
  for (const auto& e : events(sse))
    if (e["type"] == "response.output_item.done") done.push_back(e["item"]);
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0]["call_id"], "call_a");
  EXPECT_EQ(json::parse(done[0]["arguments"].get<std::string>()), json({{"city", "Paris"}}));
  EXPECT_EQ(done[1]["call_id"], "call_b");
  EXPECT_EQ(done[1]["name"], "clock");
  EXPECT_EQ(json::parse(done[1]["arguments"].get<std::string>()), json({{"tz", "CET"}}));
  EXPECT_NE(done[0]["id"], done[1]["id"]);
}

// Some servers stream each call whole, without `index`: every piece was read as index 0, so two
// calls became one whose arguments were two JSON values. A new id starts a new call; a piece
// without an id continues the current one; a chunk listing several unindexed calls has one each.
TEST(ToolCallSequencer, CallsWithoutIndexAreNumberedByTheirIds) {
  auto unindexed = [](std::string args, std::string id = {}, std::string name = {}) {
    ToolCallPart p = part(0, std::move(args), std::move(id), std::move(name));
    p.indexed = false;
    return p;
  };
  ToolCallSequencer s;
  std::vector<ToolCallPart> out;
  for (auto& batch : std::vector<std::vector<ToolCallPart>>{
           {unindexed(R"({"city":)", "call_n1", "weather")},
           {unindexed(R"("Paris"})")},
           {unindexed(R"({"city":"Rome"})", "call_n2", "weather")},
           {unindexed(R"({"tz":"CET"})", "", "clock"), unindexed(R"({"tz":"UTC"})", "", "clock")}}) {
    auto got = s.feed(batch);
    out.insert(out.end(), got.begin(), got.end());
  }
  auto rest = s.flush();
  out.insert(out.end(), rest.begin(), rest.end());
  const auto r = runs(out);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r.at(0), (std::vector<std::string>{"call_n1", "weather", R"({"city":"Paris"})"}));
  EXPECT_EQ(r.at(1), (std::vector<std::string>{"call_n2", "weather", R"({"city":"Rome"})"}));
  EXPECT_EQ(r.at(2)[2], R"({"tz":"CET"})");
  EXPECT_EQ(r.at(3)[2], R"({"tz":"UTC"})");
}

// A stream that names the index on a call's first piece only: the later pieces continue it (they
// became a second, nameless call in the first version of the numbering).
TEST(ToolCallSequencer, ContinuationsWithoutIndexFollowTheIndexedCall) {
  ToolCallSequencer s;
  auto cont = [](std::string args) {
    ToolCallPart p = part(0, std::move(args));
    p.indexed = false;
    return p;
  };
  std::vector<ToolCallPart> out;
  for (auto& batch : std::vector<std::vector<ToolCallPart>>{
           {part(0, "", "call_a", "f")}, {cont(R"({"x":)")}, {cont("1}")}}) {
    auto got = s.feed(batch);
    out.insert(out.end(), got.begin(), got.end());
  }
  const auto r = runs(out);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r.at(0), (std::vector<std::string>{"call_a", "f", R"({"x":1})"}));
}

// End to end through the Responses translator, from chunks without `index`, one whose arguments
// are a JSON object rather than its text (as some servers send them): two function_call items.
TEST(ToolCallSequencer, AResponsesClientGetsUnindexedCallsApart) {
  auto t = responses_translator(nullptr);
  auto unindexed_chunk = [](json call) {
    return json{{"id", "c1"}, {"object", "chat.completion.chunk"}, {"model", "m"},
                {"choices", json::array({{{"index", 0}, {"delta", {{"tool_calls", json::array({call})}}},
                                          {"finish_reason", nullptr}}})}}
        .dump();
  };
  std::string sse;
  sse += t->event(unindexed_chunk({{"id", "call_n1"}, {"type", "function"},
                                   {"function", {{"name", "weather"}, {"arguments", R"({"city":"Paris"})"}}}}));
  sse += t->event(unindexed_chunk({{"id", "call_n2"}, {"type", "function"},
                                   {"function", {{"name", "weather"}, {"arguments", {{"city", "Rome"}}}}}}));
  sse += t->finish();
  std::vector<json> done;
  for (const auto& e : events(sse))
    if (e["type"] == "response.output_item.done") done.push_back(e["item"]);
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0]["call_id"], "call_n1");
  EXPECT_EQ(json::parse(done[0]["arguments"].get<std::string>()), json({{"city", "Paris"}}));
  EXPECT_EQ(done[1]["call_id"], "call_n2");
  EXPECT_EQ(json::parse(done[1]["arguments"].get<std::string>()), json({{"city", "Rome"}}));
}

}  // namespace
}  // namespace switchboard::api

namespace switchboard::api {
namespace {

// Where a value fed in pieces ends, without parsing: brackets inside strings do not count;
// anything but whitespace after a complete value is trailing (no single JSON value whatever comes).
TEST(JsonValueEnd, CompleteAndTrailingAcrossPieces) {
  JsonValueEnd v;
  EXPECT_FALSE(v.complete());
  v.feed(R"(  {"a":"}]\")");
  EXPECT_FALSE(v.complete());
  v.feed(R"(", "b":[1,{}]})");
  EXPECT_TRUE(v.complete());
  EXPECT_FALSE(v.trailing());
  v.feed(" \n\t");
  EXPECT_FALSE(v.trailing());
  v.feed("x");
  EXPECT_TRUE(v.trailing());
  JsonValueEnd scalar;
  scalar.feed("1");
  EXPECT_TRUE(scalar.complete());
  scalar.feed("2");
  EXPECT_TRUE(scalar.trailing());  // numbers in pieces are not told whole: only objects matter
}

}  // namespace
}  // namespace switchboard::api
