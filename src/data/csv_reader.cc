#include "data/csv_reader.h"

#include <string_view>

namespace switchboard::data {
namespace {

constexpr int kEof = std::char_traits<char>::eof();
constexpr std::string_view kBom = "\xEF\xBB\xBF";

}  // namespace

Error CsvReader::error(const std::string& what) const {
  return make_error(ErrorKind::kBadRequest, "bad_csv",
                    name_ + ":" + std::to_string(line_) + ": " + what);
}

int CsvReader::get() {
  if (pending_pos_ < pending_.size()) return static_cast<unsigned char>(pending_[pending_pos_++]);
  return in_.rdbuf() ? in_.rdbuf()->sbumpc() : kEof;
}

Result<bool> CsvReader::next(std::vector<std::string>& fields) {
  fields.clear();
  if (!started_) {
    started_ = true;
    for (std::size_t i = 0; i < kBom.size(); ++i) {
      int c = in_.rdbuf() ? in_.rdbuf()->sbumpc() : kEof;
      if (c == kEof) break;
      pending_.push_back(static_cast<char>(c));
      if (pending_.back() != kBom[i]) break;
    }
    if (pending_ == kBom) pending_.clear();
  }

  enum class State { kFieldStart, kUnquoted, kQuoted, kQuoteSeen, kCrAfterQuote };
  State state = State::kFieldStart;
  std::string field;
  record_line_ = line_;
  auto end_record = [&] {
    fields.push_back(std::move(field));
    ++line_;
  };
  for (;;) {
    int c = get();
    if (c == kEof) {
      if (state == State::kQuoted)
        return error("end of input inside a quoted field that starts on line " +
                     std::to_string(record_line_));
      if (state == State::kFieldStart && fields.empty()) return false;
      if (state == State::kUnquoted && !field.empty() && field.back() == '\r') field.pop_back();
      fields.push_back(std::move(field));
      return true;
    }
    char ch = static_cast<char>(c);
    switch (state) {
      case State::kFieldStart:
        if (ch == '"') {
          state = State::kQuoted;
          break;
        }
        state = State::kUnquoted;
        [[fallthrough]];
      case State::kUnquoted:
        if (ch == ',') {
          fields.push_back(std::move(field));
          field.clear();
          state = State::kFieldStart;
        } else if (ch == '\n') {
          if (!field.empty() && field.back() == '\r') field.pop_back();
          if (fields.empty() && field.empty()) {  // a blank line
            ++line_;
            record_line_ = line_;
            state = State::kFieldStart;
            break;
          }
          end_record();
          return true;
        } else if (ch == '"') {
          return error("quote inside an unquoted field");
        } else {
          field.push_back(ch);
        }
        break;
      case State::kQuoted:
        if (ch == '"') {
          state = State::kQuoteSeen;
        } else {
          if (ch == '\n') ++line_;
          field.push_back(ch);
        }
        break;
      case State::kQuoteSeen:
        if (ch == '"') {
          field.push_back('"');
          state = State::kQuoted;
        } else if (ch == ',') {
          fields.push_back(std::move(field));
          field.clear();
          state = State::kFieldStart;
        } else if (ch == '\n') {
          end_record();
          return true;
        } else if (ch == '\r') {
          state = State::kCrAfterQuote;
        } else {
          return error("unexpected character after a closing quote");
        }
        break;
      case State::kCrAfterQuote:
        if (ch != '\n') return error("unexpected character after a closing quote");
        end_record();
        return true;
    }
  }
}

}  // namespace switchboard::data
