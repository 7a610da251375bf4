// The pure parts of the replay backend (an OpenAI-compatible fake upstream that answers with
// recorded responses): reading what it needs from a request, looking a prompt up, inventing a
// deterministic answer when there is none, and making up token usage that reproduces the recorded
// cost. No I/O here; the server (replay_server.h) is a thin shell around these.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "data/outcomes.h"
#include "switchboard/result.h"

namespace switchboard::replay {

struct ReplayRequest {
  std::string model;  // as requested
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  // The prompt key: the text of the user messages joined by "\n". A message's content is a string
  // or an array of parts, of which the {"type":"text","text":...} ones count, joined by "\n".
  std::string prompt_key;
  // Every message with its role (data::append_conversation_part): looked up first, so that records
  // sharing their user text but not their system or assistant messages are told apart.
  std::string conversation_key;
  std::size_t prompt_chars = 0;  // code points of the text of all messages, whatever their role
};

// Reads a request with the gateway's own parser (api::parse_chat_request) and keeps what the replay
// needs. Errors: those of api::parse_chat_request (invalid_json, invalid_request).
Result<ReplayRequest> parse_replay_request(std::string_view body);

struct Prices {
  double input_per_mtok = 0;   // USD per million prompt tokens
  double output_per_mtok = 0;  // USD per million completion tokens
};

struct TokenUsage {
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t total_tokens = 0;
  bool operator==(const TokenUsage&) const = default;
};

// prompt_tokens = max(1, ceil(prompt_chars / 4)). completion_tokens reproduces `cost` at `prices`:
// max(1, round((cost - prompt_tokens * in / 1e6) / (out / 1e6))), or, when there is no cost or the
// output price is not positive, max(1, ceil(response_chars/4)). When that difference is not
// positive (the prompt's estimate alone costs more than was recorded), completion_tokens = 1 and
// prompt_tokens = max(1, round((cost - out / 1e6) / (in / 1e6))): the bill is the recorded cost to
// within a token's price (with no input price, the first rule's fallback).
TokenUsage compute_usage(std::size_t prompt_chars, std::size_t response_chars,
                         std::optional<double> cost, const Prices& prices);

// Number of UTF-8 code points (continuation bytes are not counted).
std::size_t utf8_length(std::string_view text);

// 8 lowercase hex digits of a stable 64-bit FNV-1a hash of `key` (same on every platform).
std::string prompt_hash(std::string_view key);

// The answer given when nothing is recorded: names the model and the prompt's hash, and is the
// same for the same model and prompt.
std::string placeholder_response(std::string_view model, std::string_view prompt_key);

// Splits text into stream pieces of `chars` code points each (the last may be shorter), never
// inside a UTF-8 sequence. Empty text gives no pieces. The views point into `text`.
std::vector<std::string_view> split_pieces(std::string_view text, std::size_t chars = 4);

enum class Fault { kNone, kError, kHang, kDrop };
// Maps a uniform draw u in [0, 1) onto the fault bands [0, error) [.., +hang) [.., +drop).
Fault pick_fault(double u, double error_rate, double hang_rate, double drop_rate);

// Where the drop fault cuts a stream, after the whole events sent before the cut:
enum class Cut {
  kEvent,  // nothing more: the stream ends at an event boundary (the default)
  kLine,   // half of the next event's "data:" line (no '\n')
  kUtf8,   // the next event carrying a multi-byte character, up to that character's first byte
};
// "event", "line", "utf8" (nullopt for anything else) and back.
std::optional<Cut> parse_cut(std::string_view name);
const char* cut_name(Cut cut);

// The content a kUtf8 cut sends (cut inside the 'é') when the rest of the answer is all ASCII.
inline constexpr std::string_view kCutFiller = "héllo ✓";  // 2- and 3-byte characters

// How a dropped stream of content `pieces` ends: pieces [0, whole) are sent as whole events, then,
// unless the cut is kEvent, one more content event carrying `cut_piece`, cut part-way with
// cut_offset(). kEvent and kLine stop at half the pieces (kLine cuts the next piece, or an empty
// one when none is left); kUtf8 stops at the first piece from the half on that holds a multi-byte
// character, or at the half with kCutFiller when there is none.
struct DropPlan {
  std::size_t whole = 0;
  std::optional<std::string> cut_piece;
};
DropPlan plan_drop(const std::vector<std::string_view>& pieces, Cut cut);

// How many bytes of `event` (one server-sent event, "data: ...\n\n") to send before the
// connection is cut: kLine: half of its first line, at least 1 byte, never its '\n'; kUtf8: up to
// and including the lead byte of its first multi-byte UTF-8 character (so the cut falls inside
// it), 0 when it has none; kEvent: 0.
std::size_t cut_offset(std::string_view event, Cut cut);

struct RecordedAnswer {
  std::optional<std::string> response;  // absent when only score/cost were recorded
  double cost = 0;
  std::optional<double> latency_ms;     // when recorded
};

// The recorded answers of one model, by prompt key. Immutable after build(); safe to share.
class ReplayBook {
 public:
  // Indexes every record that has an outcome for `model`, by its whole conversation and by its
  // user text. When several records share a key, the first one with a response wins.
  static ReplayBook build(const data::Outcomes& outcomes, const std::string& model);
  static ReplayBook build(std::span<const data::PromptRecord* const> records,
                          const std::string& model);
  // The answer recorded for this very conversation, else for its user text (a client that adds a
  // system prompt of its own still gets the recorded answer); nullptr when the prompt was never
  // recorded for the model.
  const RecordedAnswer* find(const ReplayRequest& request) const;
  std::size_t size() const { return by_text_.size(); }

 private:
  std::vector<RecordedAnswer> answers_;
  std::unordered_map<std::string, std::size_t> by_text_;          // user text → answers_ index
  std::unordered_map<std::string, std::size_t> by_conversation_;  // conversation key → index
};

// What to send for a request: the recorded response, or the placeholder, and the usage.
struct Answer {
  std::string text;
  bool recorded = false;  // text is a recorded response
  TokenUsage usage;
};
Answer answer_for(const ReplayBook& book, const ReplayRequest& request, const std::string& model,
                  const Prices& prices);

}  // namespace switchboard::replay
