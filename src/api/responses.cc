#include "api/responses.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>

#include "api/chat_reading.h"
#include "api/chat_request.h"
#include "api/errors.h"
#include "api/json_util.h"
#include "api/random_id.h"
#include "api/responses_references.h"
#include "api/tool_call_sequencer.h"
#include "core/wall_clock.h"

namespace switchboard::api {

using nlohmann::json;

namespace {

// Keeps the first reason a request can only be passed through natively.
void only_natively(std::string& native_only, std::string why) {
  if (native_only.empty())
    native_only = std::move(why) + ": passed only to replicas with api: responses";
}

bool is_text_part(const std::string& type) {
  return type == "input_text" || type == "output_text" || type == "text";
}

// A message item's content: a string, or input_text / output_text parts joined by '\n'. Other
// parts (files, audio, refusals) are left out, noted in `native_only`.
Result<std::string> content_text(const json& content, const std::string& where,
                                 std::string& native_only) {
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array())
    return invalid_request(where + ".content must be a string or an array of parts");
  std::string out;
  for (std::size_t i = 0; i < content.size(); ++i) {
    const json& p = content[i];
    const std::string pw = where + ".content[" + std::to_string(i) + "]";
    if (!p.is_object() || !p.contains("type") || !p["type"].is_string())
      return invalid_request(pw + " must be an object with a string type");
    const std::string type = p["type"].get<std::string>();
    if (type == "refusal" && member(p, "refusal").is_string()) {  // an echoed assistant refusal
      if (!out.empty()) out += '\n';
      out += p["refusal"].get<std::string>();
      continue;
    }
    if (!is_text_part(type)) {
      only_natively(native_only, pw + ": parts of type \"" + type + "\"");
      continue;
    }
    if (!p.contains("text") || !p["text"].is_string())
      return invalid_request(pw + ".text must be a string");
    if (!out.empty()) out += '\n';
    out += p["text"].get<std::string>();
  }
  return out;
}

// A user message's content as chat parts when it holds an input_image or an inline input_file
// (input_text → text, input_image with an image_url → image_url with its detail, input_file with
// file_data → a file part); an empty array when it holds neither (the text path then reads it).
// An input_image without image_url (a file_id), an input_file by id or URL and parts of other
// types are left out, noted in `native_only`.
Result<json> image_parts(const json& content, const std::string& where, std::string& native_only) {
  json parts = json::array();
  if (!content.is_array()) return parts;
  bool image = false;
  for (std::size_t i = 0; i < content.size(); ++i) {
    const json& p = content[i];
    const std::string type = string_at(p, "type");
    if (type == "input_image") {
      const std::string url = string_at(p, "image_url");
      if (url.empty()) {
        only_natively(native_only, where + ".content[" + std::to_string(i) +
                                       "]: an input_image without image_url (a file_id)");
        continue;
      }
      json image_url = {{"url", url}};
      if (!string_at(p, "detail").empty()) image_url["detail"] = string_at(p, "detail");
      parts.push_back({{"type", "image_url"}, {"image_url", std::move(image_url)}});
      image = true;
    } else if (is_text_part(type)) {
      if (!member(p, "text").is_string())
        return invalid_request(where + ".content[" + std::to_string(i) + "].text must be a string");
      parts.push_back({{"type", "text"}, {"text", p["text"]}});
    } else if (type == "input_file" && string_at(p, "file_data").starts_with("data:")) {
      // A file given inline (a PDF): a chat file part. By id or URL: only natively.
      json file = {{"file_data", p["file_data"]}};
      file["filename"] = string_at(p, "filename").empty() ? "document.pdf" : string_at(p, "filename");
      parts.push_back({{"type", "file"}, {"file", std::move(file)}});
      image = true;
    } else {
      only_natively(native_only, where + ".content[" + std::to_string(i) + "]: parts of type \"" +
                                     type + "\"");
    }
  }
  return image ? parts : json::array();
}

// An item_reference the gateway did not resolve (api/responses_references.h: it replaces those
// naming items of responses it stored). One to a reasoning item is left out, as reasoning items
// are; one to an item the gateway made (a translated answer's) names nothing any replica knows: a
// 400 saying why; another (a passed-through answer's, the replica's own id) only natively.
std::optional<Error> add_item_reference(const json& item, const std::string& where,
                                        std::string& native_only) {
  if (!member(item, "id").is_string() || item["id"].get_ref<const std::string&>().empty())
    return invalid_request(where + " (item_reference) needs a non-empty string id");
  const std::string& id = item["id"].get_ref<const std::string&>();
  if (id.starts_with("rs_")) return std::nullopt;  // chat completions take no reasoning back
  if (minted_item_response(id))
    return invalid_request(
        where + ": item_reference '" + id +
        "' names no item of a response this gateway stored for this caller. Responses are "
        "kept only with apis.responses.store: true and without store: false, for the API key "
        "that made them, until they expire (a response too large to keep whole is not "
        "referable). Send the item itself instead (the AI SDK's OpenAI provider does with "
        "providerOptions.openai.store: false), or continue with previous_response_id");
  only_natively(native_only, where + ": item_reference '" + id +
                                 "' (an item this gateway did not store: its replica's own)");
  return std::nullopt;
}

std::optional<Error> add_input_item(const json& item, std::size_t i, json& messages,
                                    std::string& native_only) {
  const std::string where = "input[" + std::to_string(i) + "]";
  if (!item.is_object()) return invalid_request(where + " must be an object");
  const std::string type = item.contains("type") && item["type"].is_string()
                               ? item["type"].get<std::string>()
                               : std::string("message");
  if (type == "message") {
    if (!item.contains("role") || !item["role"].is_string())
      return invalid_request(where + ".role must be a string");
    std::string role = item["role"].get<std::string>();
    if (role == "developer") role = "system";
    if (role != "user" && role != "assistant" && role != "system")
      return invalid_request(where + ".role must be user, assistant, system or developer");
    if (!item.contains("content")) return invalid_request(where + ".content is required");
    // A user message with images becomes chat content parts (text and image_url, in order).
    if (role == "user") {
      auto parts = image_parts(item["content"], where, native_only);
      if (!parts) return parts.error();
      if (!parts->empty()) {
        messages.push_back({{"role", role}, {"content", std::move(*parts)}});
        return std::nullopt;
      }
    }
    auto text = content_text(item["content"], where, native_only);
    if (!text) return text.error();
    // Assistant text right after tool calls is the same chat turn (a chat answer of text, calls
    // and more text was given as three items): one assistant message with both, as chat
    // completions need (a second assistant message between the calls and their results is
    // refused by OpenAI and by strict chat templates).
    if (role == "assistant" && !messages.empty() && messages.back()["role"] == "assistant" &&
        messages.back().contains("tool_calls")) {
      json& turn = messages.back();
      std::string joined = turn["content"].is_string() ? turn["content"].get<std::string>() : "";
      // Joined with a blank line unless white space already separates them (two sentences the
      // client wrote as two items must not run together).
      if (!joined.empty() && !text->empty() && !std::isspace(static_cast<unsigned char>(joined.back())) &&
          !std::isspace(static_cast<unsigned char>(text->front())))
        joined += "\n\n";
      turn["content"] = joined + *text;
      return std::nullopt;
    }
    messages.push_back({{"role", role}, {"content", *text}});
    return std::nullopt;
  }
  if (type == "function_call") {
    for (const char* k : {"call_id", "name", "arguments"})
      if (!item.contains(k) || !item[k].is_string())
        return invalid_request(where + " (function_call) needs a string " + k);
    json call = {{"id", item["call_id"]},
                 {"type", "function"},
                 {"function", {{"name", item["name"]}, {"arguments", item["arguments"]}}}};
    // Calls that follow one another, or the assistant's text, form one assistant turn.
    if (!messages.empty() && messages.back()["role"] == "assistant" &&
        messages.back().contains("tool_calls")) {
      messages.back()["tool_calls"].push_back(std::move(call));
    } else if (!messages.empty() && messages.back()["role"] == "assistant" &&
               messages.back()["content"].is_string()) {
      messages.back()["tool_calls"] = json::array({std::move(call)});
    } else {
      messages.push_back(
          {{"role", "assistant"}, {"content", nullptr}, {"tool_calls", json::array({call})}});
    }
    return std::nullopt;
  }
  if (type == "function_call_output") {
    if (!item.contains("call_id") || !item["call_id"].is_string())
      return invalid_request(where + " (function_call_output) needs a string call_id");
    if (!item.contains("output"))
      return invalid_request(where + " (function_call_output) needs an output");
    std::string output;
    if (item["output"].is_string()) {
      output = item["output"].get<std::string>();
    } else {
      auto text = content_text(item["output"], where + ".output", native_only);
      if (!text) return text.error();
      output = *text;
    }
    messages.push_back({{"role", "tool"}, {"tool_call_id", item["call_id"]}, {"content", output}});
    return std::nullopt;
  }
  if (type == "reasoning") return std::nullopt;  // chat completions take no reasoning back
  if (type == "item_reference") return add_item_reference(item, where, native_only);
  only_natively(native_only, where + ": input items of type \"" + type + "\"");
  return std::nullopt;
}

// The suffix of a new response's ids (resp_…, msg_…, fc_…): random (api/random_id.h).
std::string new_response_suffix() { return random_hex_id(); }

json usage_json(const std::optional<TokenCounts>& u) {
  if (!u) return nullptr;
  return {{"input_tokens", u->prompt},
          {"input_tokens_details", {{"cached_tokens", std::min(u->cached, u->prompt)}}},
          {"output_tokens", u->completion},
          {"output_tokens_details", {{"reasoning_tokens", std::min(u->reasoning, u->completion)}}},
          {"total_tokens", u->prompt + u->completion}};
}

json reasoning_part(const std::string& text) {
  return {{"type", "reasoning_text"}, {"text", text}};
}

// A reasoning item: the replica's reasoning as its content (no summary: none was written).
json reasoning_item(const std::string& id, const std::string& text) {
  return {{"type", "reasoning"},
          {"id", id},
          {"summary", json::array()},
          {"content", text.empty() ? json::array() : json::array({reasoning_part(text)})}};
}

json refusal_part(const std::string& refusal) {
  return {{"type", "refusal"}, {"refusal", refusal}};
}

json text_part(const std::string& text, json logprobs = json::array()) {
  return {{"type", "output_text"},
          {"text", text},
          {"annotations", json::array()},
          {"logprobs", std::move(logprobs)}};
}

// Chat's token logprobs entries (JSON array text, api::ChatAnswer::logprobs) as a Responses
// output_text's `logprobs`: the same {token, logprob, bytes, top_logprobs} objects.
json logprob_entries(const std::string& chat_logprobs) {
  json out = json::array();
  if (chat_logprobs.empty()) return out;
  json entries = parse_json(chat_logprobs);
  if (!entries.is_array()) return out;
  for (auto& e : entries)
    if (e.is_object()) out.push_back(std::move(e));
  return out;
}

// A chat finish reason that leaves a Responses answer incomplete: the token limit, a content filter.
bool cut_short(const std::string& finish_reason) {
  return finish_reason == "length" || finish_reason == "content_filter";
}

class ResponsesTranslator final : public AnswerTranslator {
 public:
  explicit ResponsesTranslator(const ResponsesRequest* r) {
    if (r) {
      model_ = r->model;
      instructions_ = r->instructions;
      max_output_tokens_ = r->max_output_tokens;
      logprobs_ = r->logprobs;
      echoed_ = json::parse(r->echoed, nullptr, false);
      if (!echoed_.is_object()) echoed_ = json::object();
    }
  }

  void set_conversation(bool stored, std::string_view previous_id) override {
    store_ = stored;
    previous_id_ = std::string(previous_id);
  }

  Result<std::string> whole(std::string_view body) override {
    auto a = read_chat_completion(body);
    if (!a) return a.error();
    const std::string suffix = new_response_suffix();
    json output = json::array();
    if (!a->reasoning.empty()) output.push_back(reasoning_item("rs_" + suffix, a->reasoning));
    if (!a->content.empty() || a->tool_calls.empty()) {
      json parts = json::array();
      if (a->content.empty() && !a->refusal.empty())  // a refusal: the message's one part
        parts.push_back(refusal_part(a->refusal));
      else
        parts.push_back(
            text_part(a->content, logprobs_ ? logprob_entries(a->logprobs) : json::array()));
      output.push_back({{"type", "message"},
                        {"id", "msg_" + suffix},
                        {"status", "completed"},
                        {"role", "assistant"},
                        {"content", std::move(parts)}});
    }
    for (const auto& tc : a->tool_calls)
      output.push_back({{"type", "function_call"},
                        {"id", "fc_" + suffix + "_" + std::to_string(tc.index)},
                        {"call_id", tc.id.empty() ? "call_" + suffix + "_" + std::to_string(tc.index)
                                                  : tc.id},
                        {"name", tc.name},
                        {"arguments", tc.arguments},
                        {"status", "completed"}});
    // The item the token limit or a content filter cut short (the last) is incomplete.
    if (cut_short(a->finish_reason) && !output.empty()) output.back()["status"] = "incomplete";
    json r = skeleton("resp_" + suffix, a->created ? a->created : unix_seconds(), a->model);
    set_final(r, a->finish_reason, std::move(output), a->usage);
    return dump_json(r);
  }

  std::string event(std::string_view data) override {
    if (finished_) return "";
    auto c = read_chat_chunk(data);
    if (!c) {
      if (data.find_first_not_of(" \t\r\n") == std::string_view::npos) return "";  // says nothing
      // Not a chunk: what it held is lost, so the answer is not passed off as complete.
      broken_ = make_error(ErrorKind::kUpstreamError, "upstream_bad_event",
                           "the upstream sent an event that is not a JSON object: " +
                               quoted_prefix(data, 120));
      return error_event(*broken_);
    }
    if (c->error)
      return error_event(make_error(ErrorKind::kUpstreamError, "upstream_error", *c->error));
    if (c->done) return finish();
    std::string out = start(*c);
    if (!c->reasoning.empty()) out += reasoning_delta(c->reasoning);
    if (!c->content.empty() && tool_open_) {
      // Text while a function call is open (its arguments may go on in the next chunk): held, and
      // given as a message of its own once the call is done (held_text()) — opening a message
      // here cut the call in two items, the second nameless.
      held_text_ += c->content;
      if (logprobs_)
        for (auto& e : logprob_entries(c->logprobs)) held_logprobs_.push_back(std::move(e));
    } else if (!c->content.empty()) {
      out += open_message(false);
      text_ += c->content;
      json logprobs = logprobs_ ? logprob_entries(c->logprobs) : json::array();
      for (const auto& e : logprobs) text_logprobs_.push_back(e);
      out += emit("response.output_text.delta", {{"item_id", message_id_},
                                                 {"output_index", message_index_},
                                                 {"content_index", 0},
                                                 {"delta", c->content},
                                                 {"logprobs", std::move(logprobs)}});
    } else if (logprobs_ && message_open_) {
      // Token logprobs on a chunk without text (a server may send them apart) still count for the
      // open message's done event and final part.
      for (auto& e : logprob_entries(c->logprobs)) text_logprobs_.push_back(std::move(e));
    }
    if (!c->refusal.empty()) {  // a message of its own whose part is the refusal
      out += held_text();
      out += open_message(true);
      text_ += c->refusal;
      out += emit("response.refusal.delta", {{"item_id", message_id_},
                                             {"output_index", message_index_},
                                             {"content_index", 0},
                                             {"delta", c->refusal}});
    }
    for (const auto& tc : tool_calls_.feed(c->tool_calls)) out += tool_part(tc);
    if (!c->finish_reason.empty()) finish_reason_ = c->finish_reason;
    if (c->usage) usage_ = c->usage;
    return out;
  }

  std::string finish() override {
    if (finished_) return "";
    std::string out = start(ChatChunk{});
    for (const auto& tc : tool_calls_.flush()) out += tool_part(tc);  // calls held to the end
    // What is open when the answer hit its token limit or a content filter was cut short: that
    // item is incomplete.
    const bool cut = cut_short(finish_reason_);
    out += close_reasoning();
    out += close_message(cut);
    out += close_tool(cut && held_text_.empty());
    out += held_text();
    out += close_message(cut);
    finished_ = true;
    json r = skeleton(id_, created_, chat_model_);
    // The items closed so far, kept serialised, replace a placeholder only this stream knows (its
    // random id is in it: no value a client sends, such as metadata, can hold it).
    const std::string placeholder = "sb-output-" + suffix_;
    set_final(r, finish_reason_, json(placeholder), usage_);
    const char* type = r["status"] == "incomplete" ? "response.incomplete" : "response.completed";
    std::string done = dump_json({{"response", std::move(r)},
                                  {"type", type},
                                  {"sequence_number", sequence_++}});
    const std::string marked = "\"output\":\"" + placeholder + "\"";
    if (const auto at = done.find(marked); at != std::string::npos)
      done.replace(at, marked.size(), "\"output\":[" + closed_output_ + "]");
    out += named_event(type, done);
    closed_output_.clear();
    closed_output_.shrink_to_fit();
    return out;
  }

  std::string error_body(const Error& e) const override { return error_json(e, false); }
  const Error* stream_failure() const override { return broken_ ? &*broken_ : nullptr; }
  std::string error_event(const Error& e) override {
    if (finished_) return "";  // the stream already ended (completed, or with an error)
    finished_ = true;
    return named_event("error", dump_json({{"type", "error"},
                                           {"code", e.code},
                                           {"message", e.message},
                                           {"param", nullptr},
                                           {"sequence_number", sequence_++}}));
  }
  std::string upstream_error_body(unsigned status, std::string_view body) const override {
    return openai_upstream_error_body(status, body);
  }

 private:
  json skeleton(const std::string& id, std::int64_t created,
                const std::string& upstream_model) const {
    json r = {{"id", id},
            {"object", "response"},
            {"created_at", created},
            {"status", "in_progress"},
            {"error", nullptr},
            {"incomplete_details", nullptr},
            {"instructions", instructions_.empty() ? json(nullptr) : json(instructions_)},
            {"max_output_tokens", max_output_tokens_ ? json(*max_output_tokens_) : json(nullptr)},
            {"model", model_.empty() ? upstream_model : model_},
            {"output", json::array()},
            {"parallel_tool_calls", true},
            {"previous_response_id", previous_id_.empty() ? json(nullptr) : json(previous_id_)},
            {"store", store_},
            {"text", {{"format", {{"type", "text"}}}}},
            {"tool_choice", "auto"},
            {"tools", json::array()},
            {"usage", nullptr},
            {"metadata", json::object()}};
    for (const auto& [key, value] : echoed_.items()) r[key] = value;  // what the client set
    return r;
  }
  static void set_final(json& r, const std::string& finish, json output,
                        const std::optional<TokenCounts>& usage) {
    if (cut_short(finish)) {  // OpenAI's two reasons for an incomplete response
      r["status"] = "incomplete";
      r["incomplete_details"] = {
          {"reason", finish == "length" ? "max_output_tokens" : "content_filter"}};
    } else {
      r["status"] = "completed";
    }
    r["output"] = std::move(output);
    r["usage"] = usage_json(usage);
  }
  std::string emit(const char* type, json fields) {
    fields["type"] = type;
    fields["sequence_number"] = sequence_++;
    return named_event(type, dump_json(fields));
  }
  std::string start(const ChatChunk& c) {
    if (started_) return "";
    started_ = true;
    suffix_ = new_response_suffix();
    id_ = "resp_" + suffix_;
    created_ = c.created ? c.created : unix_seconds();
    chat_model_ = c.model;
    json r = skeleton(id_, created_, chat_model_);
    std::string out = emit("response.created", {{"response", r}});
    out += emit("response.in_progress", {{"response", std::move(r)}});
    return out;
  }
  std::string tool_item_id() const { return "fc_" + suffix_ + "_" + std::to_string(tool_index_); }
  // A piece of the replica's reasoning: into the open reasoning item, or a new one (numbered
  // after the first, when the replica reasons again after answering).
  std::string reasoning_delta(const std::string& piece) {
    std::string out;
    if (!reasoning_open_) {
      out += held_text();
      out += close_message();
      out += close_tool();
      reasoning_open_ = true;
      reasoning_index_ = items_++;
      reasoning_id_ = "rs_" + suffix_ + (reasonings_ ? "_" + std::to_string(reasonings_) : "");
      ++reasonings_;
      reasoning_text_.clear();
      out += emit("response.output_item.added",
                  {{"output_index", reasoning_index_}, {"item", reasoning_item(reasoning_id_, "")}});
      out += emit("response.content_part.added", {{"item_id", reasoning_id_},
                                                  {"output_index", reasoning_index_},
                                                  {"content_index", 0},
                                                  {"part", reasoning_part("")}});
    }
    reasoning_text_ += piece;
    out += emit("response.reasoning_text.delta", {{"item_id", reasoning_id_},
                                                  {"output_index", reasoning_index_},
                                                  {"content_index", 0},
                                                  {"delta", piece}});
    return out;
  }
  std::string close_reasoning() {
    if (!reasoning_open_) return "";
    reasoning_open_ = false;
    std::string out = emit("response.reasoning_text.done", {{"item_id", reasoning_id_},
                                                            {"output_index", reasoning_index_},
                                                            {"content_index", 0},
                                                            {"text", reasoning_text_}});
    out += emit("response.content_part.done", {{"item_id", reasoning_id_},
                                               {"output_index", reasoning_index_},
                                               {"content_index", 0},
                                               {"part", reasoning_part(reasoning_text_)}});
    json item = reasoning_item(reasoning_id_, reasoning_text_);
    out += emit("response.output_item.done", {{"output_index", reasoning_index_}, {"item", item}});
    keep(item);
    return out;
  }
  // Opens a message item whose one part is output text, or a refusal (`refusal`), unless one of
  // that kind is open; a message after another item (reasoning, a tool call, the other kind of
  // part) is a new item, numbered after the first, with its own text.
  std::string open_message(bool refusal) {
    std::string out;
    if (message_open_ && refusal_part_ == refusal) return out;
    out += close_reasoning();
    out += close_message();
    out += close_tool();
    message_open_ = true;
    refusal_part_ = refusal;
    message_index_ = items_++;
    message_id_ = "msg_" + suffix_ + (messages_ ? "_" + std::to_string(messages_) : "");
    ++messages_;
    text_.clear();
    text_logprobs_ = json::array();
    out += emit("response.output_item.added", {{"output_index", message_index_},
                                               {"item",
                                                {{"type", "message"},
                                                 {"id", message_id_},
                                                 {"status", "in_progress"},
                                                 {"role", "assistant"},
                                                 {"content", json::array()}}}});
    out += emit("response.content_part.added",
                {{"item_id", message_id_},
                 {"output_index", message_index_},
                 {"content_index", 0},
                 {"part", refusal ? refusal_part("") : text_part("")}});
    return out;
  }
  std::string close_message(bool cut = false) {
    if (!message_open_) return "";
    message_open_ = false;
    const std::string& item_id = message_id_;
    std::string out =
        refusal_part_ ? emit("response.refusal.done", {{"item_id", item_id},
                                                       {"output_index", message_index_},
                                                       {"content_index", 0},
                                                       {"refusal", text_}})
                      : emit("response.output_text.done", {{"item_id", item_id},
                                                           {"output_index", message_index_},
                                                           {"content_index", 0},
                                                           {"text", text_},
                                                           {"logprobs", text_logprobs_}});
    const json part = refusal_part_ ? refusal_part(text_) : text_part(text_, text_logprobs_);
    out += emit("response.content_part.done", {{"item_id", item_id},
                                               {"output_index", message_index_},
                                               {"content_index", 0},
                                               {"part", part}});
    const json item = {{"type", "message"},
                       {"id", message_id_},
                       {"status", cut ? "incomplete" : "completed"},
                       {"role", "assistant"},
                       {"content", json::array({part})}};
    out += emit("response.output_item.done", {{"output_index", message_index_}, {"item", item}});
    keep(item);
    return out;
  }
  // One tool call's piece, in ToolCallSequencer's order: a new index closes what is open and adds
  // the call's function_call item.
  std::string tool_part(const ToolCallPart& tc) {
    std::string out;
    if (!tool_open_ || tc.index != tool_index_) {
      out += held_text();
      out += close_reasoning();
      out += close_message();
      out += close_tool();
      tool_open_ = true;
      tool_index_ = tc.index;
      tool_output_index_ = items_++;
      tool_args_.clear();
      // A call the upstream gave no id gets one: the client's function_call_output must name it.
      tool_call_id_ = tc.id.empty() ? "call_" + suffix_ + "_" + std::to_string(tc.index) : tc.id;
      tool_name_ = tc.name;
      out += emit("response.output_item.added", {{"output_index", tool_output_index_},
                                                 {"item", tool_item("", "in_progress")}});
    }
    if (!tc.arguments.empty()) {
      tool_args_ += tc.arguments;
      out += emit("response.function_call_arguments.delta", {{"item_id", tool_item_id()},
                                                             {"output_index", tool_output_index_},
                                                             {"delta", tc.arguments}});
    }
    return out;
  }
  // The text held while a function call was open (event()): the call is closed and the text is
  // a message item after it (left open: more text joins it). Held no longer than the stream's own
  // bounds allow (max_stream_bytes: the relay ends a longer stream).
  std::string held_text() {
    if (held_text_.empty()) return "";
    std::string out = open_message(false);  // closes the call
    std::string text = std::move(held_text_);
    json logprobs = std::move(held_logprobs_);
    held_text_.clear();
    held_logprobs_ = json::array();
    text_ += text;
    for (const auto& e : logprobs) text_logprobs_.push_back(e);
    out += emit("response.output_text.delta", {{"item_id", message_id_},
                                               {"output_index", message_index_},
                                               {"content_index", 0},
                                               {"delta", std::move(text)},
                                               {"logprobs", std::move(logprobs)}});
    return out;
  }
  std::string close_tool(bool cut = false) {
    if (!tool_open_) return "";
    tool_open_ = false;
    std::string out =
        emit("response.function_call_arguments.done", {{"item_id", tool_item_id()},
                                                       {"output_index", tool_output_index_},
                                                       {"name", tool_name_},
                                                       {"arguments", tool_args_}});
    const json item = tool_item(tool_args_, cut ? "incomplete" : "completed");
    out +=
        emit("response.output_item.done", {{"output_index", tool_output_index_}, {"item", item}});
    keep(item);
    return out;
  }
  json tool_item(const std::string& arguments, const char* status) const {
    return {{"type", "function_call"},
            {"id", tool_item_id()},
            {"call_id", tool_call_id_},
            {"name", tool_name_},
            {"arguments", arguments},
            {"status", status}};
  }
  // A closed item, kept serialised for the final response (a JSON tree costs several times its
  // text: a replica opening endless tool calls held ~146 MB per stream as trees).
  void keep(const json& item) {
    if (!closed_output_.empty()) closed_output_ += ',';
    closed_output_ += dump_json(item);
  }

  // From the request.
  std::string model_, instructions_;
  std::optional<std::int64_t> max_output_tokens_;
  json echoed_ = json::object();  // ResponsesRequest::echoed
  // From the gateway (set_conversation).
  bool store_ = false;
  std::string previous_id_;
  // The stream's state.
  bool started_ = false, finished_ = false;
  std::optional<Error> broken_;  // an event that was no chunk ended it (stream_failure())
  std::int64_t sequence_ = 0;
  std::string suffix_, id_, chat_model_;
  std::int64_t created_ = 0;
  std::size_t items_ = 0;       // output items opened so far
  std::string closed_output_;  // the closed ones, serialised and comma-separated
  bool reasoning_open_ = false;
  std::size_t reasoning_index_ = 0, reasonings_ = 0;
  std::string reasoning_id_, reasoning_text_;
  bool message_open_ = false;
  bool refusal_part_ = false;  // the open message's part is a refusal, not output text
  std::size_t message_index_ = 0, messages_ = 0;
  std::string message_id_;
  std::string text_;
  bool logprobs_ = false;               // the client asked for them (ResponsesRequest::logprobs)
  json text_logprobs_ = json::array();  // the open message's token logprobs so far
  bool tool_open_ = false;
  std::size_t tool_index_ = 0, tool_output_index_ = 0;
  ToolCallSequencer tool_calls_;
  std::string tool_args_, tool_call_id_, tool_name_;
  std::string held_text_;                // text that came while a call was open (held_text())
  json held_logprobs_ = json::array();  // its token logprobs
  std::string finish_reason_;
  std::optional<TokenCounts> usage_;
};

// `include` (an array of strings: "message.output_text.logprobs" asks for the answer's token
// logprobs; the other values are accepted and ignored here) and `top_logprobs` (0-20 alternatives
// per token; 1 or more asks for the logprobs too) as chat's logprobs / top_logprobs.
std::optional<Error> parse_logprobs_request(const json& j, ResponsesRequest& r, json& chat) {
  if (auto inc = j.find("include"); inc != j.end() && !inc->is_null()) {
    if (!inc->is_array()) return invalid_request("include must be an array of strings");
    for (const auto& v : *inc) {
      if (!v.is_string()) return invalid_request("include must be an array of strings");
      r.logprobs |= v == "message.output_text.logprobs";
    }
  }
  std::int64_t top = 0;
  if (auto t = j.find("top_logprobs"); t != j.end() && !t->is_null()) {
    if (!t->is_number_integer() || t->get<std::int64_t>() < 0 || t->get<std::int64_t>() > 20)
      return invalid_request("top_logprobs must be an integer between 0 and 20");
    top = t->get<std::int64_t>();
    r.logprobs |= top > 0;
  }
  if (r.logprobs) {
    chat["logprobs"] = true;
    if (top > 0) chat["top_logprobs"] = top;
  }
  return std::nullopt;
}

// tool_choice {"type":"allowed_tools","mode":"auto"|"required","tools":[{"type":"function",
// "name"}, ...]} as chat completions' {"type":"allowed_tools","allowed_tools":{"mode","tools":
// [{"type":"function","function":{"name"}}]}}. A tool of another type in the list (a built-in
// one) makes the request native-only (null: no chat tool_choice then).
Result<json> allowed_tools_choice(const json& c, std::string& native_only) {
  const std::string mode = string_at(c, "mode");
  if (mode != "auto" && mode != "required")
    return invalid_request("tool_choice.mode must be auto or required");
  const json& tools = member(c, "tools");
  if (!tools.is_array() || tools.empty())
    return invalid_request("tool_choice.tools must be a non-empty array of tools");
  json chat_tools = json::array();
  for (std::size_t i = 0; i < tools.size(); ++i) {
    const json& t = tools[i];
    const std::string where = "tool_choice.tools[" + std::to_string(i) + "]";
    if (!t.is_object() || !member(t, "type").is_string())
      return invalid_request(where + " must be an object with a string type");
    if (t["type"] != "function") {
      only_natively(native_only, where + ": tools of type " + t["type"].dump());
      return json();
    }
    if (!member(t, "name").is_string())
      return invalid_request(where + " needs a string name");
    chat_tools.push_back({{"type", "function"}, {"function", {{"name", t["name"]}}}});
  }
  return json{{"type", "allowed_tools"},
              {"allowed_tools", {{"mode", mode}, {"tools", std::move(chat_tools)}}}};
}

}  // namespace

Result<ResponsesRequest> parse_responses_request(std::string_view body) {
  auto parsed = parse_request_object(body);
  if (!parsed) return parsed.error();
  json& j = *parsed;
  ResponsesRequest r;
  if (!j.contains("model") || !j["model"].is_string() || j["model"].get<std::string>().empty())
    return invalid_request("model is required and must be a non-empty string");
  r.model = j["model"].get<std::string>();
  if (r.model.size() > kMaxModelBytes)  // as the chat parser behind it says
    return invalid_request("model must be at most " + std::to_string(kMaxModelBytes) +
                           " bytes long");
  if (auto p = j.find("previous_response_id"); p != j.end() && !p->is_null() &&
                                                 (!p->is_string() || p->get_ref<const std::string&>().empty()))
    return invalid_request("previous_response_id must be a non-empty string (a response's id)");
  if (auto p = j.find("previous_response_id"), c = j.find("conversation");
      p != j.end() && !p->is_null() && c != j.end() && !c->is_null())
    return invalid_request("previous_response_id and conversation cannot be used together");
  if (auto s = j.find("store"); s != j.end() && !s->is_null() && !s->is_boolean())
    return invalid_request("store must be a boolean");
  if (auto p = j.find("previous_response_id"); p != j.end() && !p->is_null())
    return make_error(ErrorKind::kBadRequest, "unsupported_parameter",
                      "previous_response_id is not enabled on this gateway (it needs "
                      "apis.responses.store: true): send the whole conversation in input");
  // A conversation kept by the provider (OpenAI's Conversations API): its history is not in the
  // request, so only a replica of that API can answer it (and the cache must not).
  if (auto c = j.find("conversation"); c != j.end() && !c->is_null())
    only_natively(r.native_only, "conversation (history kept by the provider)");
  // A stored prompt template (`prompt`: {id, version, variables}) is filled in by the provider:
  // a chat replica would answer without it.
  if (auto p = j.find("prompt"); p != j.end() && !p->is_null())
    only_natively(r.native_only, "prompt (a prompt template stored by the provider)");
  // max_tool_calls bounds calls to built-in tools, which only a Responses replica runs (tools of
  // other types than function make the request native-only): nothing for chat to carry.
  if (auto m = j.find("max_tool_calls"); m != j.end() && !m->is_null() &&
                                           (!m->is_number_integer() || m->get<std::int64_t>() < 0))
    return invalid_request("max_tool_calls must be a non-negative integer");
  if (j.contains("stream") && !j["stream"].is_null() && !j["stream"].is_boolean())
    return invalid_request("stream must be a boolean");
  r.stream = j.contains("stream") && j["stream"].is_boolean() && j["stream"].get<bool>();

  if (auto re = j.find("reasoning"); re != j.end() && !re->is_null()) {
    if (!re->is_object()) return invalid_request("reasoning must be an object");
    const json& effort = member(*re, "effort");
    if (!effort.is_null() && !effort.is_string())
      return invalid_request("reasoning.effort must be a string");
    r.reasoning_effort = string_at(*re, "effort");
  }

  json messages = json::array();
  if (auto ins = j.find("instructions"); ins != j.end() && !ins->is_null()) {
    if (!ins->is_string()) return invalid_request("instructions must be a string");
    r.instructions = ins->get<std::string>();
    if (!r.instructions.empty())
      messages.push_back({{"role", "system"}, {"content", r.instructions}});
  }
  auto in = j.find("input");
  if (in == j.end() || in->is_null()) return invalid_request("input is required");
  if (in->is_string()) {
    messages.push_back({{"role", "user"}, {"content", *in}});
  } else if (in->is_array()) {
    if (in->empty()) return invalid_request("input must not be empty");
    for (std::size_t i = 0; i < in->size(); ++i)
      if (auto e = add_input_item((*in)[i], i, messages, r.native_only)) return *e;
  } else {
    return invalid_request("input must be a string or an array of items");
  }
  // Items that carry nothing a model reads (an unknown type) are left out; a request left with no
  // message at all is refused here, as chat's parser would (as the Messages front end does).
  if (messages.empty())
    return invalid_request(
        "input: no item has content to send (every item is empty or of an unknown type)");

  json chat = {{"model", r.model}, {"messages", std::move(messages)}};
  if (auto m = j.find("max_output_tokens"); m != j.end() && !m->is_null()) {
    if (!m->is_number_integer() || m->get<std::int64_t>() < 1 ||
        m->get<std::int64_t>() > kMaxOutputTokens)
      return invalid_request("max_output_tokens must be an integer between 1 and " +
                             std::to_string(kMaxOutputTokens));
    r.max_output_tokens = m->get<std::int64_t>();
    chat["max_tokens"] = *r.max_output_tokens;
  }
  if (r.stream) {
    chat["stream"] = true;
    chat["stream_options"] = {{"include_usage", true}};
  }
  for (const char* k : {"temperature", "top_p"}) {
    if (!j.contains(k) || j[k].is_null()) continue;
    if (!j[k].is_number()) return invalid_request(std::string(k) + " must be a number");
    chat[k] = j[k];
  }
  if (auto u = j.find("user"); u != j.end() && u->is_string()) chat["user"] = *u;
  if (auto e = parse_logprobs_request(j, r, chat)) return *e;
  if (auto p = j.find("parallel_tool_calls"); p != j.end() && p->is_boolean())
    chat["parallel_tool_calls"] = *p;
  if (auto t = j.find("tools"); t != j.end() && !t->is_null()) {
    if (!t->is_array()) return invalid_request("tools must be an array");
    json tools = json::array();
    for (std::size_t i = 0; i < t->size(); ++i) {
      const json& tool = (*t)[i];
      const std::string tw = "tools[" + std::to_string(i) + "]";
      if (!tool.is_object() || !member(tool, "type").is_string())
        return invalid_request(tw + " must be an object with a string type");
      if (tool["type"] != "function") {
        only_natively(r.native_only, tw + ": tools of type " + tool["type"].dump());
        continue;
      }
      if (!tool.contains("name") || !tool["name"].is_string())
        return invalid_request(tw + " needs a string name");
      json fn = {{"name", tool["name"]}};
      if (tool.contains("description") && !tool["description"].is_null())
        fn["description"] = tool["description"];
      if (tool.contains("parameters") && !tool["parameters"].is_null())
        fn["parameters"] = tool["parameters"];
      if (tool.contains("strict") && tool["strict"].is_boolean()) fn["strict"] = tool["strict"];
      tools.push_back({{"type", "function"}, {"function", std::move(fn)}});
    }
    if (!tools.empty()) chat["tools"] = std::move(tools);
  }
  if (auto c = j.find("tool_choice"); c != j.end() && !c->is_null()) {
    if (c->is_string()) {
      const std::string v = c->get<std::string>();
      if (v != "auto" && v != "none" && v != "required")
        return invalid_request("tool_choice must be auto, none, required or a function");
      chat["tool_choice"] = v;
    } else if (c->is_object() && string_at(*c, "type") == "function" && c->contains("name") &&
               (*c)["name"].is_string()) {
      chat["tool_choice"] = {{"type", "function"}, {"function", {{"name", (*c)["name"]}}}};
    } else if (c->is_object() && string_at(*c, "type") == "allowed_tools") {
      auto allowed = allowed_tools_choice(*c, r.native_only);
      if (!allowed) return allowed.error();
      if (!allowed->is_null()) chat["tool_choice"] = std::move(*allowed);
    } else if (c->is_object() && member(*c, "type").is_string() && (*c)["type"] != "function") {
      only_natively(r.native_only, "tool_choice of type " + (*c)["type"].dump());
    } else {
      return invalid_request(
          "tool_choice must be auto, none, required or {\"type\":\"function\",\"name\":...}");
    }
  }
  // What the response repeats is checked as OpenAI checks it (a wrong type was accepted and came
  // back as sent, which typed SDKs cannot decode).
  if (auto t = j.find("text"); t != j.end() && !t->is_null()) {
    if (!t->is_object()) return invalid_request("text must be an object");
    if (t->contains("format") && !(*t)["format"].is_object())
      return invalid_request("text.format must be an object");
  }
  if (auto p = j.find("parallel_tool_calls"); p != j.end() && !p->is_null() && !p->is_boolean())
    return invalid_request("parallel_tool_calls must be a boolean");
  if (auto m = j.find("metadata"); m != j.end() && !m->is_null()) {
    if (!m->is_object() || m->size() > 16)
      return invalid_request("metadata must be an object of at most 16 string values");
    for (const auto& [key, value] : m->items())
      if (key.size() > 64 || !value.is_string() || value.get_ref<const std::string&>().size() > 512)
        return invalid_request(
            "metadata must map keys of at most 64 characters to strings of at most 512");
  }
  // text.verbosity: chat completions' `verbosity` (low, medium, high).
  if (auto t = j.find("text"); t != j.end() && t->is_object()) {
    const json& v = member(*t, "verbosity");
    if (!v.is_null() && (!v.is_string() || (v != "low" && v != "medium" && v != "high")))
      return invalid_request("text.verbosity must be low, medium or high");
    if (v.is_string()) chat["verbosity"] = v;
  }
  if (auto t = j.find("text"); t != j.end() && t->is_object() && t->contains("format")) {
    const json& f = (*t)["format"];
    const std::string type = string_at(f, "type");
    if (type == "json_object") {
      chat["response_format"] = {{"type", "json_object"}};
    } else if (type == "json_schema") {
      const std::string name = string_at(f, "name");
      json schema = {{"name", name.empty() ? std::string("response") : name}};
      if (f.contains("schema")) schema["schema"] = f["schema"];
      if (f.contains("strict")) schema["strict"] = f["strict"];
      chat["response_format"] = {{"type", "json_schema"}, {"json_schema", std::move(schema)}};
    } else if (type != "text") {
      return invalid_request("text.format.type must be text, json_object or json_schema");
    }
  }
  r.chat_body = dump_json(chat);
  json echoed = json::object();
  for (const char* k : {"tools", "tool_choice", "text", "metadata", "temperature", "top_p",
                        "parallel_tool_calls", "max_tool_calls"})
    if (auto v = j.find(k); v != j.end() && !v->is_null()) echoed[k] = *v;
  if (echoed.contains("text") && !echoed["text"].contains("format"))  // e.g. only `verbosity`
    echoed["text"]["format"] = {{"type", "text"}};
  r.echoed = dump_json(echoed);
  return r;
}

Result<ResponsesRequest> parse_input_tokens_request(std::string_view body) {
  auto parsed = parse_request_object(body);
  if (!parsed) return parsed.error();
  json& j = *parsed;
  for (const char* k : {"previous_response_id", "conversation"})
    if (j.contains(k) && !j[k].is_null())
      return make_error(ErrorKind::kBadRequest, "unsupported_parameter",
                        std::string(k) +
                            " is not supported when counting tokens here: send the whole "
                            "conversation in input");
  const bool named = j.contains("model") && !j["model"].is_null();
  if (!named) j["model"] = "-";
  if (!j.contains("input") || j["input"].is_null()) j["input"] = "";
  j.erase("stream");
  auto r = parse_responses_request(dump_json(j));
  if (!r) return r.error();
  if (!named) r->model.clear();
  return r;
}

std::unique_ptr<AnswerTranslator> responses_translator(const ResponsesRequest* request) {
  return std::make_unique<ResponsesTranslator>(request);
}

}  // namespace switchboard::api
