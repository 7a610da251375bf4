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
  return ToolCallPart{index, std::move(id), std::move(name), std::move(args)};
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

}  // namespace
}  // namespace switchboard::api
