#include "api/embeddings.h"

#include <nlohmann/json.hpp>

#include "api/json_util.h"

namespace switchboard::api {

using nlohmann::json;

Result<ChatRequest> parse_embeddings_request(std::string_view body) {
  auto parsed = parse_request_object(body);
  if (!parsed) return parsed.error();
  json& j = *parsed;
  ChatRequest r;
  auto m = j.find("model");
  if (m == j.end() || !m->is_string() || m->get<std::string>().empty())
    return invalid_request("model is required and must be a non-empty string");
  r.model = m->get<std::string>();
  if (r.model.size() > kMaxModelBytes)
    return invalid_request("model is longer than " + std::to_string(kMaxModelBytes) + " bytes");
  auto in = j.find("input");
  if (in == j.end() || in->is_null()) return invalid_request("input is required");
  std::string text;
  if (in->is_string()) {
    text = in->get<std::string>();
    if (text.empty()) return invalid_request("input must not be an empty string");
  } else if (in->is_array()) {
    if (in->empty()) return invalid_request("input must not be an empty array");
    if (in->size() > kMaxEmbeddingInputs)
      return invalid_request("input has " + std::to_string(in->size()) + " items; at most " +
                             std::to_string(kMaxEmbeddingInputs) + " are accepted");
    for (std::size_t i = 0; i < in->size(); ++i) {
      const json& x = (*in)[i];
      if (x.is_number_integer() || x.is_array())
        return invalid_request("input: token arrays are not supported; send text");
      if (!x.is_string())
        return invalid_request("input[" + std::to_string(i) + "] must be a string");
      if (x.get_ref<const std::string&>().empty())
        return invalid_request("input[" + std::to_string(i) + "] must not be empty");
      if (i) text += '\n';
      text += x.get_ref<const std::string&>();
    }
  } else {
    return invalid_request("input must be a string or an array of strings");
  }
  if (auto f = j.find("encoding_format"); f != j.end() && !f->is_null()) {
    if (!f->is_string() || (*f != "float" && *f != "base64"))
      return invalid_request("encoding_format must be \"float\" or \"base64\"");
  }
  if (auto d = j.find("dimensions"); d != j.end() && !d->is_null()) {
    if (!d->is_number_integer() || d->get<std::int64_t>() < 1)
      return invalid_request("dimensions must be a positive integer");
  }
  if (j.contains("stream") && j["stream"].is_boolean() && j["stream"].get<bool>())
    return invalid_request("stream is not supported on /v1/embeddings");
  r.message_count = 1;
  r.prompt_text = std::move(text);
  r.messages.push_back({"user", 0, r.prompt_text.size()});
  r.estimated_prompt_tokens = estimate_tokens(r.prompt_text.size());
  return r;
}

}  // namespace switchboard::api
