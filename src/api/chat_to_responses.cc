#include "api/chat_to_responses.h"

#include <algorithm>
#include <map>
#include <utility>

#include <nlohmann/json.hpp>

#include "api/chat_chunks.h"
#include "api/json_util.h"
#include "core/wall_clock.h"

namespace switchboard::api {

using json = nlohmann::json;

namespace {

Error unsupported(const std::string& what) {
  return make_error(ErrorKind::kBadRequest, "unsupported_for_responses",
                    what + " cannot be sent to an OpenAI Responses upstream");
}

// A user message's content: a string as it is, parts as input_text / input_image parts.
Result<json> user_content(const json& content, const std::string& where) {
  if (content.is_string()) return content;
  if (!content.is_array()) return invalid_request(where + ".content must be a string or parts");
  json parts = json::array();
  for (std::size_t i = 0; i < content.size(); ++i) {
    const json& p = content[i];
    const std::string at = where + ".content[" + std::to_string(i) + "]";
    const std::string type = string_at(p, "type");
    if (type == "text") {
      if (!member(p, "text").is_string()) return invalid_request(at + ".text must be a string");
      parts.push_back({{"type", "input_text"}, {"text", p["text"]}});
    } else if (type == "image_url") {
      const json& image = member(p, "image_url");
      const std::string url = image.is_string() ? image.get<std::string>() : string_at(image, "url");
      if (url.empty()) return invalid_request(at + ".image_url must hold a URL");
      json part{{"type", "input_image"}, {"image_url", url}};
      part["detail"] = string_at(image, "detail").empty() ? "auto" : string_at(image, "detail");
      parts.push_back(std::move(part));
    } else if (type == "file") {
      // A file inline (file_data) or by the provider's id: an input_file part either way.
      const json& file = member(p, "file");
      json part{{"type", "input_file"}};
      for (const char* k : {"file_data", "file_id", "filename"})
        if (!string_at(file, k).empty()) part[k] = string_at(file, k);
      if (!part.contains("file_data") && !part.contains("file_id"))
        return invalid_request(at + ".file needs file_data or file_id");
      parts.push_back(std::move(part));
    } else {
      return unsupported("a content part of type '" + type + "' (" + at + ")");
    }
  }
  return parts;
}

// Text of a content (a string, or text / refusal parts joined).
Result<std::string> text_of(const json& content, const std::string& where) {
  if (content.is_null()) return std::string();
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) return invalid_request(where + ".content must be a string or parts");
  std::string out;
  for (std::size_t i = 0; i < content.size(); ++i) {
    const json& p = content[i];
    const std::string type = string_at(p, "type");
    const char* key = type == "refusal" ? "refusal" : "text";
    if ((type != "text" && type != "refusal") || !member(p, key).is_string())
      return unsupported("a content part of type '" + type + "' (" + where + ".content[" +
                         std::to_string(i) + "])");
    out += p[key].get<std::string>();
  }
  return out;
}

Result<json> tool_definition(const json& tool, std::size_t i) {
  const std::string at = "tools[" + std::to_string(i) + "]";
  const json& f = member(tool, "function");
  if (string_at(tool, "type") != "function" || !f.is_object())
    return unsupported(at + " (only function tools)");
  if (string_at(f, "name").empty()) return invalid_request(at + ".function.name must be a string");
  json out{{"type", "function"}, {"name", f["name"]}};
  if (member(f, "description").is_string()) out["description"] = f["description"];
  out["parameters"] = member(f, "parameters").is_object()
                          ? f["parameters"]
                          : json{{"type", "object"}, {"properties", json::object()}};
  if (member(f, "strict").is_boolean()) out["strict"] = f["strict"];
  return out;
}

const char* finish_of(const json& response, bool calls) {
  if (calls) return "tool_calls";
  if (string_at(response, "status") == "incomplete") {
    const std::string reason = string_at(member(response, "incomplete_details"), "reason");
    return reason == "content_filter" ? "content_filter" : "length";
  }
  return "stop";
}

ChatUsage usage_of(const json& response) {
  const json& u = member(response, "usage");
  return {std::max<std::int64_t>(int_at(u, "input_tokens").value_or(0), 0),
          std::max<std::int64_t>(int_at(u, "output_tokens").value_or(0), 0),
          std::max<std::int64_t>(
              int_at(member(u, "input_tokens_details"), "cached_tokens").value_or(0), 0)};
}

// A reasoning item's text: its reasoning_text content, else its summary's text (what OpenAI's
// reasoning models give when a summary is asked for).
std::string reasoning_text(const json& item) {
  std::string out;
  for (const char* key : {"content", "summary"}) {
    if (const json& parts = member(item, key); parts.is_array())
      for (const json& p : parts) out += string_at(p, "text");
    if (!out.empty()) break;
  }
  return out;
}

// The {token, logprob, bytes, top_logprobs} entries of a Responses `logprobs` array appended to
// `out` (chat's logprobs.content has the same entries); anything but objects is left out.
void append_logprobs(const json& entries, json& out) {
  if (!entries.is_array()) return;
  for (const json& e : entries)
    if (e.is_object()) out.push_back(e);
}

class ResponsesReader final : public UpstreamToChat {
 public:
  explicit ResponsesReader(bool include_usage) : include_usage_(include_usage) {}

  Result<std::string> whole(std::string_view body) override {
    json r = parse_json(body);
    if (string_at(r, "object") != "response" || !member(r, "output").is_array())
      return make_error(ErrorKind::kUpstreamError, "upstream_bad_answer",
                        "the Responses upstream's answer is not a response");
    std::string text, refusal, reasoning;
    json calls = json::array();
    json logprobs = json::array();  // the output_text parts' token logprobs, in order
    for (const json& item : r["output"]) {
      const std::string type = string_at(item, "type");
      if (type == "reasoning") {
        reasoning += reasoning_text(item);
      } else if (type == "message" && member(item, "content").is_array()) {
        for (const json& p : item["content"]) {
          if (string_at(p, "type") != "output_text") {
            if (string_at(p, "type") == "refusal") refusal += string_at(p, "refusal");
            continue;
          }
          text += string_at(p, "text");
          append_logprobs(member(p, "logprobs"), logprobs);
        }
      } else if (type == "function_call") {
        calls.push_back({{"id", string_at(item, "call_id")},
                         {"type", "function"},
                         {"function",
                          {{"name", string_at(item, "name")},
                           {"arguments", string_at(item, "arguments")}}}});
      }
    }
    json message{{"role", "assistant"}};
    if (!text.empty() || calls.empty()) message["content"] = text.empty() ? refusal : text;
    else message["content"] = nullptr;
    if (text.empty() && !refusal.empty()) message["refusal"] = refusal;
    if (!calls.empty()) message["tool_calls"] = calls;
    if (!reasoning.empty()) message["reasoning_content"] = std::move(reasoning);
    json out{{"id", string_at(r, "id")},
             {"object", "chat.completion"},
             {"created", int_at(r, "created_at").value_or(unix_seconds())},
             {"model", string_at(r, "model")},
             {"choices",
              json::array({{{"index", 0},
                            {"message", std::move(message)},
                            {"finish_reason", finish_of(r, !calls.empty())}}})},
             {"usage", chat_usage_json(usage_of(r))}};
    if (!logprobs.empty()) out["choices"][0]["logprobs"] = {{"content", std::move(logprobs)}};
    return dump_json(out);
  }

  std::string error_body(std::string_view body) override {
    json j = parse_json(body);
    if (member(j, "error").is_object() && member(j["error"], "message").is_string())
      return dump_json(j);  // already OpenAI's shape
    return dump_json({{"error",
                       {{"message", std::string(body.substr(0, 512))},
                        {"type", "upstream_error"},
                        {"param", nullptr},
                        {"code", nullptr}}}});
  }

  std::string event(std::string_view data) override {
    if (stopped_) return {};
    json e = parse_json(data);
    if (!e.is_object()) return {};
    const std::string type = string_at(e, "type");
    if (type == "error") {
      stopped_ = true;
      std::string message = string_at(e, "message");
      if (message.empty()) message = string_at(member(e, "error"), "message");
      if (message.empty()) message = "the Responses upstream sent an error event";
      return ChatChunkWriter::error(string_at(e, "code"), message);
    }
    if (type == "response.created") {
      if (started_) return {};
      const json& r = member(e, "response");
      out_.start(string_at(r, "id"), string_at(r, "model"));
      started_ = true;
      return out_.delta({{"role", "assistant"}, {"content", ""}});
    }
    if (!started_) return {};
    if (type == "response.output_text.delta") {
      json logprobs = json::array();
      append_logprobs(member(e, "logprobs"), logprobs);
      return out_.delta({{"content", string_at(e, "delta")}}, nullptr, nullptr,
                        logprobs.empty() ? nullptr : &logprobs);
    }
    if (type == "response.refusal.delta") return out_.delta({{"refusal", string_at(e, "delta")}});
    // The reasoning's text, else its summary (as a whole answer reads it): summary deltas only
    // while no reasoning_text came.
    if (type == "response.reasoning_text.delta") {
      saw_reasoning_text_ = true;
      return out_.delta({{"reasoning_content", string_at(e, "delta")}});
    }
    if (type == "response.reasoning_summary_text.delta" && !saw_reasoning_text_)
      return out_.delta({{"reasoning_content", string_at(e, "delta")}});
    if (type == "response.output_item.added") {
      const json& item = member(e, "item");
      if (string_at(item, "type") != "function_call") return {};
      const int index = static_cast<int>(tools_.size());
      tools_[int_at(e, "output_index").value_or(-1)] = index;
      return out_.delta(
          {{"tool_calls",
            json::array({{{"index", index},
                          {"id", string_at(item, "call_id")},
                          {"type", "function"},
                          {"function", {{"name", string_at(item, "name")}, {"arguments", ""}}}}})}});
    }
    if (type == "response.function_call_arguments.delta") {
      auto tool = tools_.find(int_at(e, "output_index").value_or(-1));
      if (tool == tools_.end()) return {};
      return out_.delta(
          {{"tool_calls", json::array({{{"index", tool->second},
                                        {"function", {{"arguments", string_at(e, "delta")}}}}})}});
    }
    if (type == "response.completed" || type == "response.incomplete") {
      stopped_ = true;
      const json& r = member(e, "response");
      const ChatUsage usage = usage_of(r);
      std::string out = out_.delta(json::object(), finish_of(r, !tools_.empty()),
                                   include_usage_ ? nullptr : &usage);
      if (include_usage_) out += out_.usage_chunk(usage);
      return out + ChatChunkWriter::done();
    }
    if (type == "response.failed") {
      stopped_ = true;
      const json& err = member(member(e, "response"), "error");
      std::string message = string_at(err, "message");
      if (message.empty()) message = "the Responses upstream's response failed";
      return ChatChunkWriter::error(string_at(err, "code"), message);
    }
    return {};  // in_progress, content parts, output_text.done, item done, reasoning, ...
  }
  bool finished() const override { return stopped_; }

 private:
  bool include_usage_;
  ChatChunkWriter out_;
  std::map<std::int64_t, int> tools_;  // output index → the chat tool call's index
  bool started_ = false, stopped_ = false;
  bool saw_reasoning_text_ = false;
};

}  // namespace

Result<std::string> chat_to_responses_request(std::string_view chat_body, std::string_view model) {
  json chat = parse_json(chat_body);
  if (!chat.is_object()) return invalid_request("the body must be a JSON object");
  if (chat.contains("n") && !chat["n"].is_null() && chat["n"] != 1)
    return unsupported("n other than 1");
  if (auto s = chat.find("stop"); s != chat.end() && !s->is_null())
    return unsupported("stop (the Responses API has no stop sequences)");
  if (chat.contains("audio") && !chat["audio"].is_null()) return unsupported("audio output");

  json input = json::array();
  const json& messages = member(chat, "messages");
  if (!messages.is_array()) return invalid_request("messages must be an array");
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const json& m = messages[i];
    const std::string at = "messages[" + std::to_string(i) + "]";
    const std::string role = string_at(m, "role");
    const json& content = member(m, "content");
    if (role == "system" || role == "developer") {
      auto text = text_of(content, at);
      if (!text) return text.error();
      input.push_back({{"type", "message"}, {"role", role}, {"content", *text}});
    } else if (role == "user") {
      auto c = user_content(content, at);
      if (!c) return c.error();
      input.push_back({{"type", "message"}, {"role", "user"}, {"content", std::move(*c)}});
    } else if (role == "assistant") {
      auto text = text_of(content, at);
      if (!text) return text.error();
      if (!text->empty())
        input.push_back({{"type", "message"},
                         {"role", "assistant"},
                         {"content", json::array({{{"type", "output_text"}, {"text", *text}}})}});
      const json& calls = member(m, "tool_calls");
      for (std::size_t c = 0; calls.is_array() && c < calls.size(); ++c) {
        const json& f = member(calls[c], "function");
        if (string_at(calls[c], "id").empty() || string_at(f, "name").empty())
          return invalid_request(at + ".tool_calls[" + std::to_string(c) +
                                 "] needs an id and a function name");
        input.push_back({{"type", "function_call"},
                         {"call_id", calls[c]["id"]},
                         {"name", f["name"]},
                         {"arguments", string_at(f, "arguments").empty()
                                           ? std::string("{}")
                                           : string_at(f, "arguments")}});
      }
    } else if (role == "tool") {
      if (string_at(m, "tool_call_id").empty())
        return invalid_request(at + ".tool_call_id must be a string");
      auto text = text_of(content, at);
      if (!text) return text.error();
      input.push_back(
          {{"type", "function_call_output"}, {"call_id", m["tool_call_id"]}, {"output", *text}});
    } else {
      return unsupported("a message of role '" + role + "' (" + at + ")");
    }
  }
  json out{{"model", std::string(model)}, {"input", std::move(input)}, {"store", false}};
  for (const char* k : {"max_tokens", "max_completion_tokens"})
    if (member(chat, k).is_number_integer()) out["max_output_tokens"] = chat[k];
  for (const char* k : {"temperature", "top_p"})
    if (member(chat, k).is_number()) out[k] = chat[k];
  if (member(chat, "parallel_tool_calls").is_boolean())
    out["parallel_tool_calls"] = chat["parallel_tool_calls"];
  if (member(chat, "user").is_string()) out["user"] = chat["user"];
  if (member(chat, "reasoning_effort").is_string())
    out["reasoning"] = {{"effort", chat["reasoning_effort"]}};
  if (member(chat, "stream") == true) out["stream"] = true;
  if (member(chat, "logprobs") == true) {
    out["include"] = json::array({"message.output_text.logprobs"});
    if (const json& top = member(chat, "top_logprobs"); !top.is_null()) {
      if (!top.is_number_integer() || top.get<std::int64_t>() < 0 || top.get<std::int64_t>() > 20)
        return invalid_request("top_logprobs must be an integer between 0 and 20");
      out["top_logprobs"] = top;
    }
  }
  if (const json& tools = member(chat, "tools"); tools.is_array() && !tools.empty()) {
    json defs = json::array();
    for (std::size_t i = 0; i < tools.size(); ++i) {
      auto d = tool_definition(tools[i], i);
      if (!d) return d.error();
      defs.push_back(std::move(*d));
    }
    out["tools"] = std::move(defs);
  }
  if (const json& choice = member(chat, "tool_choice"); !choice.is_null()) {
    if (choice.is_string()) {
      out["tool_choice"] = choice;
    } else if (!string_at(member(choice, "function"), "name").empty()) {
      out["tool_choice"] = {{"type", "function"}, {"name", choice["function"]["name"]}};
    } else {
      return invalid_request("tool_choice must be auto, required, none or a function");
    }
  }
  if (const json& rf = member(chat, "response_format"); rf.is_object()) {
    const std::string type = string_at(rf, "type");
    if (type == "json_object") {
      out["text"] = {{"format", {{"type", "json_object"}}}};
    } else if (type == "json_schema") {
      const json& s = member(rf, "json_schema");
      json format{{"type", "json_schema"},
                  {"name", string_at(s, "name").empty() ? std::string("response") : string_at(s, "name")},
                  {"schema", member(s, "schema").is_object() ? s["schema"] : json::object()}};
      if (member(s, "strict").is_boolean()) format["strict"] = s["strict"];
      if (member(s, "description").is_string()) format["description"] = s["description"];
      out["text"] = {{"format", std::move(format)}};
    } else if (type != "text" && !type.empty()) {
      return unsupported("response_format " + type);
    }
  }
  return dump_json(out);
}

std::unique_ptr<UpstreamToChat> responses_to_chat(bool include_usage) {
  return std::make_unique<ResponsesReader>(include_usage);
}

}  // namespace switchboard::api
