// A Messages request's output settings over chat completions (api/messages_output.h, through
// parse_messages_request): structured outputs, effort, and what only Anthropic can carry.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/messages.h"

namespace switchboard::api {
namespace {

using nlohmann::json;

const char* kSchema =
    R"({"type":"object","properties":{"name":{"type":"string"}},"required":["name"],"additionalProperties":false})";

Result<MessagesRequest> with(const std::string& members) {
  return parse_messages_request(R"({"model":"m","max_tokens":9,"messages":[{"role":"user","content":"q"}],)" +
                                members + "}");
}

// output_config.format (and the beta's output_format) is chat's strict json_schema
// response_format; it was dropped, and the chat model answered free text.
TEST(MessagesOutput, StructuredOutputsBecomeAJsonSchemaResponseFormat) {
  const json want = {{"type", "json_schema"},
                     {"json_schema", {{"name", "output"}, {"schema", json::parse(kSchema)}, {"strict", true}}}};
  for (const std::string& members :
       {R"("output_config":{"format":{"type":"json_schema","schema":)" + std::string(kSchema) + "}}",
        R"("output_format":{"type":"json_schema","schema":)" + std::string(kSchema) + "}"}) {
    auto r = with(members);
    ASSERT_TRUE(r) << members << " -> " << r.error().message;
    EXPECT_EQ(json::parse(r->chat_body)["response_format"], want) << members;
    EXPECT_EQ(r->native_only, "");
  }
  auto none = with(R"("output_config":null)");
  ASSERT_TRUE(none);
  EXPECT_FALSE(json::parse(none->chat_body).contains("response_format"));
}

// strict only for a schema OpenAI's strict mode takes: one with an optional property, an open
// object (nested too, or in $defs/items/anyOf) goes as guidance (strict false) — OpenAI refused a
// strict schema Anthropic takes with a 400.
TEST(MessagesOutput, StrictOnlyWhenTheSchemaIsClosedAndFullyRequired) {
  auto strict_of = [](const std::string& schema) {
    auto r = with(R"("output_config":{"format":{"type":"json_schema","schema":)" + schema + "}}");
    EXPECT_TRUE(r) << schema;
    return r ? json::parse(r->chat_body)["response_format"]["json_schema"]["strict"] : json();
  };
  const std::string closed = kSchema;
  EXPECT_EQ(strict_of(closed), true);
  EXPECT_EQ(strict_of(R"({"type":"object","properties":{"a":{"type":"array","items":)" + closed +
                      R"(}},"required":["a"],"additionalProperties":false})"),
            true);
  // The root must be an object; booleans, open objects in type arrays, and keywords strict mode
  // refuses are not strict.
  EXPECT_EQ(strict_of(R"({"type":"string"})"), false);
  EXPECT_EQ(strict_of(R"({"anyOf":[)" + closed + "]}"), false);
  EXPECT_EQ(strict_of(R"({"type":"object","properties":{"a":true},"required":["a"],"additionalProperties":false})"),
            false);
  EXPECT_EQ(strict_of(R"({"type":"object","properties":{"a":{"type":["object","null"]}},"required":["a"],"additionalProperties":false})"),
            false);
  EXPECT_EQ(strict_of(R"({"type":"object","properties":{"a":{"oneOf":[{"type":"string"}]}},"required":["a"],"additionalProperties":false})"),
            false);
  EXPECT_EQ(strict_of(R"({"type":"object","properties":{"a":{"anyOf":[{"type":"string"},{"type":"null"}]}},"required":["a"],"additionalProperties":false})"),
            true);
  // An optional property; an open object; the same nested in items, anyOf, $defs.
  EXPECT_EQ(strict_of(R"({"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}},"required":["a"],"additionalProperties":false})"),
            false);
  EXPECT_EQ(strict_of(R"({"type":"object","properties":{"a":{"type":"string"}},"required":["a"]})"), false);
  const std::string open = R"({"type":"object"})";
  EXPECT_EQ(strict_of(R"({"type":"array","items":)" + open + "}"), false);
  EXPECT_EQ(strict_of(R"({"type":"object","properties":{"a":{"anyOf":[)" + closed + "," + open +
                      R"(]}},"required":["a"],"additionalProperties":false})"),
            false);
  EXPECT_EQ(strict_of(R"({"$defs":{"x":)" + open + R"(},"type":"object","properties":{},"required":[],"additionalProperties":false})"),
            false);
}

// effort is chat's reasoning_effort (the highest two are chat's high); what Anthropic refuses is
// refused here, naming the field; another output_config member makes the request native-only.
TEST(MessagesOutput, EffortAndWhatCannotBeCarried) {
  auto low = with(R"("output_config":{"effort":"low"})");
  ASSERT_TRUE(low);
  EXPECT_EQ(low->reasoning_effort, "low");
  auto max = with(R"("thinking":{"type":"enabled","budget_tokens":2000},"output_config":{"effort":"max"})");
  ASSERT_TRUE(max);
  EXPECT_EQ(max->reasoning_effort, "high");

  struct Case {
    const char* members;
    const char* names;
  } refused[] = {
      {R"("output_config":"json")", "output_config must be an object"},
      {R"("output_config":{"format":{"type":"json_object"}})", "output_config.format.type"},
      {R"("output_config":{"format":{"type":"json_schema"}})", "output_config.format.schema"},
      {R"("output_format":{"type":"json_schema","schema":[]})", "output_format.schema"},
      {R"("output_config":{"effort":"extreme"})", "output_config.effort"},
      {R"("output_config":{"format":{"type":"json_schema","schema":{}}},"output_format":{"type":"json_schema","schema":{}})",
       "both"},
  };
  for (const auto& c : refused) {
    auto r = with(c.members);
    ASSERT_FALSE(r) << c.members;
    EXPECT_EQ(r.error().kind, ErrorKind::kBadRequest);
    EXPECT_NE(r.error().message.find(c.names), std::string::npos) << r.error().message;
  }

  auto other = with(R"("output_config":{"task_budget":{"tokens":9}})");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->native_only, "output_config.task_budget: an output setting chat has none of: "
                                "passed only to replicas with api: anthropic");
}

// The MCP connector and a container run at Anthropic: a chat replica cannot answer them (they
// were dropped without a word).
TEST(MessagesOutput, McpServersAndContainerAreNativeOnly) {
  auto mcp = with(R"("mcp_servers":[{"type":"url","url":"https://x/sse","name":"x"}])");
  ASSERT_TRUE(mcp);
  EXPECT_EQ(mcp->native_only, "mcp_servers: passed only to replicas with api: anthropic");
  auto container = with(R"("container":"container_1")");
  ASSERT_TRUE(container);
  EXPECT_EQ(container->native_only, "container: passed only to replicas with api: anthropic");
  auto nulls = with(R"("mcp_servers":null,"container":null)");
  ASSERT_TRUE(nulls);
  EXPECT_EQ(nulls->native_only, "");
}

}  // namespace
}  // namespace switchboard::api
