// Server-sent events (text/event-stream) as OpenAI streams use them.
//
// SseParser splits a byte stream that arrives in arbitrary pieces into events and hands each
// event's data (the "data:" lines joined by '\n') to a callback. Lines end with "\n", "\r\n" or a
// lone "\r" (the SSE grammar's three; a "\r\n" may be split between two pieces).
// Comments, "event:", "id:" and "retry:" lines are ignored. Holds at most one incomplete line and
// one incomplete event in memory, each bounded (see the constructor): an upstream that sends an
// endless line or event overflows the parser instead of growing the gateway's memory.
//
// StreamMeter watches a chat-completions stream (the data of each event) and counts what the
// decision record needs: the usage the upstream reported, if any, else the number of content
// chunks (one token per chunk is what OpenAI-compatible servers send), and whether the upstream
// sent an error event, a finish_reason or the final [DONE].
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::api {

class SseParser {
 public:
  using OnData = std::function<void(std::string_view data)>;
  static constexpr std::size_t kDefaultMaxLineBytes = std::size_t{1} << 20;
  static constexpr std::size_t kDefaultMaxEventBytes = std::size_t{1} << 20;

  // `max_line_bytes` bounds one line (its bytes before its line end);
  // `max_event_bytes` bounds one event's data (its data lines' values joined by '\n'). A stream
  // that exceeds either overflows, whatever the sizes of the pieces it arrives in.
  explicit SseParser(OnData on_data, std::size_t max_line_bytes = kDefaultMaxLineBytes,
                     std::size_t max_event_bytes = kDefaultMaxEventBytes);

  // Parses `bytes`, calling on_data for each event completed. Returns false when the stream has
  // overflowed, in this call or an earlier one: then the parser has released what it buffered,
  // buffers nothing more and calls on_data never again (the events before the overflow were
  // delivered); the caller is expected to end the client's stream with an
  // `upstream_stream_broken` error event (see sse_closing_bytes()). Pieces of any size, even empty.
  bool feed(std::string_view bytes);
  // Delivers a final event that was not followed by a blank line (none after an overflow or a
  // stop()).
  void finish();
  // Called from on_data: the event just delivered is the stream's last. The feed() under way
  // takes nothing after the line that ended it, later feeds nothing at all, and on_data is never
  // called again; consumed() tells the caller how much of the last feed() to pass on.
  void stop() { stopped_ = true; }
  bool stopped() const { return stopped_; }
  // Bytes of the last feed() taken: all of them, unless a stop() came in it (then up to the end
  // of the stopping event's line; 0 for feeds after it, but the "\n" of a "\r\n" split there).
  std::size_t consumed() const { return consumed_; }

  bool overflowed() const { return overflowed_; }
  // True when the bytes fed so far end exactly at an event boundary: no partial line and no
  // field line ("data:", "event:", ...) since the last blank line; comments do not count. Stays
  // accurate after an overflow (the parser keeps tracking lines without buffering them).
  bool at_event_boundary() const { return line_bytes_ == 0 && !pending_fields_; }
  // True when the bytes fed so far end inside a line (a partial line is pending).
  bool mid_line() const { return line_bytes_ != 0; }
  // True when the last byte fed ended a line with "\r" (a "\n" next would belong to it).
  bool after_cr() const { return after_cr_; }
  // Bytes held for the incomplete line and event (tests and fuzzing check the bounds).
  std::size_t buffered_bytes() const { return partial_line_.size() + data_.size(); }

 private:
  void line(std::string_view l);
  void overflow();
  void skip_lf_after_cr(std::string_view& bytes);  // drops the "\n" of a "\r\n" split in two
  void track(std::string_view bytes);  // boundary tracking only, after an overflow
  OnData on_data_;
  const std::size_t max_line_, max_event_;
  std::string partial_line_;     // the current line's bytes received so far (not after overflow)
  std::string data_;             // the current event's data
  std::size_t line_bytes_ = 0;   // bytes of the current (unterminated) line, saturating
  char line_first_ = 0;          // the current line's first byte, when line_bytes_ > 0
  bool has_data_ = false;        // a data line is in data_
  bool pending_fields_ = false;  // a field line was seen since the last blank line
  bool overflowed_ = false;
  bool after_cr_ = false;        // the last byte fed was a "\r" ending a line
  bool stopped_ = false;
  std::size_t consumed_ = 0;
};

// The bytes to write after the bytes fed to `parser` so that whatever is written next starts a
// new event for any SSE client: "" at an event boundary, "\n" after complete lines of an
// unfinished event, "\n\n" inside a line (that line and its event are then delivered to the client
// as they are, cut short). Feed the parser exactly the bytes written to the client, e.g.:
//
//   bool ok = sse.feed(piece);
//   write(piece);
//   if (!ok || broken) { write(sse_closing_bytes(sse)); write(error_sse_event(e)); ... }
std::string_view sse_closing_bytes(const SseParser& parser);

struct Usage {
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  // Of prompt_tokens, those read from the provider's prompt cache (priced by
  // config::Price::cached_input_per_mtok): chat's prompt_tokens_details.cached_tokens.
  std::int64_t cached_prompt_tokens = 0;
  // Of prompt_tokens, those written into the provider's prompt cache (priced by
  // config::Price::cache_write_input_per_mtok): Anthropic's cache_creation_input_tokens, and the
  // same name at the top of a chat usage object (as OpenAI-compatible proxies of Anthropic
  // models report it).
  std::int64_t cache_write_prompt_tokens = 0;
};

// Reads "usage" from a chat.completion or chat.completion.chunk JSON object, if present and not
// null.
std::optional<Usage> parse_usage(std::string_view json);

class StreamMeter {
 public:
  void on_event(std::string_view data);
  const std::optional<Usage>& reported_usage() const { return usage_; }
  std::int64_t content_chunks() const { return content_chunks_; }
  std::size_t content_chars() const { return content_chars_; }
  bool saw_done() const { return done_; }
  bool saw_error() const { return error_; }
  // An event came before [DONE] that is not a JSON object (not JSON at all, or another value;
  // events without data, and any event after [DONE], do not count): translations cannot read it, so the gateway ends the stream there as
  // broken (pipeline/deliver.cc), for every client API alike.
  bool saw_bad_event() const { return bad_event_; }
  // The answer of `choices` choices (the request's n) came to its end: each choice's
  // finish_reason, or [DONE] (or an error event). A stream whose body ends before is cut short
  // (some servers omit [DONE]; none the finish).
  bool complete(std::int64_t choices = 1) const {
    return done_ || error_ ||
           static_cast<std::int64_t>(finished_.size()) >= std::max<std::int64_t>(choices, 1);
  }

 private:
  std::optional<Usage> usage_;
  std::int64_t content_chunks_ = 0;
  std::size_t content_chars_ = 0;
  bool done_ = false;
  std::vector<std::uint64_t> finished_;  // indexes of the choices whose finish_reason came
  bool error_ = false;
  bool bad_event_ = false;
  std::string scratch_;  // the event's data with simdjson's padding, reused between events
  bool read(std::string_view data);  // false when the reading stopped early (broken JSON, say)
};

}  // namespace switchboard::api
