#include "signals/code_detect.h"

#include <array>

namespace switchboard::signals {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Words that start a statement or declaration in common languages, followed by a space or '('.
constexpr std::array<std::string_view, 40> kStatementStarts = {
    "def ",       "class ",    "import ",    "from ",     "return ",     "return;",  "function ",
    "func ",      "fn ",       "let ",       "const ",    "var ",        "public ",  "private ",
    "protected ", "static ",   "struct ",    "enum ",     "impl ",       "package ", "using ",
    "namespace ", "template<", "template <", "if (",      "for (",       "while (",  "switch (",
    "} else",     "else {",    "try {",      "catch (",   "#include",    "#define",  "#!/",
    "SELECT ",    "INSERT ",   "elif ",      "println!(", "console.log("};

// How many distinct operators of "=>", "->", "::", "==", "!=", "&&", "||", "+=", "();", "){" or ")
// {",
// "</" the line has, in one pass.
constexpr std::array<bool, 256> kOperatorStart = [] {
  std::array<bool, 256> t{};
  for (unsigned char c : std::string_view("=-:!&|+()<")) t[c] = true;
  return t;
}();

int count_operators(std::string_view line) {
  unsigned mask = 0;
  const std::size_t n = line.size();
  for (std::size_t i = 0; i + 1 < n; ++i) {
    if (!kOperatorStart[static_cast<unsigned char>(line[i])])
      continue;  // most bytes: one predictable branch
    const char c = line[i], d = line[i + 1];
    switch (c) {
      case '=':
        mask |= (d == '>' ? 1u : 0u) | (d == '=' ? 2u : 0u);
        break;
      case '-':
        mask |= d == '>' ? 4u : 0u;
        break;
      case ':':
        mask |= d == ':' ? 8u : 0u;
        break;
      case '!':
        mask |= d == '=' ? 16u : 0u;
        break;
      case '&':
        mask |= d == '&' ? 32u : 0u;
        break;
      case '|':
        mask |= d == '|' ? 64u : 0u;
        break;
      case '+':
        mask |= d == '=' ? 128u : 0u;
        break;
      case '(':
        mask |= (d == ')' && i + 2 < n && line[i + 2] == ';') ? 256u : 0u;
        break;
      case ')':
        mask |= (d == '{' || (d == ' ' && i + 2 < n && line[i + 2] == '{')) ? 512u : 0u;
        break;
      case '<':
        mask |= d == '/' ? 1024u : 0u;
        break;
      default:
        break;
    }
  }
  return __builtin_popcount(mask);
}

bool starts_with_any(std::string_view s, auto const& list) {
  if (s.empty()) return false;
  for (auto p : list)
    if (p[0] == s[0] && s.starts_with(p)) return true;  // first byte first: no memcmp call for most
  return false;
}

}  // namespace

int code_line_score(std::string_view raw) {
  std::string_view line = trim(raw);
  if (line.empty()) return 0;
  if (line.starts_with("```")) return 2;
  const bool indented = raw.starts_with("    ") || raw.starts_with('\t');
  const char last = line.back();
  const int ops = count_operators(line);
  const bool statement = starts_with_any(line, kStatementStarts);
  const bool ends_code = last == ';' || last == '{' || last == '}' ||
                         (last == ')' && line.find('(') != std::string_view::npos && ops > 0);
  const bool header_colon =
      last == ':' &&
      (line.starts_with("def ") || line.starts_with("class ") || line.starts_with("if ") ||
       line.starts_with("for ") || line.starts_with("while ") || line.starts_with("elif ") ||
       line.starts_with("else:") || line.starts_with("try:") || line.starts_with("except"));
  if (line == "}" || line == "};" || line == "{" || line == ")" || line == "end") return 1;
  if ((statement &&
       (ends_code || header_colon || ops > 0 || line.find('(') != std::string_view::npos)) ||
      header_colon || (ends_code && ops > 0))
    return 2;
  if (ends_code || (statement && indented) || ops >= 2) return 1;
  // Assignment-like "name = value" with code punctuation, e.g. "x = foo(1)" or "a[i] = b".
  if (indented &&
      (line.find(" = ") != std::string_view::npos || line.find('(') != std::string_view::npos))
    return 1;
  return 0;
}

bool detect_code(std::string_view text) {
  auto scan = [](std::string_view part, std::size_t& lines, std::size_t& code,
                 std::size_t& strong) {
    std::size_t pos = 0;
    while (pos < part.size()) {
      std::size_t nl = part.find('\n', pos);
      if (nl == std::string_view::npos) nl = part.size();
      std::string_view line = part.substr(pos, nl - pos);
      pos = nl + 1;
      if (trim(line).empty()) continue;
      ++lines;
      if (trim(line).starts_with("```")) return true;
      int s = code_line_score(line);
      if (s > 0) ++code;
      if (s == 2) ++strong;
    }
    return false;
  };
  std::size_t lines = 0, code = 0, strong = 0;
  if (text.size() <= kCodeScanHeadBytes + kCodeScanTailBytes) {
    if (scan(text, lines, code, strong)) return true;
  } else {
    if (scan(text.substr(0, kCodeScanHeadBytes), lines, code, strong)) return true;
    if (scan(text.substr(text.size() - kCodeScanTailBytes), lines, code, strong)) return true;
  }
  if (lines == 1) return strong == 1;
  return (code >= 2 && strong >= 1 && code * 4 >= lines) || code >= 8;
}

}  // namespace switchboard::signals
