#include "policies/rules/condition.h"

#include <algorithm>
#include <functional>

namespace switchboard::policies::rules {
namespace {

using Where = std::function<std::string(const YAML::Node&)>;

[[noreturn]] void fail(const YAML::Node& node, const Where& where, const std::string& why) {
  throw RuleError{where(node) + ": " + why};
}

std::string scalar(const YAML::Node& node, const Where& where, const std::string& what) {
  if (!node.IsScalar() || node.Scalar().empty())
    fail(node, where, what + " must be a non-empty string");
  return node.Scalar();
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::vector<std::string> string_list(const YAML::Node& node, const Where& where,
                                     const std::string& what) {
  std::vector<std::string> out;
  if (node.IsScalar()) {
    out.push_back(scalar(node, where, what));
  } else if (node.IsSequence() && node.size() > 0) {
    for (const auto& item : node) out.push_back(scalar(item, where, what + "[]"));
  } else {
    fail(node, where, what + " must be a string or a non-empty list of strings");
  }
  return out;
}

Condition parse_compare(Condition::Kind kind, const std::string& name, const YAML::Node& node,
                        const Where& where) {
  Condition c;
  c.kind = kind;
  if (!node.IsMap() || node.size() == 0)
    fail(node, where, name + " must be a mapping of comparisons, e.g. {gt: 32000}");
  std::vector<std::string> parts;
  for (const auto& kv : node) {
    const std::string op = kv.first.as<std::string>();
    std::int64_t v = 0;
    try {
      if (!kv.second.IsScalar()) throw YAML::Exception(YAML::Mark::null_mark(), "");
      v = kv.second.as<std::int64_t>();
    } catch (const YAML::Exception&) {
      fail(kv.second, where, name + "." + op + " must be an integer");
    }
    if (op == "gt")
      c.gt = v;
    else if (op == "gte")
      c.gte = v;
    else if (op == "lt")
      c.lt = v;
    else if (op == "lte")
      c.lte = v;
    else if (op == "eq")
      c.eq = v;
    else
      fail(kv.first, where,
           "unknown comparison '" + op + "' in " + name + " (allowed: gt, gte, lt, lte, eq)");
    static const std::map<std::string, std::string> symbol = {
        {"gt", ">"}, {"gte", ">="}, {"lt", "<"}, {"lte", "<="}, {"eq", "=="}};
    parts.push_back(name + " " + symbol.at(op) + " " + std::to_string(v));
  }
  c.text = join(parts, " and ");
  return c;
}

Condition parse_membership(Condition::Kind kind, const std::string& name, const YAML::Node& node,
                           const Where& where) {
  Condition c;
  c.kind = kind;
  if (node.IsMap()) {
    if (node.size() != 1 || !node["not"])
      fail(node, where, name + " as a mapping must be {not: VALUE or [VALUES]}");
    c.negate = true;
    c.values = string_list(node["not"], where, name + ".not");
  } else {
    c.values = string_list(node, where, name);
  }
  c.text = name + (c.negate ? " is not " : " is ") + (c.values.size() > 1 ? "one of " : "") +
           join(c.values, ", ");
  return c;
}

// Keywords become one case-insensitive RE2 alternation, with word boundaries on the sides where the
// keyword starts or ends with a word character (so "c++" and ".NET" still match).
std::shared_ptr<const RE2> compile(const std::string& pattern, bool case_insensitive,
                                   const YAML::Node& node, const Where& where,
                                   const std::string& what) {
  RE2::Options opts;
  opts.set_log_errors(false);
  opts.set_case_sensitive(!case_insensitive);
  auto re = std::make_shared<const RE2>(pattern, opts);
  if (!re->ok()) fail(node, where, what + " is not a valid RE2 pattern: " + re->error());
  return re;
}

bool word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

Condition parse_keywords(const YAML::Node& node, const Where& where) {
  Condition c;
  c.kind = Condition::Kind::kRegex;
  auto words = string_list(node, where, "keywords");
  std::string pattern;
  for (const auto& w : words) {
    if (!pattern.empty()) pattern += '|';
    pattern += (word_char(w.front()) ? "\\b" : "") + RE2::QuoteMeta(w) +
               (word_char(w.back()) ? "\\b" : "");
  }
  c.regex = compile(pattern, true, node, where, "keywords");
  c.text = "keywords (" + join(words, ", ") + ")";
  return c;
}

}  // namespace

Condition parse_condition(const YAML::Node& node, const Where& where) {
  if (!node.IsMap() || node.size() == 0)
    fail(node, where,
         "a condition must be a mapping such as {language: fr}, {all: [...]}, {any: [...]} or "
         "{not: ...}");
  std::vector<Condition> parts;
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    if (key == "all" || key == "any") {
      if (!v.IsSequence() || v.size() == 0)
        fail(v, where, key + " must be a non-empty list of conditions");
      Condition c;
      c.kind = key == "all" ? Condition::Kind::kAll : Condition::Kind::kAny;
      std::vector<std::string> texts;
      for (const auto& item : v) {
        c.children.push_back(parse_condition(item, where));
        texts.push_back(c.children.back().text);
      }
      c.text = "(" + join(texts, key == "all" ? " and " : " or ") + ")";
      parts.push_back(std::move(c));
    } else if (key == "not") {
      Condition c;
      c.kind = Condition::Kind::kNot;
      c.children.push_back(parse_condition(v, where));
      c.text = "not " + c.children.back().text;
      parts.push_back(std::move(c));
    } else if (key == "prompt_tokens") {
      parts.push_back(parse_compare(Condition::Kind::kPromptTokens, key, v, where));
    } else if (key == "message_count") {
      parts.push_back(parse_compare(Condition::Kind::kMessageCount, key, v, where));
    } else if (key == "language") {
      parts.push_back(parse_membership(Condition::Kind::kLanguage, key, v, where));
    } else if (key == "task") {
      parts.push_back(parse_membership(Condition::Kind::kTask, key, v, where));
    } else if (key == "has_code") {
      Condition c;
      c.kind = Condition::Kind::kHasCode;
      try {
        if (!v.IsScalar()) throw YAML::Exception(YAML::Mark::null_mark(), "");
        c.flag = v.as<bool>();
      } catch (const YAML::Exception&) {
        fail(v, where, "has_code must be true or false");
      }
      c.text = c.flag ? "has code" : "has no code";
      parts.push_back(std::move(c));
    } else if (key == "keywords") {
      parts.push_back(parse_keywords(v, where));
    } else if (key == "regex") {
      Condition c;
      c.kind = Condition::Kind::kRegex;
      const std::string pattern = scalar(v, where, "regex");
      c.regex = compile(pattern, false, v, where, "regex");
      c.text = "regex /" + pattern + "/";
      parts.push_back(std::move(c));
    } else {
      fail(kv.first, where,
           "unknown condition '" + key +
               "' (allowed: all, any, not, prompt_tokens, message_count, language, task, has_code, "
               "keywords, regex)");
    }
  }
  if (parts.size() == 1) return std::move(parts.front());
  Condition c;
  c.kind = Condition::Kind::kAll;
  std::vector<std::string> texts;
  for (auto& p : parts) texts.push_back(p.text);
  c.text = "(" + join(texts, " and ") + ")";
  c.children = std::move(parts);
  return c;
}

bool Condition::evaluate(const Signals& s, std::string_view prompt) const {
  auto compare = [&](std::int64_t x) {
    return (!gt || x > *gt) && (!gte || x >= *gte) && (!lt || x < *lt) && (!lte || x <= *lte) &&
           (!eq || x == *eq);
  };
  auto member = [&](const std::string& x) {
    const bool in = std::find(values.begin(), values.end(), x) != values.end();
    return negate ? !in : in;
  };
  switch (kind) {
    case Kind::kAll:
      for (const auto& c : children)
        if (!c.evaluate(s, prompt)) return false;
      return true;
    case Kind::kAny:
      for (const auto& c : children)
        if (c.evaluate(s, prompt)) return true;
      return false;
    case Kind::kNot:
      return !children.front().evaluate(s, prompt);
    case Kind::kPromptTokens:
      return compare(s.prompt_tokens);
    case Kind::kMessageCount:
      return compare(static_cast<std::int64_t>(s.message_count));
    case Kind::kLanguage:
      return member(s.language);
    case Kind::kTask:
      return member(s.task);
    case Kind::kHasCode:
      return s.has_code == flag;
    case Kind::kRegex:
      return RE2::PartialMatch(re2::StringPiece(prompt.data(), prompt.size()), *regex);
  }
  return false;
}

void Condition::add_needs(SignalNeeds& needs) const {
  if (kind == Kind::kLanguage) needs.language = true;
  if (kind == Kind::kTask) needs.task = true;
  if (kind == Kind::kHasCode) needs.code = true;
  for (const auto& c : children) c.add_needs(needs);
}

}  // namespace switchboard::policies::rules
