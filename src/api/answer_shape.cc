#include "api/answer_shape.h"

#include <simdjson.h>

#include "api/padded_scratch.h"

namespace switchboard::api {
namespace {

// Answers up to this are parsed by a per-thread parser (a typical answer: a few KB) ...
constexpr std::size_t kPooledParserBytes = std::size_t{64} << 10;
// ... up to this by a parser of their own (freed after) ...
constexpr std::size_t kFullCheckBytes = std::size_t{1} << 20;
// ... and larger ones only for their braces: a DOM takes ~12 times a document's size and a 63 MB
// one blocked its event loop for half a second (the review of session 33).

// The member `key` of `doc` as an array ("" when it is one), else the problem.
std::string needs_array(simdjson::dom::object doc, const char* key, simdjson::dom::array& out) {
  if (doc[key].get_array().get(out) == simdjson::SUCCESS) return {};
  return std::string("a JSON object without a `") + key + "` array";
}

// parse_usage's reading (api/sse.cc read_usage) of a parsed chat completion.
std::optional<Usage> usage_of(simdjson::dom::object doc) {
  simdjson::dom::element u;
  if (doc["usage"].get(u) != simdjson::SUCCESS || u.is_null()) return std::nullopt;
  Usage out;
  simdjson::dom::object usage;
  if (u.get_object().get(usage) != simdjson::SUCCESS) return out;
  const auto read = [&](simdjson::dom::element e, std::int64_t& target) {
    std::int64_t n = 0;
    if (e.get_int64().get(n) == simdjson::SUCCESS) target = n;
  };
  for (auto [key, value] : usage) {
    if (key == "prompt_tokens") read(value, out.prompt_tokens);
    else if (key == "completion_tokens") read(value, out.completion_tokens);
    else if (key == "cache_creation_input_tokens") read(value, out.cache_write_prompt_tokens);
    else if (key == "prompt_tokens_details") {
      simdjson::dom::object details;
      if (value.get_object().get(details) == simdjson::SUCCESS)
        for (auto [dkey, dvalue] : details)
          if (dkey == "cached_tokens") read(dvalue, out.cached_prompt_tokens);
    }
  }
  return out;
}

std::string check(simdjson::dom::element root, AnswerShape shape, AnswerCheck& out) {
  simdjson::dom::object doc;
  if (root.get_object().get(doc) != simdjson::SUCCESS) return "a body that is not a JSON object";
  simdjson::dom::array items;
  switch (shape) {
    case AnswerShape::kChatCompletion: {
      if (auto p = needs_array(doc, "choices", items); !p.empty()) return p;
      if (items.size() == 0) return "an empty `choices` array";
      for (auto choice : items) {
        simdjson::dom::object message;
        if (choice["message"].get_object().get(message) != simdjson::SUCCESS)
          return "a choice without a `message` object";
      }
      out.usage_read = true;
      out.usage = usage_of(doc);
      return {};
    }
    case AnswerShape::kEmbeddings:
      return needs_array(doc, "data", items);
    case AnswerShape::kAnthropicMessage:
      return needs_array(doc, "content", items);
    case AnswerShape::kResponse:
      return needs_array(doc, "output", items);
  }
  return {};
}

}  // namespace

AnswerCheck check_answer(std::string_view body, AnswerShape shape) {
  AnswerCheck out;
  if (body.size() > kFullCheckBytes) {
    const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    std::size_t first = 0, last = body.size();
    while (first < last && blank(body[first])) ++first;
    while (last > first && blank(body[last - 1])) --last;
    if (!(first < last && body[first] == '{' && body[last - 1] == '}'))
      out.problem = "a body that is not a JSON object";
    return out;
  }
  simdjson::dom::element root;
  simdjson::error_code error;
  if (body.size() <= kPooledParserBytes) {
    thread_local simdjson::dom::parser pooled;
    thread_local PaddedScratch scratch;  // no allocation per answer
    error = pooled.parse(scratch.view(body)).get(root);
    if (!error) out.problem = check(root, shape, out);
  } else {
    simdjson::dom::parser own;
    error = own.parse(body.data(), body.size()).get(root);
    if (!error) out.problem = check(root, shape, out);
  }
  if (error)
    out.problem = "a body that is not JSON (" + std::string(simdjson::error_message(error)) + ")";
  if (!out.problem.empty()) {
    AnswerCheck failed;
    failed.problem = std::move(out.problem);
    out = std::move(failed);
  }
  return out;
}

}  // namespace switchboard::api
