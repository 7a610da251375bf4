#include "api/messages_answer.h"

#include <nlohmann/json.hpp>
#include <string>

#include "api/json_util.h"
#include "api/messages.h"

namespace switchboard::api {

using json = nlohmann::json;

namespace {

// stop_reason in chat terms; "" = not a finished text answer.
std::string finish_of(const json& stop_reason) {
  if (!stop_reason.is_string()) return "";
  const auto& s = stop_reason.get_ref<const std::string&>();
  if (s == "end_turn" || s == "stop_sequence") return "stop";
  if (s == "max_tokens") return "length";
  if (s == "tool_use") return "tool_calls";
  return "";
}

// The stop sequence that ended the answer, of a message or a message_delta's delta: its
// `stop_sequence` when stop_reason is "stop_sequence", else "".
std::string matched_stop_of(const json& holder) {
  return string_at(holder, "stop_reason") == "stop_sequence" ? string_at(holder, "stop_sequence")
                                                              : std::string();
}

// A tool_use block's call, its input kept as JSON text; nullopt when malformed.
std::optional<ToolCall> call_of(const json& block) {
  const json& name = member(block, "name");
  if (!name.is_string() || name.get_ref<const std::string&>().empty()) return std::nullopt;
  const json& input = member(block, "input");
  return ToolCall{string_at(block, "id"), name.get<std::string>(),
                  input.is_null() ? std::string() : dump_json(input)};
}

// A finished answer's last checks: a call without arguments has "{}" (Anthropic's empty input);
// "tool_calls" needs calls and calls need it.
bool finish_calls(TextAnswer& a) {
  for (auto& t : a.tool_calls)
    if (t.arguments.empty()) t.arguments = "{}";
  return (a.finish_reason == "tool_calls") == !a.tool_calls.empty();
}

class MessagesAnswerReader final : public TextAnswerReader {
 public:
  void on_event(std::string_view data) override {
    if (bad_) return;
    json e = parse_json(data);
    if (e.is_discarded() || !e.is_object()) return;  // not an event of this API: ignored
    const std::string type = string_at(e, "type");
    if (type == "message_start") {
      const json& m = member(e, "message");
      a_.model = string_at(m, "model");
      take_usage(member(m, "usage"));
    } else if (type == "content_block_start") {
      const json& block = member(e, "content_block");
      const std::string kind = string_at(block, "type");
      in_call_ = kind == "tool_use";
      in_thinking_ = kind == "thinking";
      if (kind == "text") {
        a_.content += string_at(block, "text");
      } else if (in_thinking_) {
        if (++thinking_blocks_ > 1) bad_ = true;  // one signature per answer is kept
        a_.reasoning += string_at(block, "thinking");
        a_.reasoning_signature += string_at(block, "signature");
      } else if (auto call = in_call_ ? call_of(block) : std::nullopt) {
        call->arguments.clear();  // the input comes as input_json_delta pieces
        a_.tool_calls.push_back(std::move(*call));
      } else {
        bad_ = true;
      }
    } else if (type == "content_block_delta") {
      const json& delta = member(e, "delta");
      const std::string kind = string_at(delta, "type");
      if (kind == "text_delta" && !in_call_ && !in_thinking_)
        a_.content += string_at(delta, "text");
      else if (kind == "input_json_delta" && in_call_)
        a_.tool_calls.back().arguments += string_at(delta, "partial_json");
      else if (kind == "thinking_delta" && in_thinking_)
        a_.reasoning += string_at(delta, "thinking");
      else if (kind == "signature_delta" && in_thinking_)
        a_.reasoning_signature += string_at(delta, "signature");
      else bad_ = true;
    } else if (type == "content_block_stop") {
      in_call_ = in_thinking_ = false;
    } else if (type == "message_delta") {
      const json& stop = member(member(e, "delta"), "stop_reason");
      if (!stop.is_null()) a_.finish_reason = finish_of(stop), stopped_ = true;
      a_.matched_stop = matched_stop_of(member(e, "delta"));
      take_usage(member(e, "usage"));
    } else if (type == "message_stop") {
      done_ = true;
    } else if (type == "error") {
      bad_ = true;
    }
  }
  std::optional<TextAnswer> result() const override {
    if (bad_ || !done_ || !stopped_ || a_.finish_reason.empty()) return std::nullopt;
    TextAnswer a = a_;
    if (!finish_calls(a)) return std::nullopt;
    return a;
  }

 private:
  void take_usage(const json& usage) {
    if (auto n = anthropic_prompt_tokens(usage)) a_.prompt_tokens = *n;
    if (auto n = int_at(usage, "output_tokens")) a_.completion_tokens = *n;
  }
  TextAnswer a_;
  bool bad_ = false, done_ = false, stopped_ = false;
  bool in_call_ = false;  // the open block is a tool_use (its input_json_delta pieces follow)
  bool in_thinking_ = false;  // the open block is a thinking block
  int thinking_blocks_ = 0;
};

}  // namespace

std::optional<TextAnswer> anthropic_answer(std::string_view message_json) {
  json j = parse_json(message_json);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  if (j.contains("type") && string_at(j, "type") != "message") return std::nullopt;
  const json& content = member(j, "content");
  if (!content.is_array()) return std::nullopt;
  TextAnswer a;
  int thinking_blocks = 0;
  for (const json& block : content) {
    const std::string kind = string_at(block, "type");
    if (kind == "thinking") {
      if (++thinking_blocks > 1 || !member(block, "thinking").is_string()) return std::nullopt;
      a.reasoning = string_at(block, "thinking");
      a.reasoning_signature = string_at(block, "signature");
      continue;
    }
    if (kind == "tool_use") {
      auto call = call_of(block);
      if (!call) return std::nullopt;
      a.tool_calls.push_back(std::move(*call));
      continue;
    }
    if (kind != "text" || !member(block, "text").is_string()) return std::nullopt;
    a.content += block["text"].get_ref<const std::string&>();
  }
  a.finish_reason = finish_of(member(j, "stop_reason"));
  if (a.finish_reason.empty() || !finish_calls(a)) return std::nullopt;
  a.matched_stop = matched_stop_of(j);
  a.model = string_at(j, "model");
  const json& usage = member(j, "usage");
  a.prompt_tokens = anthropic_prompt_tokens(usage).value_or(0);
  a.completion_tokens = int_at(usage, "output_tokens").value_or(0);
  return a;
}

std::unique_ptr<TextAnswerReader> anthropic_answer_reader() {
  return std::make_unique<MessagesAnswerReader>();
}

}  // namespace switchboard::api
