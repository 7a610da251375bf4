// Item references to items of stored responses (api/responses_references.h): which stored
// responses a body names, the body with the references replaced, and what the request parser makes
// of the references left (api/responses.h).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/responses.h"
#include "api/responses_references.h"

namespace switchboard::api {
namespace {

using json = nlohmann::json;

const std::string kStem = "0123456789abcdef0123456789abcdef";  // random_hex_id()'s 32 digits

TEST(ResponsesReferences, IdsTheGatewayGivesNameTheirResponse) {
  EXPECT_EQ(minted_item_response("msg_" + kStem), "resp_" + kStem);
  EXPECT_EQ(minted_item_response("msg_" + kStem + "_2"), "resp_" + kStem);  // a second message
  EXPECT_EQ(minted_item_response("fc_" + kStem + "_0"), "resp_" + kStem);
  EXPECT_EQ(minted_item_response("rs_" + kStem), "resp_" + kStem);
  // Not the gateway's: another length, upper case, another prefix or tail (a replica's own ids).
  EXPECT_FALSE(minted_item_response("msg_" + kStem.substr(1)));
  EXPECT_FALSE(minted_item_response("msg_0123456789ABCDEF0123456789abcdef"));
  EXPECT_FALSE(minted_item_response("msg_" + kStem + "ff"));
  EXPECT_FALSE(minted_item_response("msg_" + kStem + "_x"));
  EXPECT_FALSE(minted_item_response("item_" + kStem));
  EXPECT_FALSE(minted_item_response("msg_68af0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a"));
}

// What a translated answer looked like (api/responses.h whole()): reasoning, text, a tool call.
std::string stored_response(const std::string& stem) {
  return json{{"id", "resp_" + stem},
              {"object", "response"},
              {"status", "completed"},
              {"output",
               json::array(
                   {{{"type", "reasoning"},
                     {"id", "rs_" + stem},
                     {"summary", json::array()},
                     {"content", json::array({{{"type", "reasoning_text"}, {"text", "hmm"}}})}},
                    {{"type", "message"},
                     {"id", "msg_" + stem},
                     {"status", "completed"},
                     {"role", "assistant"},
                     {"content", json::array({{{"type", "output_text"},
                                               {"text", "Let me look."},
                                               {"annotations", json::array()}}})}},
                    {{"type", "function_call"},
                     {"id", "fc_" + stem + "_0"},
                     {"call_id", "call_1"},
                     {"name", "weather"},
                     {"arguments", "{\"city\":\"Paris\"}"},
                     {"status", "completed"}}})}}
      .dump();
}

// The AI SDK's second step of a tool loop: every earlier output item as a reference.
std::string second_step(const std::string& stem) {
  return json{{"model", "m"},
              {"input", json::array({{{"role", "user"}, {"content", "weather?"}},
                                     {{"type", "item_reference"}, {"id", "rs_" + stem}},
                                     {{"type", "item_reference"}, {"id", "msg_" + stem}},
                                     {{"type", "item_reference"}, {"id", "fc_" + stem + "_0"}},
                                     {{"type", "function_call_output"},
                                      {"call_id", "call_1"},
                                      {"output", "sunny"}}})}}
      .dump();
}

TEST(ResponsesReferences, ReferencesAreReplacedByTheStoredItems) {
  auto refs = responses_item_references(second_step(kStem));
  auto wanted = refs->responses();
  ASSERT_TRUE(wanted);
  EXPECT_EQ(*wanted, std::vector<std::string>{"resp_" + kStem});  // one lookup for three items
  EXPECT_FALSE(refs->body());  // nothing resolved yet
  refs->take(stored_response(kStem));
  auto body = refs->body();
  ASSERT_TRUE(body);
  const json input = json::parse(*body)["input"];
  ASSERT_EQ(input.size(), 4u);  // the reasoning reference left out: chat takes none back
  EXPECT_EQ(input[1], json::parse(R"({"type":"message","role":"assistant",
    "content":[{"type":"output_text","text":"Let me look."}]})"));
  EXPECT_EQ(input[2], json::parse(R"({"type":"function_call","call_id":"call_1","name":"weather",
    "arguments":"{\"city\":\"Paris\"}"})"));
  EXPECT_EQ(input[3]["type"], "function_call_output");
  // The request then translates to chat as if the items had been sent.
  auto parsed = parse_responses_request(*body);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->native_only, "");
  const json messages = json::parse(parsed->chat_body)["messages"];
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[1]["content"], "Let me look.");
  EXPECT_EQ(messages[1]["tool_calls"][0]["id"], "call_1");
  EXPECT_EQ(messages[2]["role"], "tool");
}

TEST(ResponsesReferences, OnlyTheItemsOfTheResponseReadAreResolved) {
  const std::string other = "ffffffffffffffffffffffffffffffff";
  auto refs = responses_item_references(second_step(kStem));
  refs->take(stored_response(other));  // another response: its ids are not the ones named
  EXPECT_FALSE(refs->body());
  // A response whose output does not hold the item under that id resolves nothing either.
  json r = json::parse(stored_response(kStem));
  r["output"][1]["id"] = "msg_" + kStem + "_1";
  r["output"][2]["id"] = "fc_" + kStem + "_1";
  r["output"].erase(0);
  refs->take(r.dump());
  EXPECT_FALSE(refs->body());
  refs->take("not json");
  EXPECT_FALSE(refs->body());
}

TEST(ResponsesReferences, ReplicasIdsAreNotLookedUpAndTheLookupsAreBounded) {
  auto none = responses_item_references(
      R"({"model":"m","input":[{"type":"item_reference","id":"msg_68af0c1d2e3f4a5b6c7d8e9f0a1b2c"}]})");
  ASSERT_TRUE(none->responses());
  EXPECT_TRUE(none->responses()->empty());
  EXPECT_TRUE(responses_item_references("garbage")->responses()->empty());
  json many = {{"model", "m"}, {"input", json::array()}};
  for (std::size_t i = 0; i <= kMaxReferencedResponses; ++i) {
    char stem[33];
    std::snprintf(stem, sizeof stem, "%032zx", i);
    many["input"].push_back({{"type", "item_reference"}, {"id", "msg_" + std::string(stem)}});
  }
  auto refs = responses_item_references(many.dump());
  auto wanted = refs->responses();
  ASSERT_FALSE(wanted);
  EXPECT_EQ(wanted.error().kind, ErrorKind::kBadRequest);
  EXPECT_NE(wanted.error().message.find("at most 256"), std::string::npos);
}

TEST(ResponsesReferences, TheParserRefusesAReferenceTheGatewayCouldNotResolve) {
  // An item the gateway made (not stored, expired, another key's, or the store off): a 400 that
  // names the id and says why, not a 502 from a replica that cannot take it.
  auto r = parse_responses_request(second_step(kStem));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kBadRequest);
  EXPECT_EQ(r.error().code, "invalid_request");
  EXPECT_NE(r.error().message.find("input[2]: item_reference 'msg_" + kStem + "'"),
            std::string::npos);
  EXPECT_NE(r.error().message.find("store"), std::string::npos);
  // A reference to reasoning is left out, as reasoning items are (chat takes none back).
  auto reasoning = parse_responses_request(
      R"({"model":"m","input":[{"role":"user","content":"hi"},{"type":"item_reference","id":"rs_abc"}]})");
  ASSERT_TRUE(reasoning);
  EXPECT_EQ(reasoning->native_only, "");
  EXPECT_EQ(json::parse(reasoning->chat_body)["messages"].size(), 1u);
  // A replica's own id: only a replica speaking the Responses API may know it.
  auto native = parse_responses_request(
      R"({"model":"m","input":[{"role":"user","content":"hi"},{"type":"item_reference","id":"msg_68af0c1d"}]})");
  ASSERT_TRUE(native);
  EXPECT_NE(native->native_only.find("item_reference 'msg_68af0c1d'"), std::string::npos);
  auto no_id = parse_responses_request(R"({"model":"m","input":[{"type":"item_reference"}]})");
  ASSERT_FALSE(no_id);
  EXPECT_NE(no_id.error().message.find("input[0] (item_reference) needs"), std::string::npos);
}

}  // namespace
}  // namespace switchboard::api
