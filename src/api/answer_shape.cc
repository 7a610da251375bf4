#include "api/answer_shape.h"

#include <simdjson.h>

#include "api/padded_scratch.h"

namespace switchboard::api {
namespace {

constexpr std::size_t kPooledParserBytes = std::size_t{1} << 20;

// The member `key` of `doc` as an array ("" when it is one), else the problem.
std::string needs_array(simdjson::dom::object doc, const char* key, simdjson::dom::array& out) {
  if (doc[key].get_array().get(out) == simdjson::SUCCESS) return {};
  return std::string("a JSON object without a `") + key + "` array";
}

std::string check(simdjson::dom::element root, AnswerShape shape) {
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

std::string answer_shape_problem(std::string_view body, AnswerShape shape) {
  simdjson::dom::element root;
  simdjson::error_code error;
  std::string problem;
  if (body.size() <= kPooledParserBytes) {
    thread_local simdjson::dom::parser pooled;
    thread_local PaddedScratch scratch;  // no allocation per answer
    error = pooled.parse(scratch.view(body)).get(root);
    if (!error) problem = check(root, shape);
  } else {
    simdjson::dom::parser large;
    error = large.parse(body.data(), body.size()).get(root);
    if (!error) problem = check(root, shape);
  }
  if (error) return "a body that is not JSON (" + std::string(simdjson::error_message(error)) + ")";
  return problem;
}

}  // namespace switchboard::api
