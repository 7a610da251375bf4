#include "api/sse.h"

#include "api/padded_scratch.h"

#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <limits>

namespace switchboard::api {

namespace {

struct LineEnd {
  std::size_t at = std::string_view::npos;  // npos: no line end in the bytes
  std::size_t length = 0;                   // 1 ("\n" or a lone "\r") or 2 ("\r\n")
};

// The line ends of one piece, found front to back in linear time: "\n", "\r\n" or a lone "\r"
// (the SSE grammar's three). The next "\n" is searched once and kept while the lone-CR lines
// before it are taken: searching it again for each of them was quadratic in a CR-only stream.
class LineEnds {
 public:
  // The first line end in `rest`, a suffix of the piece (each call's a suffix of the last's).
  LineEnd next(std::string_view rest) {
    if (!lf_known_ || (lf_ && lf_ < rest.data())) {
      lf_ = static_cast<const char*>(std::memchr(rest.data(), '\n', rest.size()));
      lf_known_ = true;
    }
    const std::size_t nl =
        lf_ ? static_cast<std::size_t>(lf_ - rest.data()) : std::string_view::npos;
    const void* cr = std::memchr(rest.data(), '\r', lf_ ? nl : rest.size());
    if (!cr) return {nl, 1};
    const auto at = static_cast<std::size_t>(static_cast<const char*>(cr) - rest.data());
    return {at, at + 1 == nl ? std::size_t{2} : std::size_t{1}};
  }

 private:
  const char* lf_ = nullptr;  // the next "\n" of the piece (null: none left)
  bool lf_known_ = false;
};

std::size_t saturating_sum(std::size_t a, std::size_t b) {
  return b > std::numeric_limits<std::size_t>::max() - a ? std::numeric_limits<std::size_t>::max()
                                                         : a + b;
}

}  // namespace

SseParser::SseParser(OnData on_data, std::size_t max_line_bytes, std::size_t max_event_bytes)
    : on_data_(std::move(on_data)), max_line_(max_line_bytes), max_event_(max_event_bytes) {}

void SseParser::skip_lf_after_cr(std::string_view& bytes) {
  if (!after_cr_ || bytes.empty()) return;
  after_cr_ = false;
  if (bytes.front() == '\n') bytes.remove_prefix(1);  // a "\r\n" split between two pieces
}

bool SseParser::feed(std::string_view bytes) {
  consumed_ = bytes.size();
  if (stopped_) {  // nothing, but the "\n" of a "\r\n" that ended the stopping event
    consumed_ = after_cr_ && !bytes.empty() && bytes.front() == '\n' ? 1 : 0;
    after_cr_ = false;
    return true;
  }
  if (overflowed_) {
    track(bytes);
    return false;
  }
  const char* const begin = bytes.data();
  skip_lf_after_cr(bytes);
  LineEnds ends;
  while (!bytes.empty()) {
    const LineEnd end = ends.next(bytes);
    const std::size_t take = end.at == std::string_view::npos ? bytes.size() : end.at;
    if (line_bytes_ == 0 && take > 0) line_first_ = bytes.front();
    if (take > max_line_ - line_bytes_) {  // line_bytes_ <= max_line_ until an overflow
      overflow();
      line_bytes_ += take;
      track(bytes.substr(take));
      return false;
    }
    if (end.at == std::string_view::npos) {
      partial_line_.append(bytes);
      line_bytes_ += bytes.size();
      return true;
    }
    if (partial_line_.empty()) {
      line(bytes.substr(0, end.at));
    } else {
      partial_line_.append(bytes.substr(0, end.at));
      line(partial_line_);
      partial_line_.clear();  // keeps its capacity for the next split line
    }
    line_bytes_ = 0;
    after_cr_ = end.length == 1 && bytes[end.at] == '\r' && end.at + 1 == bytes.size();
    bytes.remove_prefix(end.at + end.length);
    if (stopped_) {  // on_data ended the stream at that line
      consumed_ = static_cast<std::size_t>(bytes.data() - begin);
      return true;
    }
    if (overflowed_) {  // the event grew past its bound in line()
      track(bytes);
      return false;
    }
  }
  return true;
}

void SseParser::finish() {
  if (overflowed_ || stopped_) return;
  if (!partial_line_.empty()) {
    line(partial_line_);
    partial_line_.clear();
  }
  line_bytes_ = 0;
  if (!overflowed_) line("");
}

void SseParser::overflow() {
  overflowed_ = true;
  has_data_ = false;
  std::string().swap(partial_line_);  // release the memory, not just the contents
  std::string().swap(data_);
}

void SseParser::track(std::string_view bytes) {
  skip_lf_after_cr(bytes);
  LineEnds ends;
  while (!bytes.empty()) {
    const LineEnd end = ends.next(bytes);
    if (end.at == std::string_view::npos) {
      if (line_bytes_ == 0) line_first_ = bytes.front();
      line_bytes_ = saturating_sum(line_bytes_, bytes.size());
      return;
    }
    if (line_bytes_ == 0 && end.at > 0) line_first_ = bytes.front();
    const std::size_t length = saturating_sum(line_bytes_, end.at);
    if (length == 0) {
      pending_fields_ = false;  // blank line: the event ends
    } else if (line_first_ != ':') {
      pending_fields_ = true;
    }
    line_bytes_ = 0;
    after_cr_ = end.length == 1 && bytes[end.at] == '\r' && end.at + 1 == bytes.size();
    bytes.remove_prefix(end.at + end.length);
  }
}

void SseParser::line(std::string_view l) {
  if (l.empty()) {  // blank line: dispatch
    if (has_data_) on_data_(data_);
    data_.clear();
    has_data_ = false;
    pending_fields_ = false;
    return;
  }
  if (l.front() == ':') return;  // comment
  pending_fields_ = true;
  auto colon = l.find(':');
  std::string_view field = l.substr(0, colon);
  std::string_view value =
      colon == std::string_view::npos ? std::string_view{} : l.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field == "data") {
    const std::size_t added = value.size() + (has_data_ ? 1 : 0);
    if (added > max_event_ - data_.size()) {  // data_.size() <= max_event_ always
      overflow();
      return;
    }
    if (has_data_) data_.push_back('\n');
    data_.append(value);
    has_data_ = true;
  }
}

std::string_view sse_closing_bytes(const SseParser& parser) {
  if (parser.mid_line()) return "\n\n";
  // After a line ended by "\r", a "\n" would only make it "\r\n": one more ends the event.
  if (!parser.at_event_boundary()) return parser.after_cr() ? "\n\n" : "\n";
  return "";
}

namespace {

simdjson::ondemand::parser& meter_parser() {
  thread_local simdjson::ondemand::parser parser;
  return parser;
}

// Whether `data` is one whole JSON object (validated in full, unlike an on-demand reading).
bool json_object(std::string_view data) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  return parser.parse(simdjson::padded_string(data)).get(doc) == simdjson::SUCCESS &&
         doc.is_object();
}

// After an error other than these (a missing field, a value of another type), simdjson's
// on-demand iterator is left dead: touching it again is undefined behaviour (a null dereference
// in simdjson 3.0), so the reading of that document must stop there.
bool recoverable(simdjson::error_code e) {
  return e == simdjson::SUCCESS || e == simdjson::NO_SUCH_FIELD || e == simdjson::INCORRECT_TYPE;
}

// Reads "usage" in one pass over its fields: a usage that is not an object, or fields that are
// not integers, count as 0. False when the JSON is broken (`out` is then partial).
bool read_usage(simdjson::ondemand::value value, Usage& out) {
  simdjson::ondemand::object usage;
  if (auto e = value.get_object().get(usage); e != simdjson::SUCCESS) return recoverable(e);
  for (auto field : usage) {
    std::string_view key;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) return false;
    if (key == "prompt_tokens_details") {
      simdjson::ondemand::object details;
      if (auto e = field.value().get_object().get(details); e != simdjson::SUCCESS) {
        if (!recoverable(e)) return false;
        continue;
      }
      for (auto d : details) {
        std::string_view dkey;
        if (d.unescaped_key().get(dkey) != simdjson::SUCCESS) return false;
        if (dkey != "cached_tokens") continue;
        std::int64_t n = 0;
        auto e = d.value().get_int64().get(n);
        if (e == simdjson::SUCCESS) out.cached_prompt_tokens = n;
        else if (!recoverable(e)) return false;
      }
      continue;
    }
    std::int64_t* target = key == "prompt_tokens"                 ? &out.prompt_tokens
                           : key == "completion_tokens"           ? &out.completion_tokens
                           : key == "cache_creation_input_tokens" ? &out.cache_write_prompt_tokens
                                                                  : nullptr;
    if (!target) continue;  // the iteration skips the value
    std::int64_t n = 0;
    auto e = field.value().get_int64().get(n);
    if (e == simdjson::SUCCESS) {
      *target = n;
    } else if (!recoverable(e)) {
      return false;
    }
  }
  return true;
}

// Whether `value` is null; false (with `ok` false) when the JSON is broken.
bool is_null(simdjson::ondemand::value& value, bool& ok) {
  bool null = false;
  ok = value.is_null().get(null) == simdjson::SUCCESS;
  return ok && null;
}

// Counts the non-empty delta contents of "choices" and notes the indexes of the choices whose
// finish_reason is not null; false when the JSON is broken. Each object is read in one pass over its fields: a second lookup
// in an object of a broken document reached simdjson's unreachable() (UBSan, fuzz_sse).
bool count_content(simdjson::ondemand::value value, std::int64_t& chunks, std::size_t& chars,
                   std::vector<std::uint64_t>& finished) {
  simdjson::ondemand::array choices;
  if (auto e = value.get_array().get(choices); e != simdjson::SUCCESS) return recoverable(e);
  for (auto element : choices) {
    simdjson::ondemand::object choice;
    if (auto e = element.get_object().get(choice); e != simdjson::SUCCESS) {
      if (!recoverable(e)) return false;
      continue;
    }
    std::uint64_t index = 0;  // absent: the first choice
    bool done = false;
    for (auto field : choice) {
      std::string_view key;
      if (field.unescaped_key().get(key) != simdjson::SUCCESS) return false;
      if (key == "index") {
        auto e = field.value().get_uint64().get(index);
        if (e != simdjson::SUCCESS && !recoverable(e)) return false;
        continue;
      }
      if (key == "finish_reason") {
        std::string_view reason;
        auto e = field.value().get_string().get(reason);
        if (e == simdjson::SUCCESS) done = !reason.empty();
        else if (!recoverable(e)) return false;
        continue;
      }
      if (key != "delta") continue;
      simdjson::ondemand::object delta;
      if (auto e = field.value().get_object().get(delta); e != simdjson::SUCCESS) {
        if (!recoverable(e)) return false;
        continue;
      }
      for (auto part : delta) {
        std::string_view name;
        if (part.unescaped_key().get(name) != simdjson::SUCCESS) return false;
        if (name != "content") continue;
        std::string_view content;
        auto e = part.value().get_string().get(content);
        if (e == simdjson::SUCCESS) {
          if (!content.empty()) {
            ++chunks;
            chars += content.size();
          }
        } else if (!recoverable(e)) {
          return false;
        }
      }
    }
    // Each choice counted once (a repeated finish_reason is one), at most 128 (the gateway's n).
    if (done && finished.size() < 128 &&
        std::find(finished.begin(), finished.end(), index) == finished.end())
      finished.push_back(index);
  }
  return true;
}

}  // namespace

std::optional<Usage> parse_usage(std::string_view json) {
  thread_local PaddedScratch scratch;
  const simdjson::padded_string_view padded = scratch.view(json);
  simdjson::ondemand::document doc;
  if (meter_parser().iterate(padded).get(doc) != simdjson::SUCCESS) return std::nullopt;
  simdjson::ondemand::value usage;
  if (doc["usage"].get(usage) != simdjson::SUCCESS) return std::nullopt;
  bool ok = false;
  if (is_null(usage, ok) || !ok) return std::nullopt;
  Usage u;
  if (!read_usage(usage, u)) return std::nullopt;
  return u;
}

void StreamMeter::on_event(std::string_view data) {
  if (done_) return;  // the answer ended: whatever a server sends after it is not read
  if (data == "[DONE]") {
    done_ = true;
    return;
  }
  if (data.find_first_not_of(" \t\r\n") == std::string_view::npos) return;  // no data
  // A reading cut short is checked again whole (rare: only then is a DOM built).
  if (!read(data) && !json_object(data)) bad_event_ = true;
}

bool StreamMeter::read(std::string_view data) {
  // Copies into a reused buffer with simdjson's padding instead of allocating per event.
  scratch_.assign(data);
  scratch_.resize(data.size() + simdjson::SIMDJSON_PADDING);
  simdjson::padded_string_view padded(scratch_.data(), data.size(), scratch_.size());
  simdjson::ondemand::document doc;
  if (meter_parser().iterate(padded).get(doc) != simdjson::SUCCESS) return false;
  simdjson::ondemand::object obj;
  if (doc.get_object().get(obj) != simdjson::SUCCESS) return false;
  // Every error below that is not recoverable() ends the reading of this event.
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) return false;
    simdjson::ondemand::value value;
    if (field.value().get(value) != simdjson::SUCCESS) return false;
    if (key == "error") {
      error_ = true;
    } else if (key == "usage") {
      bool ok = false;
      if (is_null(value, ok) || !ok) {
        if (!ok) return false;
        continue;
      }
      Usage u;
      if (!read_usage(value, u)) return false;
      usage_ = u;
    } else if (key == "choices") {
      if (!count_content(value, content_chunks_, content_chars_, finished_)) return false;
    }
  }
  return true;
}

}  // namespace switchboard::api
