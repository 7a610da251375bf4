// Redaction of personal data in a chat request, and restoring it in the answer (docs/guard.md).
//
// Each distinct value found gets a typed placeholder — [EMAIL_1], [EMAIL_2], [CARD_1] — the same
// one wherever it appears in the request, so the model can still refer to "[EMAIL_1]"; restoring
// swaps the placeholders in the answer back for the values (only for the client: neither the values
// nor the placeholders' meanings are ever recorded or logged). Pure functions, no I/O.
#pragma once

#include <cstdint>
#include <array>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "guard/pii.h"
#include "switchboard/result.h"

namespace switchboard::guard {

struct Redaction {
  // placeholder → original value, in the order they were made.
  std::vector<std::pair<std::string, std::string>> placeholders;
  std::vector<int> counts;  // per kind (PiiScanner::kinds()): spans replaced
  // Placeholder-shaped text the request already holds ("[EMAIL_1]" typed by the user): never made,
  // so restoring cannot turn the user's own text into someone's address.
  std::unordered_set<std::string> taken;
  // How placeholders are found again: kind prefix + '\n' + value → its index in `placeholders`;
  // the last number made per kind prefix.
  std::unordered_map<std::string, std::size_t> made;
  std::unordered_map<std::string, int> last_number;

  bool empty() const { return placeholders.empty(); }
};

// `text` with the spans of kinds in `mask` replaced by placeholders, added to `r`.
std::string redact_text(std::string_view text, std::uint64_t mask, Redaction& r);
// Adds every placeholder-shaped span of `text` ('[' A-Z+ '_' digits ']') to `r.taken`.
void note_taken_placeholders(std::string_view text, Redaction& r);

// What the guard reads of a request body: every string value the upstream gets — message texts,
// tool-call arguments and tool results, system prompts, tool descriptions, `user`, metadata, a
// native body's thinking blocks and reasoning items — except the values of structural keys
// (kStructuralKeys in redact.cc: ids, roles, types, names, model, URLs, base64 data, signatures).
// Each string is scanned on its own: a match never spans two of them (an unterminated PEM header
// in one message used to swallow a card number in the next). Before session 24 only message texts
// were read, and tool-call arguments, a native body's thinking blocks and the like went upstream
// unscanned.
struct BodyScan {
  std::vector<int> counts;  // per kind (PiiScanner::kinds())
  std::size_t matches = 0;
};
// The matches of kinds in `mask` in `body` (a JSON document; nothing for one that does not parse).
BodyScan scan_body(std::string_view body, std::uint64_t mask);

// The chat request `body` (it passed api::parse_chat_request) with every string scan_body() reads
// redacted as above. Other values are kept; the body is re-serialised. Errors (kBadRequest,
// invalid_json) only if the body is not JSON.
Result<std::string> redact_chat_body(std::string_view body, std::uint64_t mask, Redaction& r);

// `json` (a JSON document or one event's JSON) with each placeholder replaced by its original,
// JSON-escaped: placeholders hold no character JSON escapes, so they appear in the text as written.
std::string restore_json_text(std::string_view json,
                              const std::vector<std::pair<std::string, std::string>>& placeholders);

// An answer's JSON body (chat completion, Responses or Messages answer) restored: as
// restore_json_text, and every string under a key "arguments" (a tool call's arguments are JSON
// text inside a JSON string) with its values escaped once more, so the arguments stay valid JSON
// when a value holds a quote or a newline. With `content_is_json` (a chat answer in JSON mode:
// api::ChatRequest::json_output) the strings under "content" too. Re-serialised only when the
// body has one of those keys.
std::string restore_answer_json(
    std::string_view json, const std::vector<std::pair<std::string, std::string>>& placeholders,
    bool content_is_json = false);

// `text` (plain, not JSON) with each placeholder replaced by its original.
std::string restore_text(std::string_view text,
                         const std::vector<std::pair<std::string, std::string>>& placeholders);
// The inverse, for an answer that was restored for the client and is kept beyond the request (the
// response cache, the session's conversation hash): `text` with every occurrence of an original
// value replaced by its placeholder, longest values first — the form another request that redacts
// to the same body can restore with its own values, and the history the next turn redacts to.
std::string unrestore_text(std::string_view text,
                           const std::vector<std::pair<std::string, std::string>>& placeholders);
// The same for JSON text restored with restore_json_text (a tool call's arguments): the originals
// are looked for JSON-escaped, then as written.
std::string unrestore_json_text(
    std::string_view text, const std::vector<std::pair<std::string, std::string>>& placeholders);

// Restores placeholders in a streamed answer (server-sent events of chat completion chunks): in
// each delta's content and reasoning (`reasoning_content`, `reasoning`: a reasoning model may
// repeat what the prompt held), and in its tool calls' `function.arguments` (JSON text: the values
// go back JSON-escaped, as restore_json_text does). A placeholder may arrive split over several
// chunks ("[EM", "AIL_", "1]"): text that could still become a placeholder is held back per choice
// and field (per tool call for arguments) until it can be decided, and released with the next
// text of any field or the next piece of any tool call (held arguments as a delta of their own
// call's index), the choice's finish_reason, or the final [DONE]. Events that carry no text pass
// through unchanged. With `content_is_json` (JSON mode) the content is JSON text, restored as the
// arguments are.
class StreamRestorer {
 public:
  explicit StreamRestorer(std::vector<std::pair<std::string, std::string>> placeholders,
                          bool content_is_json = false);
  // The bytes to send for `in`: whole events only (a partial event is kept for the next call).
  std::string feed(std::string_view in);
  // Whatever is still held (a last partial event, held text as an event of its own).
  std::string finish();
  // The bytes of the incomplete event held back: the relay bounds it as it bounds an event.
  std::size_t pending_bytes() const { return pending_.size(); }

 private:
  std::string process_event(std::string_view event);
  std::string flush_held();
  // Whether text field f holds JSON text, and held text of it restored.
  bool json_field(std::size_t f) const { return content_is_json_ && f == kContentField; }
  std::string restore_field(std::size_t f, std::string_view text) const;

  std::vector<std::pair<std::string, std::string>> placeholders_;
  bool content_is_json_ = false;
  std::string pending_;            // bytes of an incomplete event
  std::size_t scan_ = 0;           // of pending_, the bytes feed() looked at already
  bool blank_ = true;              // nothing but a line end since the last one (or the start)
  bool after_cr_ = false;          // the last byte fed was a "\r" ending a line
  // The delta fields whose text is restored.
  static constexpr std::array<const char*, 3> kTextFields = {"reasoning_content", "reasoning",
                                                             "content"};
  static constexpr std::size_t kContentField = 2;
  // Per choice index: text that may be a placeholder's start, per field and per tool call index.
  struct Held {
    std::array<std::string, kTextFields.size()> text;
    std::map<std::size_t, std::string> arguments;
    bool empty() const;
  };
  std::vector<Held> held_;
};

// The length of the longest suffix of `text` that could be the start of a placeholder ("[",
// "[EMAIL", "[EMAIL_1"), 0 if none.
std::size_t placeholder_prefix_suffix(std::string_view text);

}  // namespace switchboard::guard
