#include "data/python_literal.h"

#include <optional>

namespace switchboard::data {
namespace {

Error bad(std::size_t offset, const std::string& what) {
  return make_error(ErrorKind::kBadRequest, "bad_python_literal",
                    "Python string list: " + what + " at offset " + std::to_string(offset));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  Result<std::vector<std::string>> list() {
    std::vector<std::string> out;
    skip_space();
    if (!eat('[')) return bad(pos_, "expected '['");
    skip_space();
    while (!eat(']')) {
      auto item = string();
      if (!item) return item.error();
      out.push_back(std::move(item).value());
      skip_space();
      if (eat(']')) break;
      if (!eat(',')) return bad(pos_, "expected ',' or ']'");
      skip_space();
    }
    skip_space();
    if (pos_ != s_.size()) return bad(pos_, "unexpected text after ']'");
    return out;
  }

 private:
  bool eat(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void skip_space() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }

  Result<std::string> string() {
    if (pos_ >= s_.size() || (s_[pos_] != '\'' && s_[pos_] != '"'))
      return bad(pos_, "expected a quoted string");
    const char quote = s_[pos_++];
    std::string out;
    for (;;) {
      if (pos_ >= s_.size()) return bad(pos_, "unterminated string");
      char c = s_[pos_++];
      if (c == quote) return out;
      if (c == '\n') return bad(pos_ - 1, "line break inside a string");
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (auto err = escape(out)) return *err;
    }
  }

  // Decodes the escape whose backslash was just consumed.
  std::optional<Error> escape(std::string& out) {
    if (pos_ >= s_.size()) return bad(pos_, "unterminated string");
    const std::size_t start = pos_ - 1;
    char c = s_[pos_++];
    switch (c) {
      case 'n':
        out.push_back('\n');
        return std::nullopt;
      case 't':
        out.push_back('\t');
        return std::nullopt;
      case 'r':
        out.push_back('\r');
        return std::nullopt;
      case '\\':
        out.push_back('\\');
        return std::nullopt;
      case '\'':
        out.push_back('\'');
        return std::nullopt;
      case '"':
        out.push_back('"');
        return std::nullopt;
      case 'a':
        out.push_back('\a');
        return std::nullopt;
      case 'b':
        out.push_back('\b');
        return std::nullopt;
      case 'f':
        out.push_back('\f');
        return std::nullopt;
      case 'v':
        out.push_back('\v');
        return std::nullopt;
      case '\n':
        return std::nullopt;  // line continuation
      case 'x':
        return hex_escape(2, start, out);
      case 'u':
        return hex_escape(4, start, out);
      case 'U':
        return hex_escape(8, start, out);
      default:
        break;
    }
    if (c >= '0' && c <= '7') {
      char32_t cp = static_cast<char32_t>(c - '0');
      for (int i = 0; i < 2 && pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '7'; ++i)
        cp = cp * 8 + static_cast<char32_t>(s_[pos_++] - '0');
      append_utf8(out, cp);
      return std::nullopt;
    }
    out.push_back('\\');  // unknown escape: Python keeps both characters
    out.push_back(c);
    return std::nullopt;
  }

  std::optional<Error> hex_escape(int digits, std::size_t start, std::string& out) {
    char32_t cp = 0;
    for (int i = 0; i < digits; ++i) {
      int v = pos_ < s_.size() ? hex_value(s_[pos_]) : -1;
      if (v < 0) return bad(start, "truncated \\" + std::string(1, s_[start + 1]) + " escape");
      cp = cp * 16 + static_cast<char32_t>(v);
      ++pos_;
    }
    if (cp > 0x10FFFF) return bad(start, "escape beyond U+10FFFF");
    append_utf8(out, cp);
    return std::nullopt;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

}  // namespace

void append_utf8(std::string& out, char32_t cp) {
  if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) cp = 0xFFFD;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

Result<std::vector<std::string>> parse_python_string_list(std::string_view text) {
  return Parser(text).list();
}

}  // namespace switchboard::data
