// Stored Responses conversations, the pure parts (api/responses_conversation.h): what a request
// asks, a request continued from stored items, and the conversation an answer (whole or streamed)
// adds.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/responses.h"
#include "api/responses_conversation.h"

namespace switchboard::api {
namespace {

using json = nlohmann::json;

TEST(ResponsesConversation, WhatTheRequestAsks) {
  auto c = responses_conversation(
      R"({"model":"m","input":"hi","store":true,"previous_response_id":"resp_1"})");
  EXPECT_EQ(c.previous_id, "resp_1");
  EXPECT_TRUE(c.store);
  // Left out (or null): kept, as OpenAI's default (the AI SDK then sends item_reference).
  EXPECT_TRUE(responses_conversation(R"({"input":"hi"})").store);
  EXPECT_TRUE(responses_conversation(R"({"input":"hi","store":null})").store);
  EXPECT_FALSE(responses_conversation(R"({"input":"hi","store":false})").store);
  EXPECT_FALSE(responses_conversation(R"({"store":"yes"})").store);
  EXPECT_EQ(responses_conversation("not json").previous_id, "");
  EXPECT_EQ(responses_conversation(R"({"previous_response_id":null})").previous_id, "");
}

TEST(ResponsesConversation, ContinuedBodyPrependsTheStoredItems) {
  const std::string items =
      R"([{"type":"message","role":"user","content":"my name is Ada"},)"
      R"({"type":"message","role":"assistant","content":[{"type":"output_text","text":"Hello Ada"}]}])";
  auto body = responses_continue(
      R"({"model":"m","instructions":"be brief","input":"what is my name?","previous_response_id":"resp_1"})",
      items);
  ASSERT_TRUE(body) << body.error().message;
  json j = json::parse(*body);
  EXPECT_FALSE(j.contains("previous_response_id"));
  EXPECT_EQ(j["instructions"], "be brief");
  ASSERT_EQ(j["input"].size(), 3u);
  EXPECT_EQ(j["input"][0]["content"], "my name is Ada");
  EXPECT_EQ(j["input"][2]["role"], "user");
  EXPECT_EQ(j["input"][2]["content"], "what is my name?");
  // The continued body translates: the chat request carries the whole conversation, in order.
  auto translated = parse_responses_request(*body);
  ASSERT_TRUE(translated) << translated.error().message;
  json chat = json::parse(translated->chat_body);
  ASSERT_EQ(chat["messages"].size(), 4u);
  EXPECT_EQ(chat["messages"][0]["role"], "system");
  EXPECT_EQ(chat["messages"][2]["role"], "assistant");
  EXPECT_EQ(chat["messages"][2]["content"], "Hello Ada");
  // Array input appended as it is.
  auto arr = responses_continue(R"({"model":"m","input":[{"role":"user","content":"x"}]})", items);
  ASSERT_TRUE(arr);
  EXPECT_EQ(json::parse(*arr)["input"].size(), 3u);
  EXPECT_FALSE(responses_continue("[1]", items));
  EXPECT_FALSE(responses_continue(R"({"input":5})", items));
  // With a provider's conversation too, nothing is looked up: the request parser refuses the
  // pair (400, as OpenAI), whether the id is known or not.
  EXPECT_EQ(responses_conversation(
                R"({"input":"x","previous_response_id":"resp_1","conversation":"conv_1"})")
                .previous_id,
            "");
  EXPECT_EQ(responses_conversation(R"({"input":"x","previous_response_id":"resp_1"})").previous_id,
            "resp_1");
  auto bad = responses_continue(R"({"input":"x"})", "{}");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, ErrorKind::kInternal);
  // Stored items that are not objects are the store's damage, not the client's input (since
  // session 28; they were passed on and refused as a 400 about `input`).
  auto damaged = responses_continue(R"({"input":"x"})", "[1, \"two\"]");
  ASSERT_FALSE(damaged);
  EXPECT_EQ(damaged.error().code, "stored_response_unreadable");
}

TEST(ResponsesConversation, ReasoningGivenAsTextIsNotKept) {
  // A chat replica's reasoning as the gateway gives it (or a server's that does not encrypt): its
  // id is known to no server that looks reasoning up by id, so it is not sent on.
  auto cap = responses_capture(R"({"model":"m","input":"why?","store":true})");
  cap->whole(
      R"({"id":"resp_9","object":"response","status":"completed","output":[)"
      R"({"type":"reasoning","id":"rs_9","summary":[],"content":[{"type":"reasoning_text","text":"hm"}]},)"
      R"({"type":"reasoning","id":"rs_10","summary":[],"content":[{"type":"reasoning_text","text":"x"}],)"
      R"("encrypted_content":"gAAA"},)"
      R"({"type":"reasoning","id":"rs_11","summary":[],"content":[{"type":"reasoning_text","text":"y"}],)"
      R"("encrypted_content":null},)"
      R"({"type":"message","id":"msg_9","role":"assistant","status":"completed",)"
      R"("content":[{"type":"output_text","text":"because","annotations":[]}]}]})");
  auto stored = cap->result();
  ASSERT_TRUE(stored);
  json items = json::parse(stored->items);
  ASSERT_EQ(items.size(), 3u);  // the input, the encrypted reasoning, the message
  EXPECT_EQ(items[1]["id"], "rs_10");
  EXPECT_EQ(items[2]["type"], "message");
  EXPECT_EQ(json::parse(stored->response)["output"].size(), 4u);  // the client's, unchanged
}

TEST(ResponsesConversation, CaptureOfAWholeAnswer) {
  auto cap = responses_capture(R"({"model":"m","input":"my name is Ada","store":true})");
  EXPECT_FALSE(cap->result());
  cap->whole(
      R"({"id":"resp_7","object":"response","status":"completed","output":[)"
      R"({"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":"gAAA","status":null},)"
      R"({"type":"web_search_call","id":"ws_1","status":"completed"},)"
      R"({"type":"message","id":"msg_1","role":"assistant","status":"completed",)"
      R"("content":[{"type":"output_text","text":"Hello Ada","annotations":[]}]},)"
      R"({"type":"function_call","id":"fc_1","call_id":"call_1","name":"f","arguments":"{}"}]})");
  auto stored = cap->result();
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->id, "resp_7");
  json items = json::parse(stored->items);
  // input, reasoning, message, function call; the built-in tool call left out
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(items[0],
            json::parse(R"({"type":"message","role":"user","content":"my name is Ada"})"));
  EXPECT_EQ(items[1], json::parse(R"({"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":"gAAA"})"));
  EXPECT_EQ(
      items[2],
      json::parse(
          R"({"type":"message","role":"assistant","content":[{"type":"output_text","text":"Hello Ada"}]})"));
  EXPECT_EQ(
      items[3],
      json::parse(R"({"type":"function_call","call_id":"call_1","name":"f","arguments":"{}"})"));
  // The response object as the client got it, marked stored, for GET /v1/responses/{id}.
  json response = json::parse(stored->response);
  EXPECT_EQ(response["id"], "resp_7");
  EXPECT_EQ(response["store"], true);
  ASSERT_EQ(response["output"].size(), 4u);  // unchanged: every item is the client's
  EXPECT_EQ(response["output"][2]["content"][0]["text"], "Hello Ada");
  // Nothing from a failed response or a body that is not one.
  auto failed = responses_capture(R"({"input":"x"})");
  failed->whole(R"({"id":"resp_8","status":"failed","output":[]})");
  EXPECT_FALSE(failed->result());
  failed->whole("garbage");
  EXPECT_FALSE(failed->result());
}

TEST(ResponsesConversation, CaptureOfAStreamTakesTheCompletedEvent) {
  auto cap = responses_capture(R"({"model":"m","input":[{"role":"user","content":"hi"}]})");
  cap->event(
      R"({"type":"response.created","response":{"id":"resp_9","status":"in_progress","output":[]}})");
  cap->event(R"({"type":"response.output_text.delta","delta":"Hel"})");
  EXPECT_FALSE(cap->result());  // not finished
  cap->event(
      R"({"type":"response.completed","response":{"id":"resp_9","status":"completed","output":[)"
      R"({"type":"message","role":"assistant","content":[{"type":"output_text","text":"Hello"}]}]}})");
  auto stored = cap->result();
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->id, "resp_9");
  json items = json::parse(stored->items);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[1]["content"][0]["text"], "Hello");
  json response = json::parse(stored->response);  // the completed event's response
  EXPECT_EQ(response["status"], "completed");
  EXPECT_EQ(response["store"], true);
  EXPECT_EQ(response["output"][0]["content"][0]["text"], "Hello");
}

// A stored conversation: a tool call and its output, then this response's own input, then its
// answer (the output item the capture appended last).
const char* kItems =
    R"([{"role":"user","content":"weather?"},)"
    R"({"type":"function_call","call_id":"c1","name":"w","arguments":"{}"},)"
    R"({"type":"function_call_output","call_id":"c1","output":"sunny"},)"
    R"({"type":"message","role":"user","content":[{"type":"input_text","text":"so?"}],"id":"msg_own"},)"
    R"({"type":"message","role":"assistant","content":[{"type":"output_text","text":"Sunny."}]}])";
const char* kResponse =
    R"({"id":"resp_abc","output":[{"type":"message","role":"assistant",)"
    R"("content":[{"type":"output_text","text":"Sunny."}]}]})";

json list(const InputItemsQuery& q) {
  auto r = responses_input_items("resp_abc", kItems, kResponse, q);
  EXPECT_TRUE(r.ok());
  return r ? json::parse(*r) : json();
}

TEST(ResponsesInputItems, TheInputWithoutTheAnswerNewestFirst) {
  json l = list({});
  EXPECT_EQ(l["object"], "list");
  ASSERT_EQ(l["data"].size(), 4u);  // the answer is not an input item
  EXPECT_EQ(l["data"][0]["id"], "msg_own");  // its own id kept
  EXPECT_EQ(l["data"][1]["id"], "fco_abc_2");
  EXPECT_EQ(l["data"][2]["id"], "fc_abc_1");
  EXPECT_EQ(l["data"][2]["name"], "w");
  const json& first = l["data"][3];
  EXPECT_EQ(first["id"], "msg_abc_0");
  EXPECT_EQ(first["type"], "message");  // added where the client left it out
  EXPECT_EQ(first["status"], "completed");
  EXPECT_EQ(first["content"], json::parse(R"([{"type":"input_text","text":"weather?"}])"));
  EXPECT_EQ(l["first_id"], "msg_own");
  EXPECT_EQ(l["last_id"], "msg_abc_0");
  EXPECT_EQ(l["has_more"], false);
}

TEST(ResponsesInputItems, PagesAscendingAfterAnId) {
  InputItemsQuery q;
  q.ascending = true;
  q.limit = 2;
  json l = list(q);
  ASSERT_EQ(l["data"].size(), 2u);
  EXPECT_EQ(l["data"][0]["id"], "msg_abc_0");
  EXPECT_EQ(l["has_more"], true);
  q.after = l["last_id"];
  l = list(q);
  ASSERT_EQ(l["data"].size(), 2u);
  EXPECT_EQ(l["data"][0]["id"], "fco_abc_2");
  EXPECT_EQ(l["data"][1]["id"], "msg_own");
  EXPECT_EQ(l["has_more"], false);
  q.after = "msg_own";  // the last one: an empty page
  l = list(q);
  EXPECT_TRUE(l["data"].empty());
  EXPECT_TRUE(l["first_id"].is_null());
  q.after = "msg_unknown";
  auto bad = responses_input_items("resp_abc", kItems, kResponse, q);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, ErrorKind::kBadRequest);
  EXPECT_FALSE(responses_input_items("resp_abc", "{}", kResponse, {}).ok());
  EXPECT_FALSE(responses_input_items("resp_abc", kItems, "", {}).ok());
}

TEST(ResponsesInputItems, IdsAreUniqueAndTypesAsTheParserReadsThem) {
  // A client id given twice (re-sent with previous_response_id), and an item whose type is null.
  const char* items =
      R"([{"id":"a b","type":"message","role":"user","content":"one"},)"
      R"({"id":"a b","type":null,"role":"user","content":"two"},)"
      R"({"type":"message","role":"assistant","content":[{"type":"output_text","text":"Hi"}]}])";
  const char* response =
      R"({"output":[{"type":"message","content":[{"type":"output_text","text":"Hi"}]}]})";
  InputItemsQuery q;
  q.ascending = true;
  auto r = responses_input_items("resp_x", items, response, q);
  ASSERT_TRUE(r.ok());
  json l = json::parse(*r);
  ASSERT_EQ(l["data"].size(), 2u);
  EXPECT_EQ(l["data"][0]["id"], "a b");
  EXPECT_EQ(l["data"][1]["id"], "msg_x_1");
  EXPECT_EQ(l["data"][1]["type"], "message");
  EXPECT_EQ(l["data"][1]["content"][0]["type"], "input_text");
  // Paging one at a time ends: `after` names exactly one item (given percent-encoded).
  auto query = parse_input_items_query("order=asc&limit=1&after=a%20b");
  ASSERT_TRUE(query.ok());
  r = responses_input_items("resp_x", items, response, *query);
  ASSERT_TRUE(r.ok());
  l = json::parse(*r);
  ASSERT_EQ(l["data"].size(), 1u);
  EXPECT_EQ(l["data"][0]["id"], "msg_x_1");
  EXPECT_EQ(l["has_more"], false);
}

TEST(ResponsesInputItems, Query) {
  auto q = parse_input_items_query("order=asc&limit=100&after=msg_1&include[]=x");
  ASSERT_TRUE(q.ok());
  EXPECT_TRUE(q->ascending);
  EXPECT_EQ(q->limit, 100);
  EXPECT_EQ(q->after, "msg_1");
  q = parse_input_items_query("");
  ASSERT_TRUE(q.ok());
  EXPECT_FALSE(q->ascending);
  EXPECT_EQ(q->limit, 20);
  for (const char* bad : {"limit=0", "limit=101", "limit=", "limit=1e2", "limit=-1",
                          "limit=0101", "order=up", "order="})
    EXPECT_FALSE(parse_input_items_query(bad).ok()) << bad;
}

}  // namespace
}  // namespace switchboard::api
