// Server-sent events (text/event-stream) as OpenAI streams use them.
//
// SseParser splits a byte stream that arrives in arbitrary pieces into events and hands each
// event's data (the "data:" lines joined by '\n') to a callback. Comments, "event:", "id:" and
// "retry:" lines are ignored. Holds at most one incomplete event in memory.
//
// StreamMeter watches a chat-completions stream (the data of each event) and counts what the
// decision record needs: the usage the upstream reported, if any, else the number of content
// chunks (one token per chunk is what OpenAI-compatible servers send), and whether the upstream
// sent an error event or the final [DONE].
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::api {

class SseParser {
 public:
  using OnData = std::function<void(std::string_view data)>;
  explicit SseParser(OnData on_data) : on_data_(std::move(on_data)) {}
  void feed(std::string_view bytes);
  // Flushes a final event that was not followed by a blank line.
  void finish();

 private:
  void line(std::string_view l);
  OnData on_data_;
  std::string partial_line_;
  std::string data_;
  bool has_data_ = false;
};

struct Usage {
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
};

// Reads "usage" from a chat.completion or chat.completion.chunk JSON object, if present and not null.
std::optional<Usage> parse_usage(std::string_view json);

class StreamMeter {
 public:
  void on_event(std::string_view data);
  const std::optional<Usage>& reported_usage() const { return usage_; }
  std::int64_t content_chunks() const { return content_chunks_; }
  std::size_t content_chars() const { return content_chars_; }
  bool saw_done() const { return done_; }
  bool saw_error() const { return error_; }

 private:
  std::optional<Usage> usage_;
  std::int64_t content_chunks_ = 0;
  std::size_t content_chars_ = 0;
  bool done_ = false;
  bool error_ = false;
};

}  // namespace switchboard::api
