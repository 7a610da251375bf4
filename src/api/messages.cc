#include "api/messages.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

#include "api/chat_reading.h"
#include "api/chat_request.h"
#include "api/json_util.h"
#include "api/json_value_end.h"
#include "api/messages_output.h"
#include "api/random_id.h"
#include "api/tool_call_sequencer.h"

namespace switchboard::api {

using nlohmann::json;

namespace {

// A base64 document (a PDF) as a chat file part (file_data as a data URL, the title as its file
// name); nullopt for other sources (url, file ids), which only Anthropic reads.
std::optional<json> file_part(const json& block) {
  const json& source = member(block, "source");
  if (string_at(source, "type") != "base64" || string_at(source, "media_type").empty() ||
      !member(source, "data").is_string())
    return std::nullopt;
  const std::string title = string_at(block, "title");
  return json{{"type", "file"},
              {"file",
               {{"filename", title.empty() ? std::string("document.pdf") : title},
                {"file_data", "data:" + string_at(source, "media_type") + ";base64," +
                                  source["data"].get<std::string>()}}}};
}

// A search_result block as text (its title, its source, then its text blocks); nullopt when it
// is malformed.
std::optional<std::string> search_result_text(const json& block) {
  const json& content = member(block, "content");
  if (!content.is_array()) return std::nullopt;
  std::string text = string_at(block, "title");
  if (!string_at(block, "source").empty())
    text += (text.empty() ? "" : " ") + std::string("(") + string_at(block, "source") + ")";
  for (const json& b : content) {
    if (string_at(b, "type") != "text" || !member(b, "text").is_string()) return std::nullopt;
    if (!text.empty()) text += '\n';
    text += b["text"].get<std::string>();
  }
  return text;
}

// Keeps the first reason a request can only be passed through natively.
void only_natively(std::string& native_only, std::string why) {
  if (native_only.empty())
    native_only = std::move(why) + ": passed only to replicas with api: anthropic";
}

// Text of a tool_result's content: a string, or text blocks joined by '\n'. With `native_only`,
// blocks of other types (images, documents, search results) are left out and noted there;
// without, they are an error.
Result<std::string> tool_result_text(const json& content, const std::string& where,
                                     std::string* native_only = nullptr) {
  if (content.is_null()) return std::string();
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array())
    return invalid_request(where + ".content must be a string or an array of blocks");
  std::string out;
  for (std::size_t i = 0; i < content.size(); ++i) {
    const json& b = content[i];
    const std::string bw = where + ".content[" + std::to_string(i) + "]";
    if (native_only && b.is_object() && member(b, "type").is_string() && b["type"] != "text") {
      if (auto found = b["type"] == "search_result" ? search_result_text(b) : std::nullopt) {
        if (!out.empty()) out += '\n';
        out += *found;
      } else {
        only_natively(*native_only,
                      bw + ": blocks of type " + b["type"].dump() + " in a tool_result");
      }
      continue;
    }
    if (!b.is_object() || string_at(b, "type") != "text" || !b.contains("text") ||
        !b["text"].is_string())
      return invalid_request(bw + " must be a text block");
    if (!out.empty()) out += '\n';
    out += b["text"].get<std::string>();
  }
  return out;
}

// An image block's source as the URL of a chat image_url part: base64 data as a data URL, a url
// source as it is; nullopt for other sources (files).
std::optional<std::string> image_url_of(const json& block) {
  const json& source = member(block, "source");
  const std::string type = string_at(source, "type");
  if (type == "base64" && !string_at(source, "media_type").empty() &&
      member(source, "data").is_string())
    return "data:" + string_at(source, "media_type") + ";base64," + string_at(source, "data");
  if (type == "url" && !string_at(source, "url").empty()) return string_at(source, "url");
  return std::nullopt;
}

// A plain-text document as text (its title, its context, then source type "text" data or the text
// blocks of a "content" source); nullopt for other documents (PDF, url, file), which only
// Anthropic reads.
std::optional<std::string> document_text(const json& block) {
  const json& source = member(block, "source");
  const std::string type = string_at(source, "type");
  std::string title = string_at(block, "title");
  std::string text;
  if (type == "text" && member(source, "data").is_string()) {
    text = source["data"].get<std::string>();
  } else if (type == "content") {
    auto joined = tool_result_text(member(source, "content"), "document");
    if (!joined) return std::nullopt;
    text = std::move(*joined);
  } else {
    return std::nullopt;
  }
  const std::string context = string_at(block, "context");
  if (!context.empty()) text = context + "\n\n" + text;
  return title.empty() ? text : title + "\n\n" + text;
}

// Appends the chat messages one Anthropic message becomes.
std::optional<Error> add_message(const json& m, std::size_t index, json& out,
                                 std::string& native_only) {
  const std::string where = "messages[" + std::to_string(index) + "]";
  if (!m.is_object()) return invalid_request(where + " must be an object");
  auto role_it = m.find("role");
  if (role_it == m.end() || !role_it->is_string())
    return invalid_request(where + ".role must be a string");
  const std::string role = role_it->get<std::string>();
  if (role != "user" && role != "assistant")
    return invalid_request(where + ".role must be \"user\" or \"assistant\", not \"" + role + "\"");
  const std::string in_role = role == "user" ? "a user message" : "an assistant message";
  auto content = m.find("content");
  if (content == m.end()) return invalid_request(where + ".content is required");
  if (content->is_string()) {
    out.push_back({{"role", role}, {"content", *content}});
    return std::nullopt;
  }
  if (!content->is_array())
    return invalid_request(where + ".content must be a string or an array of blocks");
  std::string text;
  bool has_text = false;
  json parts = json::array();  // a user message's text and images, in order (when it has images)
  bool has_image = false;
  json tool_calls = json::array();
  json tool_results = json::array();
  for (std::size_t i = 0; i < content->size(); ++i) {
    const json& b = (*content)[i];
    const std::string bw = where + ".content[" + std::to_string(i) + "]";
    if (!b.is_object() || !b.contains("type") || !b["type"].is_string())
      return invalid_request(bw + " must be an object with a string type");
    const std::string type = b["type"].get<std::string>();
    if (type == "text") {
      if (!b.contains("text") || !b["text"].is_string())
        return invalid_request(bw + ".text must be a string");
      if (has_text) text += '\n';
      text += b["text"].get<std::string>();
      has_text = true;
      parts.push_back({{"type", "text"}, {"text", b["text"]}});
    } else if (type == "image" && role == "user") {
      auto url = image_url_of(b);
      if (!url)
        return invalid_request(bw + " (image) needs a base64 source with media_type and data, or a "
                               "url source");
      parts.push_back({{"type", "image_url"}, {"image_url", {{"url", std::move(*url)}}}});
      has_image = true;
    } else if (type == "document" && role == "user") {
      if (auto doc = document_text(b)) {
        if (has_text) text += '\n';
        text += *doc;
        has_text = true;
        parts.push_back({{"type", "text"}, {"text", std::move(*doc)}});
      } else if (auto file = file_part(b)) {
        parts.push_back(std::move(*file));
        has_image = true;  // content parts, as for an image
      } else {
        only_natively(native_only, bw + ": a document that is neither plain text nor base64 data");
      }
    } else if (type == "search_result" && role == "user" && search_result_text(b)) {
      std::string found = *search_result_text(b);
      if (has_text) text += '\n';
      text += found;
      has_text = true;
      parts.push_back({{"type", "text"}, {"text", std::move(found)}});
    } else if ((type == "thinking" || type == "redacted_thinking") && role == "assistant") {
      continue;  // chat completions take no reasoning back
    } else if (type == "tool_use" && role == "assistant") {
      if (!b.contains("id") || !b["id"].is_string() || !b.contains("name") ||
          !b["name"].is_string())
        return invalid_request(bw + " (tool_use) needs a string id and name");
      json input = b.contains("input") ? b["input"] : json::object();
      tool_calls.push_back({{"id", b["id"]},
                            {"type", "function"},
                            {"function", {{"name", b["name"]}, {"arguments", dump_json(input)}}}});
    } else if (type == "tool_result" && role == "user") {
      if (!b.contains("tool_use_id") || !b["tool_use_id"].is_string())
        return invalid_request(bw + " (tool_result) needs a string tool_use_id");
      auto result_text =
          tool_result_text(b.contains("content") ? b["content"] : json(), bw, &native_only);
      if (!result_text) return result_text.error();
      std::string t = std::move(*result_text);
      if (const json& e = member(b, "is_error"); e.is_boolean() && e.get<bool>()) t = "Error: " + t;
      tool_results.push_back(
          {{"role", "tool"}, {"tool_call_id", b["tool_use_id"]}, {"content", t}});
    } else if (type == "image" || type == "tool_use" || type == "tool_result" ||
               type == "thinking" || type == "redacted_thinking") {
      return invalid_request(bw + ": content blocks of type \"" + type +
                             "\" are not allowed in " + in_role);
    } else {
      only_natively(native_only, bw + ": content blocks of type \"" + type + "\" in " + in_role);
    }
  }
  for (auto& r : tool_results) out.push_back(std::move(r));
  if (role == "assistant") {
    json msg = {{"role", "assistant"}, {"content", has_text ? json(text) : json(nullptr)}};
    if (!tool_calls.empty()) msg["tool_calls"] = std::move(tool_calls);
    if (has_text || msg.contains("tool_calls")) out.push_back(std::move(msg));
  } else if (has_image) {
    out.push_back({{"role", "user"}, {"content", std::move(parts)}});
  } else if (has_text || tool_results.empty()) {
    out.push_back({{"role", "user"}, {"content", text}});
  }
  return std::nullopt;
}

std::string stop_reason_of(std::string_view finish, bool tools) {
  if (finish == "length") return "max_tokens";
  // A chat replica's content filter is Anthropic's refusal (the reverse translation maps it so).
  if (finish == "content_filter") return "refusal";
  if (finish == "tool_calls" || finish == "function_call" || tools) return "tool_use";
  return "end_turn";
}

// A tool call's arguments as a tool_use block's `input`: the JSON object they are ({} when there
// are none: only whitespace); nullopt when they are anything else (not JSON, an array, a number…),
// which Anthropic's `input` cannot be.
std::optional<json> tool_input(std::string_view arguments) {
  if (arguments.find_first_not_of(" \t\r\n") == std::string_view::npos) return json::object();
  json j = parse_json(arguments);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

// The error for a tool call whose arguments are not a JSON object.
Error bad_tool_arguments(const std::string& name, std::string_view arguments) {
  return make_error(ErrorKind::kUpstreamError, "upstream_bad_answer",
                    "the arguments of the tool call " + json(name).dump() +
                        " are not a JSON object, which a tool_use block's input must be: " +
                        quoted_prefix(arguments, 200));
}

// A new message's id: random, as Anthropic's are unique per message (it was the upstream's id,
// "msg_switchboard" when it sent none: clients deduping messages by id merged different turns).
std::string message_id() { return "msg_" + random_hex_id(); }

// A tool call's id, or one made for a call the upstream sent without (the client's tool_result
// must name it; it was "").
std::string tool_use_id(const std::string& id, const std::string& message_id, std::size_t index) {
  return id.empty() ? "toolu_" + message_id.substr(4) + "_" + std::to_string(index) : id;
}

// Chat usage in Anthropic's terms: input_tokens leaves out the tokens read from the prompt cache
// (chat's prompt_tokens counts them), which cache_read_input_tokens carries.
// Tokens written to the prompt cache (cache_creation_input_tokens, as Anthropic-backed chat
// servers report them) are part of chat's prompt_tokens too, and left out of input_tokens alike.
json usage_json(const std::optional<TokenCounts>& u) {
  if (!u) return {{"input_tokens", 0}, {"output_tokens", 0}};
  const std::int64_t prompt = std::max<std::int64_t>(u->prompt, 0);
  const std::int64_t cached = std::clamp<std::int64_t>(u->cached, 0, prompt);
  const std::int64_t written = std::clamp<std::int64_t>(u->written, 0, prompt - cached);
  json out = {{"input_tokens", prompt - cached - written}, {"output_tokens", u->completion}};
  if (cached > 0) out["cache_read_input_tokens"] = cached;
  if (written > 0) out["cache_creation_input_tokens"] = written;
  return out;
}

json thinking_block(std::string text, std::string signature = {}) {
  return {{"type", "thinking"}, {"thinking", std::move(text)}, {"signature", std::move(signature)}};
}

class MessagesTranslator final : public AnswerTranslator {
 public:
  explicit MessagesTranslator(const MessagesRequest* r) {
    if (r) model_ = r->model, thinking_ = r->thinking, stop_sequences_ = r->stop_sequences;
  }

  Result<std::string> whole(std::string_view body) override {
    auto a = read_chat_completion(body);
    if (!a) return a.error();
    json content = json::array();
    if (thinking_ && (!a->reasoning.empty() || !a->reasoning_signature.empty()))
      content.push_back(thinking_block(a->reasoning, a->reasoning_signature));
    if (!a->content.empty()) content.push_back({{"type", "text"}, {"text", a->content}});
    // A refusal is text in Messages, with Anthropic's own stop reason for it.
    if (a->content.empty() && !a->refusal.empty())
      content.push_back({{"type", "text"}, {"text", a->refusal}});
    const std::string id = message_id();
    for (const auto& tc : a->tool_calls) {
      auto input = tool_input(tc.arguments);
      if (!input) return bad_tool_arguments(tc.name, tc.arguments);
      content.push_back({{"type", "tool_use"},
                         {"id", tool_use_id(tc.id, id, tc.index)},
                         {"name", tc.name},
                         {"input", std::move(*input)}});
    }
    std::string stop = !a->refusal.empty() && a->tool_calls.empty()
                           ? "refusal"
                           : stop_reason_of(a->finish_reason, !a->tool_calls.empty());
    json sequence = stop_sequence(stop, a->matched_stop);
    json j = {{"id", id},
              {"type", "message"},
              {"role", "assistant"},
              {"model", model_.empty() ? a->model : model_},
              {"content", std::move(content)},
              {"stop_reason", std::move(stop)},
              {"stop_sequence", std::move(sequence)},
              {"usage", a->usage ? usage_json(a->usage)
                                 : estimated_usage(estimated_output(*a, body))}};
    return dump_json(j);
  }

  std::string answer_problem(std::string_view body) const override {
    if (body.find("tool_calls") == std::string_view::npos) return {};  // the common case
    auto a = read_chat_completion(body);
    if (!a) return {};
    for (const auto& tc : a->tool_calls)
      if (!tool_input(tc.arguments))
        return "a tool call " + json(tc.name).dump() +
               " whose arguments are not a JSON object (a Messages client's tool_use input must be "
               "one)";
    return {};
  }

  std::string event(std::string_view data) override {
    if (finished_) return "";
    if (data.find_first_not_of(" \t\r\n") == std::string_view::npos) return "";  // no data
    auto c = read_chat_chunk(data);
    // An event that is no JSON object: the answer cannot be read on, so the stream ends with an
    // error (stream_failure(): the decision record says so), not without the part it carried.
    if (!c)
      return fail(make_error(ErrorKind::kUpstreamError, "upstream_bad_event",
                             "the upstream sent an event that is not a JSON object: " +
                                 quoted_prefix(data, 120)));
    if (c->error)
      return error_event(make_error(ErrorKind::kUpstreamError, "upstream_error", *c->error));
    if (c->done) return finish();
    std::string out = start(*c);
    if (thinking_ && (!c->reasoning.empty() || !c->reasoning_signature.empty()))
      out += thinking_part(c->reasoning, c->reasoning_signature);
    if (finished_) return out;
    for (const std::string* text : {&c->content, &c->refusal}) out += text_part(*text);
    if (finished_) return out;
    refused_ = refused_ || !c->refusal.empty();
    if (!c->content.empty()) ++content_chunks_;
    for (const auto& tc : tool_calls_.feed(c->tool_calls)) {
      out += tool_part(tc);
      if (finished_) return out;
    }
    if (!c->finish_reason.empty()) finish_reason_ = c->finish_reason;
    if (!c->matched_stop.empty()) matched_stop_ = c->matched_stop;
    if (c->usage) usage_ = c->usage;
    return out;
  }

  void set_prompt_tokens(std::int64_t estimated) override {
    prompt_tokens_ = std::max<std::int64_t>(estimated, 0);
  }

  std::string finish() override {
    if (finished_) return "";
    std::string out = start(ChatChunk{});
    for (const auto& tc : tool_calls_.flush()) out += tool_part(tc);  // calls held to the end
    if (!finished_) out += close_block();
    if (!finished_) out += let_out_held();
    if (finished_) return out;  // a call's arguments were not an object: an error ended it
    finished_ = true;
    // Without the upstream's usage, the gateway's estimate, as the decision record counts it: the
    // prompt's estimated tokens, one token per content chunk.
    json usage = usage_ ? usage_json(usage_) : estimated_usage(content_chunks_);
    std::string stop =
        refused_ && !saw_tool_ ? "refusal" : stop_reason_of(finish_reason_, saw_tool_);
    json sequence = stop_sequence(stop, matched_stop_);
    out += named_event("message_delta",
                       dump_json({{"type", "message_delta"},
                                  {"delta", {{"stop_reason", stop}, {"stop_sequence", sequence}}},
                                  {"usage", usage}}));
    out += named_event("message_stop", R"({"type":"message_stop"})");
    return out;
  }

  std::string error_body(const Error& e) const override {
    return anthropic_error_json(anthropic_error_type(e.kind), e.message);
  }
  // One error ends the stream: after message_stop or an error (the translator's own included:
  // stream_failure()), nothing more is written.
  std::string error_event(const Error& e) override {
    if (finished_) return "";
    finished_ = true;
    return named_event("error", error_body(e));
  }
  const Error* stream_failure() const override { return failure_ ? &*failure_ : nullptr; }
  std::string upstream_error_body(unsigned status, std::string_view body) const override {
    const char* type = status == 400                    ? "invalid_request_error"
                       : status == 401                  ? "authentication_error"
                       : status == 403                  ? "permission_error"
                       : status == 404                  ? "not_found_error"
                       : status == 413                  ? "request_too_large"
                       : status == 429                  ? "rate_limit_error"
                       : status == 503 || status == 529 ? "overloaded_error"
                       : status == 504                  ? "timeout_error"
                                                        : "api_error";
    return anthropic_error_json(type, upstream_error_message(body));
  }

 private:
  enum class Open { kNone, kThinking, kText, kTool };
  // An end_turn the upstream says one of the request's stop sequences ended (`matched`: chat's
  // matched stop string) becomes "stop_sequence" in `stop`; the `stop_sequence` to report: that
  // string, else null (none named, a string the request did not ask for, or another stop reason).
  json stop_sequence(std::string& stop, const std::string& matched) const {
    if (stop != "end_turn" || matched.empty() ||
        std::find(stop_sequences_.begin(), stop_sequences_.end(), matched) == stop_sequences_.end())
      return nullptr;
    stop = "stop_sequence";
    return matched;
  }
  // The usage reported without the upstream's: the prompt's estimate and `output` tokens.
  json estimated_usage(std::int64_t output) const {
    return {{"input_tokens", prompt_tokens_}, {"output_tokens", output}};
  }
  // A whole answer's output tokens as the decision record estimates them (its text, else its body).
  static std::int64_t estimated_output(const ChatAnswer& a, std::string_view body) {
    return estimate_tokens(!a.content.empty() ? a.content.size() : body.size());
  }
  // Ends the stream with the translator's own error (stream_failure()).
  std::string fail(Error e) {
    if (finished_) return "";
    std::string out = error_event(e);
    failure_ = std::move(e);
    return out;
  }
  // A tool call is open and its arguments are not yet a whole JSON value: its brackets are open,
  // or something followed the value, or (parsed once, when they closed) they are no JSON.
  bool inside_call() {
    if (open_ != Open::kTool) return false;
    if (!args_end_.complete() || args_end_.trailing()) return true;
    if (!args_parsed_) {
      args_json_ = !parse_json(open_args_).is_discarded();
      args_parsed_ = true;
    }
    return !args_json_;
  }
  // Text (content or refusal) of a chunk. Inside a call it is held (let_out_held(): a text
  // block after the call), so that the call stays one block; else it goes into the open text
  // block, after any text held.
  std::string text_part(const std::string& text) {
    if (text.empty()) return "";
    if (inside_call()) {
      held_text_ += text;
      return "";
    }
    std::string out;
    if (!held_thinking_.empty() || !held_signature_.empty()) out += let_out_held();
    std::string all = std::move(held_text_) + text;
    held_text_.clear();
    return out + text_delta(Open::kText, {{"type", "text"}, {"text", ""}},
                            {{"type", "text_delta"}, {"text", std::move(all)}});
  }
  // Reasoning (the client asked for thinking), held inside a call as text is. The signature
  // closes its block (Anthropic sends it last, before the block stops); a signature without
  // thinking text opens the block itself.
  std::string thinking_part(const std::string& thinking, const std::string& signature) {
    if (inside_call()) {
      held_thinking_ += thinking;
      if (!signature.empty()) held_signature_ = signature;
      return "";
    }
    std::string out;
    if (!held_thinking_.empty() || !held_signature_.empty() || !held_text_.empty())
      out += let_out_held();
    if (!thinking.empty())
      out += text_delta(Open::kThinking, thinking_block(""),
                        {{"type", "thinking_delta"}, {"thinking", thinking}});
    if (!signature.empty())
      out += text_delta(Open::kThinking, thinking_block(""),
                        {{"type", "signature_delta"}, {"signature", signature}});
    return out;
  }
  // What was held inside a call, as blocks of their own after it: the thinking, then the text.
  std::string let_out_held() {
    std::string out;
    if (!held_thinking_.empty())
      out += text_delta(Open::kThinking, thinking_block(""),
                        {{"type", "thinking_delta"}, {"thinking", std::move(held_thinking_)}});
    if (!held_signature_.empty())
      out += text_delta(Open::kThinking, thinking_block(""),
                        {{"type", "signature_delta"}, {"signature", std::move(held_signature_)}});
    if (!held_text_.empty())
      out += text_delta(Open::kText, {{"type", "text"}, {"text", ""}},
                        {{"type", "text_delta"}, {"text", std::move(held_text_)}});
    held_thinking_.clear();
    held_signature_.clear();
    held_text_.clear();
    out += close_block();
    return out;
  }
  // One tool call's piece, in ToolCallSequencer's order: a new index closes the open block (and
  // lets out the text held inside it) and opens the call's tool_use block. A piece for a call whose
  // block closed (its arguments were a whole value) is dropped.
  std::string tool_part(const ToolCallPart& tc) {
    std::string out;
    if (closed_tools_.contains(tc.index)) return out;
    if (open_ != Open::kTool || tc.index != tool_index_) {
      out += close_block();
      if (open_ == Open::kNone && !finished_) out += let_out_held();
      if (finished_) return out;
      open_ = Open::kTool;
      tool_index_ = tc.index;
      tool_name_ = tc.name;
      open_args_.clear();
      args_end_ = {};
      args_parsed_ = false;
      saw_tool_ = true;
      out += named_event("content_block_start", dump_json({{"type", "content_block_start"},
                                                           {"index", index_},
                                                           {"content_block",
                                                            {{"type", "tool_use"},
                                                             {"id", tool_use_id(tc.id, id_, tc.index)},
                                                             {"name", tc.name},
                                                             {"input", json::object()}}}}));
    }
    open_args_ += tc.arguments;
    args_end_.feed(tc.arguments);
    if (!tc.arguments.empty())
      out += named_event(
          "content_block_delta",
          dump_json({{"type", "content_block_delta"},
                     {"index", index_},
                     {"delta", {{"type", "input_json_delta"}, {"partial_json", tc.arguments}}}}));
    return out;
  }

  std::string start(const ChatChunk& c) {
    if (started_) return "";
    started_ = true;
    id_ = message_id();
    json msg = {{"id", id_},   {"type", "message"},
                {"role", "assistant"},      {"model", model_.empty() ? c.model : model_},
                {"content", json::array()}, {"stop_reason", nullptr},
                {"stop_sequence", nullptr},
                {"usage", {{"input_tokens", prompt_tokens_}, {"output_tokens", 0}}}};
    return named_event("message_start", dump_json({{"type", "message_start"}, {"message", msg}}));
  }
  // `delta` into the open block of `kind`, or into a new one starting as `block`.
  std::string text_delta(Open kind, json block, json delta) {
    std::string out;
    if (open_ != kind) {
      out += close_block();
      if (finished_) return out;
      open_ = kind;
      out += named_event("content_block_start", dump_json({{"type", "content_block_start"},
                                                           {"index", index_},
                                                           {"content_block", std::move(block)}}));
    }
    out += named_event("content_block_delta", dump_json({{"type", "content_block_delta"},
                                                         {"index", index_},
                                                         {"delta", std::move(delta)}}));
    return out;
  }
  // Closes the open block; a tool_use block whose arguments are not a JSON object ends the stream
  // with an error instead (its client could not read the call's input).
  std::string close_block() {
    if (open_ == Open::kNone) return "";
    if (open_ == Open::kTool) {
      closed_tools_.insert(tool_index_);
      if (!tool_input(open_args_)) return fail(bad_tool_arguments(tool_name_, open_args_));
    }
    open_ = Open::kNone;
    std::string out = named_event("content_block_stop",
                                  dump_json({{"type", "content_block_stop"}, {"index", index_}}));
    ++index_;
    return out;
  }

  std::string model_;
  bool thinking_ = false;  // the client asked for thinking: the replica's reasoning is relayed
  std::vector<std::string> stop_sequences_;  // the request's (MessagesRequest::stop_sequences)
  std::string matched_stop_;                 // the stop string a chunk named (ChatChunk)
  bool started_ = false, finished_ = false, saw_tool_ = false;
  bool refused_ = false;  // a refusal came (stop_reason "refusal")
  std::int64_t prompt_tokens_ = 0;  // message_start's input_tokens (the gateway's estimate)
  std::string id_;                  // the message's id (message_start)
  Open open_ = Open::kNone;
  std::size_t index_ = 0;       // the current (or next) content block
  std::size_t tool_index_ = 0;  // the chat tool call the open tool_use block is
  std::string tool_name_;       // and its name
  std::string open_args_;       // its arguments so far
  JsonValueEnd args_end_;       // where they end (inside_call())
  bool args_parsed_ = false;    // parsed once they were complete: args_json_ says whether JSON
  bool args_json_ = false;
  std::set<std::size_t> closed_tools_;  // the chat tool calls whose blocks closed
  std::string held_text_;       // text that came inside the open tool call (text_part())
  std::string held_thinking_, held_signature_;  // and reasoning (thinking_part())
  std::int64_t content_chunks_ = 0;  // chunks with content: the output estimate without usage
  std::optional<Error> failure_;     // the error the translator ended the stream with
  ToolCallSequencer tool_calls_;
  std::string finish_reason_;
  std::optional<TokenCounts> usage_;
};

}  // namespace

const char* anthropic_error_type(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kBadRequest:
    case ErrorKind::kMethodNotAllowed:
      return "invalid_request_error";
    case ErrorKind::kUnauthorized:
      return "authentication_error";
    case ErrorKind::kForbidden:
      return "permission_error";
    case ErrorKind::kNotFound:
      return "not_found_error";
    case ErrorKind::kPayloadTooLarge:
      return "request_too_large";
    case ErrorKind::kRateLimited:
      return "rate_limit_error";
    case ErrorKind::kUnavailable:
      return "overloaded_error";
    case ErrorKind::kUpstreamTimeout:
      return "timeout_error";
    case ErrorKind::kInternal:
    case ErrorKind::kUpstreamError:
      return "api_error";
  }
  return "api_error";
}

std::string anthropic_error_json(std::string_view type, std::string_view message) {
  return dump_json({{"type", "error"}, {"error", {{"type", type}, {"message", message}}}});
}

namespace {

// Chat's reasoning_effort for a thinking budget: below 4,096 tokens low, below 16,384 medium,
// else high; medium without a budget (adaptive thinking).
std::string effort_of_budget(const json& budget) {
  if (!budget.is_number_integer()) return "medium";
  const auto tokens = budget.get<std::int64_t>();
  return tokens < 4096 ? "low" : tokens < 16384 ? "medium" : "high";
}

bool unsigned_thinking(const json& block) {
  return block.is_object() && string_at(block, "type") == "thinking" &&
         string_at(block, "signature").empty();
}

// `request` without the unsigned thinking blocks of its assistant turns (MessagesRequest::
// native_body); nullopt when it has none.
std::optional<std::string> without_unsigned_thinking(json request) {
  // Whether the last assistant turn began with one and continues (it calls a tool, or the client
  // prefills it): Anthropic then requires a signed thinking block first.
  bool found = false, last_began_with_one = false;
  json& messages = request["messages"];
  for (std::size_t i = 0; i < messages.size(); ++i) {
    json& m = messages[i];
    if (!m.is_object() || string_at(m, "role") != "assistant") continue;
    json& content = m["content"];
    last_began_with_one = content.is_array() && !content.empty() && unsigned_thinking(content[0]);
    if (!content.is_array()) continue;
    if (last_began_with_one && i + 1 < messages.size())
      last_began_with_one = std::any_of(content.begin(), content.end(), [](const json& b) {
        return b.is_object() && string_at(b, "type") == "tool_use";
      });
    json kept = json::array();
    for (json& block : content)
      if (!unsigned_thinking(block)) kept.push_back(std::move(block));
    found |= kept.size() != content.size();
    content = std::move(kept);
  }
  if (!found) return std::nullopt;
  // A turn that held only such thinking (a chat replica cut off while reasoning) goes: Anthropic
  // refuses empty content, and joins the turns around it.
  json turns = json::array();
  for (json& m : messages)
    if (!(m.is_object() && string_at(m, "role") == "assistant" &&
          member(m, "content").is_array() && m["content"].empty()))
      turns.push_back(std::move(m));
  messages = std::move(turns);
  if (last_began_with_one) request.erase("thinking");
  return dump_json(request);
}

// A Messages request; `counting`: a count_tokens request (no max_tokens, no stream).
Result<MessagesRequest> parse_messages(std::string_view body, bool counting) {
  auto parsed = parse_request_object(body);
  if (!parsed) return parsed.error();
  json& j = *parsed;
  MessagesRequest r;
  if (!j.contains("model") || !j["model"].is_string() || j["model"].get<std::string>().empty())
    return invalid_request("model is required and must be a non-empty string");
  r.model = j["model"].get<std::string>();
  if (r.model.size() > kMaxModelBytes)  // as the chat parser behind it says
    return invalid_request("model must be at most " + std::to_string(kMaxModelBytes) +
                           " bytes long");
  if (counting) {
    j.erase("max_tokens");
    j.erase("stream");
  } else if (!j.contains("max_tokens")) {
    return invalid_request("max_tokens is required");
  } else if (!j["max_tokens"].is_number_integer() || j["max_tokens"].get<std::int64_t>() < 1 ||
             j["max_tokens"].get<std::int64_t>() > kMaxOutputTokens) {
    return invalid_request("max_tokens must be an integer between 1 and " +
                           std::to_string(kMaxOutputTokens));
  }
  if (j.contains("stream") && !j["stream"].is_boolean())
    return invalid_request("stream must be a boolean");
  r.stream = j.value("stream", false);

  json messages = json::array();
  if (auto s = j.find("system"); s != j.end() && !s->is_null()) {
    auto text = tool_result_text(*s, "system");
    if (!text) return invalid_request("system must be a string or an array of text blocks");
    messages.push_back({{"role", "system"}, {"content", *text}});
  }
  auto m = j.find("messages");
  if (m == j.end() || !m->is_array() || m->empty())
    return invalid_request("messages is required and must be a non-empty array");
  for (std::size_t i = 0; i < m->size(); ++i)
    if (auto e = add_message((*m)[i], i, messages, r.native_only)) return *e;
  // Blocks that carry nothing a model reads (an empty thinking block, a block of an unknown type)
  // are left out; a request left with no message at all is refused here, as chat's parser would.
  if (messages.empty())
    return invalid_request("messages: no message has content to send (every block is empty or of an unknown type)");
  if (body.find("\"thinking\"") != std::string_view::npos)  // cheap skip of the common case
    r.native_body = without_unsigned_thinking(j);
  if (auto t = j.find("thinking"); t != j.end() && !t->is_null()) {
    if (!t->is_object() || !member(*t, "type").is_string())
      return invalid_request("thinking must be an object with a string type");
    r.thinking = string_at(*t, "type") != "disabled";
    if (r.thinking) r.reasoning_effort = effort_of_budget(member(*t, "budget_tokens"));
    // Passed through to Anthropic replicas; chat completions have no thinking budget, so a chat
    // replica answers without extended thinking (a hint, unlike a document or a tool).
  }

  if (const json& last = messages.back(); string_at(last, "role") == "assistant" &&
                                          member(last, "content").is_string() &&
                                          !last.contains("tool_calls"))
    r.prefill = true;
  json chat = {{"model", r.model}, {"messages", std::move(messages)}};
  if (!counting) chat["max_tokens"] = j["max_tokens"];
  if (r.stream) {
    chat["stream"] = true;
    chat["stream_options"] = {{"include_usage", true}};
  }
  // Anthropic's ranges, narrower than chat's (temperature [0, 2]): a value outside is refused
  // here as Anthropic refuses it, not forwarded to a chat model that takes it.
  for (const char* k : {"temperature", "top_p"}) {
    if (!j.contains(k) || j[k].is_null()) continue;
    if (!j[k].is_number() || !(j[k].get<double>() >= 0 && j[k].get<double>() <= 1))
      return invalid_request(std::string(k) + " must be a number between 0 and 1");
    chat[k] = j[k];
  }
  // top_k is not sent to chat models (chat completions have none), but checked as Anthropic does.
  if (const json& k = member(j, "top_k"); !k.is_null() && !k.is_number_unsigned() &&
                                          !(k.is_number_integer() && k.get<std::int64_t>() >= 0))
    return invalid_request("top_k must be a non-negative integer");
  if (auto s = j.find("stop_sequences"); s != j.end() && !s->is_null()) {
    if (!s->is_array()) return invalid_request("stop_sequences must be an array of strings");
    for (const auto& x : *s)
      if (!x.is_string()) return invalid_request("stop_sequences must be an array of strings");
    if (!s->empty()) chat["stop"] = *s;
    r.stop_sequences = s->get<std::vector<std::string>>();
  }
  if (auto t = j.find("tools"); t != j.end() && !t->is_null()) {
    if (!t->is_array()) return invalid_request("tools must be an array");
    json tools = json::array();
    for (std::size_t i = 0; i < t->size(); ++i) {
      const json& tool = (*t)[i];
      const std::string tw = "tools[" + std::to_string(i) + "]";
      if (!tool.is_object() || !tool.contains("name") || !tool["name"].is_string())
        return invalid_request(tw + " needs a string name");
      if (tool.contains("type") && tool["type"].is_string() && tool["type"] != "custom") {
        only_natively(r.native_only, tw + ": server tool of type " + tool["type"].dump());
        continue;
      }
      json fn = {{"name", tool["name"]}};
      if (tool.contains("description")) fn["description"] = tool["description"];
      fn["parameters"] =
          tool.contains("input_schema") ? tool["input_schema"] : json{{"type", "object"}};
      tools.push_back({{"type", "function"}, {"function", std::move(fn)}});
    }
    if (!tools.empty()) chat["tools"] = std::move(tools);
  }
  if (auto c = j.find("tool_choice"); c != j.end() && !c->is_null()) {
    if (!c->is_object() || !c->contains("type") || !(*c)["type"].is_string())
      return invalid_request("tool_choice must be an object with a type");
    const std::string type = (*c)["type"].get<std::string>();
    if (type == "auto") {
      chat["tool_choice"] = "auto";
    } else if (type == "any") {
      chat["tool_choice"] = "required";
    } else if (type == "none") {
      chat["tool_choice"] = "none";
    } else if (type == "tool") {
      if (!c->contains("name") || !(*c)["name"].is_string())
        return invalid_request("tool_choice of type tool needs a name");
      chat["tool_choice"] = {{"type", "function"}, {"function", {{"name", (*c)["name"]}}}};
    } else {
      return invalid_request("tool_choice.type must be auto, any, tool or none");
    }
    const json& serial = member(*c, "disable_parallel_tool_use");
    if (!serial.is_null() && !serial.is_boolean())
      return invalid_request("tool_choice.disable_parallel_tool_use must be a boolean");
    if (serial.is_boolean() && serial.get<bool>() && chat.contains("tools"))
      chat["parallel_tool_calls"] = false;
  }
  // Structured outputs and effort (api/messages_output.h).
  auto output = messages_output(j);
  if (!output) return output.error();
  if (!output->response_format.is_null()) chat["response_format"] = output->response_format;
  if (!output->reasoning_effort.empty()) r.reasoning_effort = output->reasoning_effort;
  if (!output->native_only.empty())
    only_natively(r.native_only, output->native_only + ": an output setting chat has none of");
  // The MCP connector and a code-execution container: Anthropic runs them; a chat model cannot.
  for (const char* k : {"mcp_servers", "container"})
    if (!member(j, k).is_null()) only_natively(r.native_only, std::string(k));
  r.chat_body = dump_json(chat);
  return r;
}

}  // namespace

Result<MessagesRequest> parse_messages_request(std::string_view body) {
  return parse_messages(body, false);
}

Result<MessagesRequest> parse_count_tokens_request(std::string_view body) {
  return parse_messages(body, true);
}

std::optional<Usage> anthropic_usage(std::string_view message_json) {
  json j = parse_json(message_json);
  const json& u = member(j, "usage");
  if (!u.is_object()) return std::nullopt;
  Usage out;
  out.prompt_tokens = anthropic_prompt_tokens(u).value_or(0);
  out.completion_tokens = std::max<std::int64_t>(int_at(u, "output_tokens").value_or(0), 0);
  out.cached_prompt_tokens =
      std::max<std::int64_t>(int_at(u, "cache_read_input_tokens").value_or(0), 0);
  out.cache_write_prompt_tokens =
      std::max<std::int64_t>(int_at(u, "cache_creation_input_tokens").value_or(0), 0);
  return out;
}

void MessagesStreamMeter::on_event(std::string_view data) {
  if (done_) return;  // the answer ended: what a server sends after it is not read
  json j = parse_json(data);
  if (j.is_discarded() || !j.is_object()) {
    // ([DONE], chat's end, which some servers add to this API's streams too, is not one.)
    if (data.find_first_not_of(" \t\r\n") != std::string_view::npos && data != "[DONE]")
      bad_event_ = true;
    return;
  }
  if (!j.contains("type") || !j["type"].is_string()) return;
  const std::string& type = j["type"].get_ref<const std::string&>();
  auto read = [this](const json& usage) {
    if (auto n = anthropic_prompt_tokens(usage)) input_ = n;
    if (auto n = int_at(usage, "cache_read_input_tokens")) cached_ = std::max<std::int64_t>(*n, 0);
    if (auto n = int_at(usage, "cache_creation_input_tokens"))
      written_ = std::max<std::int64_t>(*n, 0);
    if (auto n = int_at(usage, "output_tokens")) output_ = std::max<std::int64_t>(*n, 0);
  };
  if (type == "message_start") {
    read(member(member(j, "message"), "usage"));
  } else if (type == "message_delta") {
    read(member(j, "usage"));
  } else if (type == "content_block_delta") {
    ++chunks_;
  } else if (type == "message_stop") {
    done_ = true;
  } else if (type == "error") {
    error_ = true;
  }
}

std::optional<Usage> MessagesStreamMeter::reported_usage() const {
  if (!input_ && !output_) return std::nullopt;
  return Usage{input_.value_or(0), output_.value_or(0), cached_, written_};
}

std::unique_ptr<AnswerTranslator> messages_translator(const MessagesRequest* request) {
  return std::make_unique<MessagesTranslator>(request);
}

}  // namespace switchboard::api
