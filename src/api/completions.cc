#include "api/completions.h"

#include <nlohmann/json.hpp>

#include "api/chat_reading.h"
#include "api/errors.h"
#include "api/json_util.h"

namespace switchboard::api {

using nlohmann::json;

namespace {

std::string completion_id(const std::string& chat_id) {
  std::string_view id = chat_id;
  if (id.starts_with("chatcmpl-")) id.remove_prefix(9);
  return "cmpl-" + std::string(id.empty() ? "switchboard" : id);
}
json usage_json(const TokenCounts& u) {
  return {{"prompt_tokens", u.prompt},
          {"completion_tokens", u.completion},
          {"total_tokens", u.prompt + u.completion}};
}

class CompletionsTranslator final : public AnswerTranslator {
 public:
  explicit CompletionsTranslator(const CompletionsRequest* r) {
    if (r) model_ = r->model, include_usage_ = r->include_usage;
  }
  Result<std::string> whole(std::string_view body) override {
    auto a = read_chat_completion(body);
    if (!a) return a.error();
    json j = {
        {"id", completion_id(a->id)},
        {"object", "text_completion"},
        {"created", a->created},
        {"model", model_.empty() ? a->model : model_},
        {"choices",
         json::array({{{"text", a->content.empty() ? a->refusal : a->content},
                       {"index", 0},
                       {"logprobs", nullptr},
                       {"finish_reason",
                        a->finish_reason.empty() ? json(nullptr) : json(a->finish_reason)}}})}};
    if (a->usage) j["usage"] = usage_json(*a->usage);
    return dump_json(j);
  }
  std::string event(std::string_view data) override {
    if (finished_) return "";
    auto c = read_chat_chunk(data);
    if (!c) return "";
    if (c->error)
      return error_event(make_error(ErrorKind::kUpstreamError, "upstream_error", *c->error));
    if (c->done) return finish();
    json j = {{"id", completion_id(c->id)},
              {"object", "text_completion"},
              {"created", c->created},
              {"model", model_.empty() ? c->model : model_}};
    // A refusal has no place of its own in a completion: it is the text.
    if (c->content.empty()) c->content = std::move(c->refusal);
    if (!include_usage_) c->usage.reset();  // asked of the upstream for the record only
    const bool has_choice = !c->content.empty() || !c->finish_reason.empty();
    if (!has_choice && !c->usage) return "";  // the role chunk
    j["choices"] = json::array();
    if (has_choice)
      j["choices"].push_back(
          {{"text", c->content},
           {"index", 0},
           {"logprobs", nullptr},
           {"finish_reason", c->finish_reason.empty() ? json(nullptr) : json(c->finish_reason)}});
    if (c->usage) j["usage"] = usage_json(*c->usage);
    return "data: " + dump_json(j) + "\n\n";
  }
  std::string finish() override {
    if (finished_) return "";
    finished_ = true;
    return "data: [DONE]\n\n";
  }
  std::string error_body(const Error& e) const override { return error_json(e, false); }
  std::string error_event(const Error& e) override {
    finished_ = true;
    return error_sse_event(e) + "data: [DONE]\n\n";
  }
  std::string upstream_error_body(unsigned status, std::string_view body) const override {
    return openai_upstream_error_body(status, body);
  }

 private:
  std::string model_;
  bool include_usage_ = true;  // without a request (an error's translator): as sent
  bool finished_ = false;
};

}  // namespace

Result<CompletionsRequest> parse_completions_request(std::string_view body) {
  auto parsed = parse_request_object(body);
  if (!parsed) return parsed.error();
  json& j = *parsed;
  CompletionsRequest r;
  if (!j.contains("model") || !j["model"].is_string() || j["model"].get<std::string>().empty())
    return invalid_request("model is required and must be a non-empty string");
  r.model = j["model"].get<std::string>();
  auto p = j.find("prompt");
  if (p == j.end() || p->is_null()) return invalid_request("prompt is required");
  std::string prompt;
  if (p->is_string()) {
    prompt = p->get<std::string>();
  } else if (p->is_array() && p->size() == 1 && (*p)[0].is_string()) {
    prompt = (*p)[0].get<std::string>();
  } else if (p->is_array() && !p->empty() && (*p)[0].is_string()) {
    return invalid_request("prompt: only one prompt per request is supported (got " +
                           std::to_string(p->size()) + ")");
  } else if (p->is_array()) {
    return invalid_request("prompt: token arrays are not supported; send the prompt as a string");
  } else {
    return invalid_request("prompt must be a string");
  }
  for (const char* k : {"n", "best_of"}) {
    if (j.contains(k) && !j[k].is_null() &&
        !(j[k].is_number_integer() && j[k].get<std::int64_t>() == 1))
      return invalid_request(std::string(k) + ": only 1 is supported");
  }
  if (j.contains("echo") && !j["echo"].is_null() &&
      !(j["echo"].is_boolean() && !j["echo"].get<bool>()))
    return invalid_request("echo: only false is supported");
  if (j.contains("suffix") && !j["suffix"].is_null())
    return invalid_request("suffix is not supported");
  if (j.contains("logprobs") && !j["logprobs"].is_null())
    return invalid_request("logprobs is not supported");
  if (j.contains("stream") && !j["stream"].is_null() && !j["stream"].is_boolean())
    return invalid_request("stream must be a boolean");
  r.stream = j.contains("stream") && j["stream"].is_boolean() && j["stream"].get<bool>();

  json chat = {{"model", r.model},
               {"messages", json::array({{{"role", "user"}, {"content", prompt}}})}};
  if (auto m = j.find("max_tokens"); m != j.end() && !m->is_null()) {
    if (!m->is_number_integer() || m->get<std::int64_t>() < 0)
      return invalid_request("max_tokens must be a non-negative integer");
    chat["max_tokens"] = *m;
  } else {
    chat["max_tokens"] = 16;  // the Completions API's default
  }
  for (const char* k : {"temperature", "top_p", "presence_penalty", "frequency_penalty"}) {
    if (!j.contains(k) || j[k].is_null()) continue;
    if (!j[k].is_number()) return invalid_request(std::string(k) + " must be a number");
    chat[k] = j[k];
  }
  // Chat completions take logit_bias as the Completions API does (token ids of the model's
  // tokenizer); parameters of chat only would be dropped here, silently changing the answer.
  for (const char* k : {"seed", "user", "stop", "logit_bias"})
    if (j.contains(k) && !j[k].is_null()) chat[k] = j[k];
  for (const char* k : {"response_format", "tools", "tool_choice", "functions", "messages"})
    if (j.contains(k) && !j[k].is_null())
      return invalid_request(std::string(k) + " is not a Completions API parameter (use "
                             "/v1/chat/completions)");
  if (r.stream) {
    chat["stream"] = true;
    const auto so = j.find("stream_options");
    r.include_usage = so != j.end() && so->is_object() && so->contains("include_usage") &&
                      (*so)["include_usage"] == true;
    chat["stream_options"] = {{"include_usage", true}};
  }
  r.chat_body = dump_json(chat);
  return r;
}

std::unique_ptr<AnswerTranslator> completions_translator(const CompletionsRequest* request) {
  return std::make_unique<CompletionsTranslator>(request);
}

}  // namespace switchboard::api
