#include "api/responses_answer.h"

#include <nlohmann/json.hpp>
#include <string>

#include "api/json_util.h"

namespace switchboard::api {

using json = nlohmann::json;

namespace {

std::int64_t tokens_at(const json& usage, const char* key) { return int_at(usage, key).value_or(0); }

std::optional<TextAnswer> answer_of(const json& r) {
  if (!r.is_object()) return std::nullopt;
  TextAnswer a;
  const std::string status = string_at(r, "status");
  if (status == "completed") {
    a.finish_reason = "stop";
  } else if (status == "incomplete" && r.contains("incomplete_details") &&
             string_at(r["incomplete_details"], "reason") == "max_output_tokens") {
    a.finish_reason = "length";
  } else {
    return std::nullopt;
  }
  auto output = r.find("output");
  if (output == r.end() || !output->is_array()) return std::nullopt;
  bool any = false;
  for (const json& item : *output) {
    const std::string type = string_at(item, "type");
    if (type == "reasoning") continue;
    if (type == "function_call") {
      const std::string name = string_at(item, "name");
      const json& args = member(item, "arguments");
      if (name.empty() || !args.is_string()) return std::nullopt;
      a.tool_calls.push_back({string_at(item, "call_id"), name, args.get<std::string>()});
      any = true;
      continue;
    }
    if (type != "message" || !item.contains("content") || !item["content"].is_array())
      return std::nullopt;
    for (const json& part : item["content"]) {
      if (string_at(part, "type") != "output_text" || !part.contains("text") ||
          !part["text"].is_string())
        return std::nullopt;
      a.content += part["text"].get_ref<const std::string&>();
      any = true;
    }
  }
  if (!any) return std::nullopt;
  if (!a.tool_calls.empty()) {
    if (a.finish_reason != "stop") return std::nullopt;  // calls cut off by max_output_tokens
    a.finish_reason = "tool_calls";
  }
  a.model = string_at(r, "model");
  if (auto u = r.find("usage"); u != r.end()) {
    a.prompt_tokens = tokens_at(*u, "input_tokens");
    a.completion_tokens = tokens_at(*u, "output_tokens");
  }
  return a;
}

class ResponsesAnswerReader final : public TextAnswerReader {
 public:
  void on_event(std::string_view data) override {
    if (bad_) return;
    // Cheap skip of the deltas: only terminal events and errors matter.
    if (data.find("response.completed") == std::string_view::npos &&
        data.find("response.incomplete") == std::string_view::npos &&
        data.find("error") == std::string_view::npos &&
        data.find("response.failed") == std::string_view::npos)
      return;
    json e = parse_json(data);
    if (e.is_discarded() || !e.is_object()) return;
    const std::string type = string_at(e, "type");
    if (type == "error" || type == "response.failed") {
      bad_ = true;
    } else if (type == "response.completed" || type == "response.incomplete") {
      if (auto r = e.find("response"); r != e.end()) answer_ = answer_of(*r);
      ended_ = true;
    }
  }
  std::optional<TextAnswer> result() const override {
    if (bad_ || !ended_) return std::nullopt;
    return answer_;
  }

 private:
  std::optional<TextAnswer> answer_;
  bool bad_ = false, ended_ = false;
};

}  // namespace

std::optional<TextAnswer> responses_answer(std::string_view response_json) {
  json j = parse_json(response_json);
  if (j.is_discarded()) return std::nullopt;
  return answer_of(j);
}

std::unique_ptr<TextAnswerReader> responses_answer_reader() {
  return std::make_unique<ResponsesAnswerReader>();
}

}  // namespace switchboard::api
