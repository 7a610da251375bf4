#include "judges/agreement/extract.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace switchboard::judges {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f';
}
bool is_upper(char c) {
  return c >= 'A' && c <= 'Z';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alnum(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Leading markup a reply may wrap its answer in: blanks, '*' (bold), '#', '"', '\'', '`'.
std::string_view strip_markup(std::string_view s) {
  while (!s.empty() && (is_space(s.front()) || s.front() == '*' || s.front() == '#' ||
                        s.front() == '"' || s.front() == '\'' || s.front() == '`'))
    s.remove_prefix(1);
  return trim(s);
}

bool starts_with_words(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && text.substr(0, prefix.size()) == prefix &&
         (text.size() == prefix.size() || text[prefix.size()] == ' ');
}

// A label token at the start of `s` ("B", "12"), and what follows it.
struct LeadingLabel {
  std::string token;
  std::string_view rest;
  bool bracketed = false;
};

std::optional<LeadingLabel> leading_label(std::string_view s) {
  LeadingLabel out;
  if (!s.empty() && (s.front() == '(' || s.front() == '[')) {
    out.bracketed = true;
    s.remove_prefix(1);
  }
  std::size_t n = 0;
  if (!s.empty() && is_upper(s[0])) {
    n = 1;
  } else {
    while (n < s.size() && n < 2 && is_digit(s[n])) ++n;
  }
  if (n == 0 || (n < s.size() && is_alnum(s[n]))) return std::nullopt;
  out.token = std::string(s.substr(0, n));
  out.rest = s.substr(n);
  while (!out.rest.empty() && out.rest.front() == '*') out.rest.remove_prefix(1);
  return out;
}

// The label a token names among `labels`: itself, or the i-th label for a number i (or the i-th
// number for a letter when the labels are numbers). "" when it names none.
std::string resolve_label(const std::string& token, const std::vector<std::string>& labels) {
  if (std::find(labels.begin(), labels.end(), token) != labels.end()) return token;
  std::size_t index = 0;
  if (is_digit(token[0])) {
    index = static_cast<std::size_t>(std::atoi(token.c_str()));
  } else if (token.size() == 1) {
    index = static_cast<std::size_t>(token[0] - 'A' + 1);
  }
  if (index >= 1 && index <= labels.size() && is_digit(token[0]) != is_digit(labels[0][0]))
    return labels[index - 1];
  return "";
}

const RE2& explicit_answer_re() {
  static const RE2 re(
      R"((?i:answer|option|choice)(?:\s+(?i:is|would be|should be|will be))?\s*[:=]?\s*)"
      R"([\(\[]?\**([A-Z]|[1-9])\b)");
  return re;
}
const RE2& bracketed_label_re() {
  static const RE2 re(R"([\(\[]([A-Z]|[1-9])[\)\]]|(?:^|[^A-Za-z0-9])([A-Z])\))");
  return re;
}

std::string choice_of(std::string_view reply, const std::vector<ChoiceOption>& options,
                      const std::string& default_labels) {
  std::vector<std::string> labels;
  if (options.empty()) {
    for (char c : default_labels) labels.emplace_back(1, c);
  } else {
    for (const auto& o : options) labels.push_back(o.label);
  }
  const std::string_view t = strip_markup(reply);
  if (t.empty()) return "";
  const std::string norm = normalise_text(t);
  // 1. The exact text of an option.
  for (const auto& o : options)
    if (!o.text.empty() && norm == o.text) return o.label;
  // 2. A leading label closed by ')', ']', '.', ':', ',', '-', the end, a line end or " (".
  const auto lead = leading_label(t);
  if (lead) {
    std::string_view rest = lead->rest;
    const bool line_end = !rest.empty() && (rest.front() == '\n' || rest.front() == '\r');
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
    const bool strong =
        rest.empty() || line_end ||
        std::string_view(")].:,-(\n\r").find(rest.front()) != std::string_view::npos;
    if (strong) {
      auto label = resolve_label(lead->token, labels);
      if (!label.empty()) return label;
    }
  }
  // 3. "The answer is B", "Answer: (C)", "option 2": the last such phrase.
  {
    re2::StringPiece input(t.data(), t.size());
    std::string token, last;
    while (RE2::FindAndConsume(&input, explicit_answer_re(), &token)) {
      auto label = resolve_label(token, labels);
      if (!label.empty()) last = label;
    }
    if (!last.empty()) return last;
  }
  // 4. The reply starts with an option's text (the longest), or stops inside one (truncated).
  if (!options.empty() && !norm.empty()) {
    const ChoiceOption* best = nullptr;
    for (const auto& o : options)
      if (!o.text.empty() && starts_with_words(norm, o.text) &&
          (!best || o.text.size() > best->text.size()))
        best = &o;
    if (best) return best->label;
    if (norm.size() >= 3) {
      const ChoiceOption* only = nullptr;
      int count = 0;
      for (const auto& o : options)
        if (o.text.size() > norm.size() && o.text.compare(0, norm.size(), norm) == 0) {
          only = &o;
          ++count;
        }
      if (count == 1) return only->label;
    }
  }
  // 5. A leading label followed by words ("A questioning").
  if (lead && !lead->rest.empty() && is_space(lead->rest.front())) {
    auto label = resolve_label(lead->token, labels);
    if (!label.empty() && lead->token.size() == 1 && is_upper(lead->token[0])) return label;
  }
  // 6. A last line that is a bare label.
  {
    const auto nl = t.find_last_of('\n');
    if (nl != std::string_view::npos) {
      const auto last_line = strip_markup(t.substr(nl + 1));
      const auto l = leading_label(last_line);
      if (l && trim(l->rest).find_first_not_of(").]:*") == std::string_view::npos) {
        auto label = resolve_label(l->token, labels);
        if (!label.empty()) return label;
      }
    }
  }
  // 7. A bracketed label anywhere: "(C)", "[2]", "C)"; the last one naming a label.
  {
    re2::StringPiece input(t.data(), t.size());
    std::string a, b, last;
    while (RE2::FindAndConsume(&input, bracketed_label_re(), &a, &b)) {
      auto label = resolve_label(a.empty() ? b : a, labels);
      if (!label.empty()) last = label;
    }
    if (!last.empty()) return last;
  }
  return "";
}

const RE2& final_number_re() {
  static const RE2 re(
      R"((?:(?i:answer(?:\s+is)?)\s*[:=]?|####|\\boxed\{)\s*\$?\s*(-?\d[\d,]*(?:\.\d+)?(?:/\d+)?))");
  return re;
}
const RE2& any_number_re() {
  static const RE2 re(R"((-?\d[\d,]*(?:\.\d+)?(?:/\d+)?))");
  return re;
}

std::string number_of(std::string_view reply) {
  re2::StringPiece input(reply.data(), reply.size());
  std::string token, last;
  while (RE2::FindAndConsume(&input, final_number_re(), &token)) last = token;
  if (last.empty()) {
    input = re2::StringPiece(reply.data(), reply.size());
    while (RE2::FindAndConsume(&input, any_number_re(), &token)) last = token;
  }
  return last.empty() ? "" : normalise_number(last);
}

// Removes a '#' comment from a line of Python, outside string literals.
std::string_view strip_comment(std::string_view line) {
  char quote = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote) {
      if (c == '\\') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '#') {
      return line.substr(0, i);
    }
  }
  return line;
}

bool starts_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(0, p.size()) == p;
}

}  // namespace

std::optional<AnswerKind> parse_answer_kind(std::string_view name) {
  if (name == "auto") return AnswerKind::kAuto;
  if (name == "choice") return AnswerKind::kChoice;
  if (name == "number") return AnswerKind::kNumber;
  if (name == "code") return AnswerKind::kCode;
  if (name == "text") return AnswerKind::kText;
  return std::nullopt;
}

const char* answer_kind_name(AnswerKind kind) {
  switch (kind) {
    case AnswerKind::kAuto:
      return "auto";
    case AnswerKind::kChoice:
      return "choice";
    case AnswerKind::kNumber:
      return "number";
    case AnswerKind::kCode:
      return "code";
    case AnswerKind::kText:
      return "text";
  }
  return "auto";
}

std::string normalise_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80 || is_alnum(c)) {
      if (pending_space && !out.empty()) out.push_back(' ');
      pending_space = false;
      out.push_back(static_cast<char>(u < 0x80 ? std::tolower(u) : u));
    } else {
      pending_space = true;
    }
  }
  return out;
}

std::string normalise_number(std::string_view text) {
  std::string digits;
  for (char c : text)
    if (is_digit(c) || c == '.' || c == '-' || c == '/') digits.push_back(c);
  if (digits.empty() || digits.find_first_of("0123456789") == std::string::npos) return "";
  const auto slash = digits.find('/');
  double value = std::strtod(digits.c_str(), nullptr);
  if (slash != std::string::npos) {
    const double den = std::strtod(digits.c_str() + slash + 1, nullptr);
    if (den == 0) return digits;
    value /= den;
  }
  if (!std::isfinite(value)) return digits;
  if (value == 0) value = 0;  // -0 → 0
  char buf[64];
  if (std::fabs(value) < 1e15 && value == std::floor(value)) {
    std::snprintf(buf, sizeof buf, "%.0f", value);
  } else {
    std::snprintf(buf, sizeof buf, "%.9g", value);
  }
  return buf;
}

std::string_view code_of(std::string_view reply) {
  std::string_view first, with_def;
  auto consider = [&](std::string_view block) {
    if (first.empty()) first = block;
    if (with_def.empty() && (block.find("def ") != std::string_view::npos ||
                             block.find("class ") != std::string_view::npos))
      with_def = block;
  };
  std::size_t pos = 0;
  while (with_def.empty() && (pos = reply.find("```", pos)) != std::string_view::npos) {
    auto body = reply.find('\n', pos + 3);
    if (body == std::string_view::npos) break;
    auto end = reply.find("```", body + 1);
    if (end == std::string_view::npos) end = reply.size();  // a truncated reply
    consider(reply.substr(body + 1, end - body - 1));
    pos = end + 3;
    if (pos >= reply.size()) break;
  }
  pos = 0;
  while (with_def.empty() && (pos = reply.find("[PYTHON]", pos)) != std::string_view::npos) {
    const auto body = pos + 8;
    auto end = reply.find("[/PYTHON]", body);
    if (end == std::string_view::npos) end = reply.size();
    consider(reply.substr(body, end - body));
    pos = end;
  }
  if (!with_def.empty()) return with_def;
  if (!first.empty()) return first;
  const auto def = reply.find("def ");
  if (def != std::string_view::npos && (def == 0 || reply[def - 1] == '\n'))
    return reply.substr(def);
  return {};
}

std::string normalise_code(std::string_view code) {
  std::string out;
  std::vector<std::size_t> indents{0};
  bool in_docstring = false;
  bool keep_block = false;  // inside a top-level def/class/import kept
  std::string_view rest = code;
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    std::size_t width = 0;
    while (width < line.size() && (line[width] == ' ' || line[width] == '\t'))
      width += 1;  // a tab counts as one column here; levels are relative anyway
    std::string_view body = trim(line.substr(width));
    if (in_docstring) {
      if (body.find("\"\"\"") != std::string_view::npos ||
          body.find("'''") != std::string_view::npos)
        in_docstring = false;
      continue;
    }
    if (starts_with(body, "\"\"\"") || starts_with(body, "'''")) {
      const std::string_view q = body.substr(0, 3);
      if (body.size() < 6 || body.substr(3).find(q) == std::string_view::npos) in_docstring = true;
      continue;
    }
    body = trim(strip_comment(body));
    if (body.empty()) continue;
    if (width == 0) {
      keep_block = starts_with(body, "def ") || starts_with(body, "class ") ||
                   starts_with(body, "import ") || starts_with(body, "from ") ||
                   starts_with(body, "@") || starts_with(body, "async def ");
    }
    if (!keep_block) continue;
    while (indents.size() > 1 && width < indents.back()) indents.pop_back();
    if (width > indents.back()) indents.push_back(width);
    out.append(indents.size() - 1, '\t');
    bool space = false;
    for (char c : body) {
      if (c == ' ' || c == '\t') {
        space = true;
        continue;
      }
      if (space) out.push_back(' ');
      space = false;
      out.push_back(c);
    }
    out.push_back('\n');
  }
  return out;
}

std::vector<ChoiceOption> prompt_options(std::string_view prompt) {
  std::vector<ChoiceOption> run, last;
  auto close_run = [&] {
    if (run.size() >= 2) last = std::move(run);
    run.clear();
  };
  std::string_view rest = prompt;
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    std::string_view line = trim(rest.substr(0, nl));
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    const auto lead = leading_label(line);
    bool option = false;
    if (lead && !lead->rest.empty() &&
        (lead->rest.front() == ')' || lead->rest.front() == '.' || lead->rest.front() == ':' ||
         (lead->bracketed && lead->rest.front() == ']')) &&
        lead->rest.size() >= 2 && is_space(lead->rest[1])) {
      const std::string& t = lead->token;
      const std::string expected =
          run.empty() ? std::string()
                      : (is_digit(run.back().label[0])
                             ? std::to_string(std::atoi(run.back().label.c_str()) + 1)
                             : std::string(1, static_cast<char>(run.back().label[0] + 1)));
      if (run.empty() ? (t == "A" || t == "1") : t == expected) {
        option = true;
      } else if (t == "A" || t == "1") {
        close_run();
        option = true;
      }
      if (option) run.push_back({t, normalise_text(lead->rest.substr(2))});
    }
    if (!option && !line.empty()) close_run();
  }
  close_run();
  return last;
}

Result<AnswerExtractor> AnswerExtractor::make(ExtractorOptions options) {
  AnswerExtractor out;
  for (const auto& p : options.patterns) {
    auto re = std::make_shared<const RE2>(p, RE2::Quiet);
    if (!re->ok())
      return make_error(ErrorKind::kBadRequest, "bad_config",
                        "pattern '" + p + "' is not a valid RE2 pattern: " + re->error());
    out.patterns_.push_back(std::move(re));
  }
  if (options.labels.empty()) options.labels = "ABCDE";
  out.options_ = std::move(options);
  return out;
}

AnswerKind AnswerExtractor::resolve(std::string_view prompt,
                                    const std::vector<ChoiceOption>& options,
                                    const std::vector<std::string_view>& replies) const {
  if (options_.kind != AnswerKind::kAuto) return options_.kind;
  if (!options.empty()) return AnswerKind::kChoice;
  static const RE2 asks_code(R"((?i)\b(?:function|program|script|python|code|implement)\b)");
  if (RE2::PartialMatch(re2::StringPiece(prompt.data(), prompt.size()), asks_code))
    return AnswerKind::kCode;
  for (auto r : replies)
    if (r.find("```") != std::string_view::npos) return AnswerKind::kCode;
  return AnswerKind::kText;
}

std::string AnswerExtractor::normalise(AnswerKind kind, std::string_view raw,
                                       const std::vector<ChoiceOption>& options) const {
  switch (kind) {
    case AnswerKind::kChoice:
      return choice_of(raw, options, options_.labels);
    case AnswerKind::kNumber:
      return normalise_number(raw);
    case AnswerKind::kCode:
      return normalise_code(raw);
    default:
      return normalise_text(raw);
  }
}

std::string AnswerExtractor::builtin(AnswerKind kind, std::string_view reply,
                                     const std::vector<ChoiceOption>& options) const {
  switch (kind) {
    case AnswerKind::kChoice:
      return choice_of(reply, options, options_.labels);
    case AnswerKind::kNumber:
      return number_of(reply);
    case AnswerKind::kCode: {
      const auto code = code_of(reply);
      return code.empty() ? "" : normalise_code(code);
    }
    default: {
      std::string text = normalise_text(reply);
      for (std::string_view prefix : {"the answer is ", "answer ", "final answer "}) {
        if (starts_with(text, prefix)) {
          text.erase(0, prefix.size());
          break;
        }
      }
      return text;
    }
  }
}

std::vector<std::string> AnswerExtractor::extract(std::string_view prompt,
                                                  const std::vector<std::string_view>& replies,
                                                  AnswerKind* kind_used) const {
  const auto options = prompt_options(prompt);
  const AnswerKind kind = resolve(prompt, options, replies);
  if (kind_used) *kind_used = kind;
  std::vector<std::string> out;
  out.reserve(replies.size());
  for (auto reply : replies) {
    std::string answer;
    for (const auto& re : patterns_) {
      const int groups = re->NumberOfCapturingGroups() >= 1 ? 1 : 0;
      const re2::StringPiece text(reply.data(), reply.size());
      re2::StringPiece sub[2];
      std::string found;
      bool any = false;
      std::size_t pos = 0;
      while (pos <= text.size() &&
             re->Match(text, pos, text.size(), RE2::UNANCHORED, sub, 1 + groups)) {
        const re2::StringPiece piece = sub[groups];
        found.assign(piece.data(), piece.size());
        any = true;
        if (!options_.last_match) break;
        pos = static_cast<std::size_t>(sub[0].data() - text.data()) +
              std::max<std::size_t>(sub[0].size(), 1);
      }
      if (any) {
        answer = normalise(kind, found, options);
        if (!answer.empty()) break;
      }
    }
    if (answer.empty() && options_.builtin) answer = builtin(kind, reply, options);
    out.push_back(std::move(answer));
  }
  return out;
}

std::string AnswerExtractor::extract_one(std::string_view prompt, std::string_view reply) const {
  return extract(prompt, {reply}).front();
}

}  // namespace switchboard::judges
