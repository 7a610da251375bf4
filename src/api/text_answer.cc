#include "api/text_answer.h"

#include "api/sse.h"

namespace switchboard::api {

std::optional<TextAnswer> read_stream(std::string_view stream, TextAnswerReader& reader) {
  SseParser parser([&reader](std::string_view data) { reader.on_event(data); });
  if (!parser.feed(stream)) return std::nullopt;
  parser.finish();
  return reader.result();
}

}  // namespace switchboard::api
