// The guard features as extracted before the shared tokeniser (cache/words.h): a verbatim copy of
// src/cache/features.cc at commit 62542d1 (one std::string per word, five-way lexicon in a
// std::unordered_map), kept only so that cache_prompt_analysis_test can check that the new
// extraction gives exactly the same features. Header-only, for that one test.
#pragma once
#include "cache/features.h"

// NOLINTBEGIN

#include <algorithm>
#include <array>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace switchboard::cache::reference {
namespace {

std::uint64_t fnv(std::string_view s, std::uint64_t h = 14695981039346656037ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

using WordSet = std::unordered_set<std::string_view>;

const WordSet& negation_words() {
  static const WordSet s = {"not",     "no",      "never",   "none",     "nothing", "nobody",
                            "nowhere", "neither", "nor",     "without",  "cannot",  "non",
                            "dont",    "doesnt",  "didnt",   "isnt",     "arent",   "wasnt",
                            "werent",  "cant",    "couldnt", "shouldnt", "wouldnt", "wont",
                            "havent",  "hasnt",   "hadnt",   "mustnt",   "neednt",  "aint"};
  return s;
}

// Words whose swap for their counterpart inverts a question. Only the marked member of a pair is
// needed when its partner is an ordinary word of neutral phrasing ("turn off" vs "turn on": `off`
// is listed, `on` is not): a swap still leaves the word on one side only.
const WordSet& polarity_words() {
  static const WordSet s = {
      "enable", "disable", "enabled", "disabled", "enabling", "disabling", "activate", "deactivate",
      "allow", "deny", "block", "unblock", "permit", "forbid", "forbidden", "accept", "reject",
      "add", "remove", "delete", "insert", "install", "uninstall", "start", "stop", "begin",
      "finish", "open", "close", "increase", "decrease", "raise", "reduce", "grow", "shrink",
      "maximize", "minimize", "max", "min", "maximum", "minimum", "less", "least", "fewer",
      "fewest", "higher", "lower", "highest", "lowest", "larger", "smaller", "largest", "smallest",
      "bigger", "biggest", "faster", "slower", "fastest", "slowest", "worst", "worse", "better",
      "before", "after", "above", "below", "inside", "outside", "import", "export", "upload",
      "download", "encrypt", "decrypt", "encode", "decode", "compress", "decompress", "push",
      "pull", "buy", "sell", "lend", "borrow", "send", "receive", "win", "lose", "gain", "loss",
      "profit", "true", "false", "positive", "negative", "hot", "cold", "warm", "cool", "hottest",
      "coldest", "warmest", "coolest", "wettest", "driest", "north", "south", "east", "west",
      "left", "right", "down", "off", "backward", "backwards", "ascending", "descending", "oldest",
      "newest", "earliest", "latest", "longest", "shortest", "cheapest", "expensive", "private",
      "public", "async", "asynchronous", "synchronous", "inner", "outer", "lowercase", "uppercase",
      "horizontal", "vertical", "male", "female", "men", "women", "odd", "even", "past", "future",
      "singular", "plural", "import", "lock", "unlock", "mount", "unmount", "subscribe",
      "unsubscribe", "connect", "disconnect", "merge", "split", "join", "leave", "hide", "show",
      "visible", "invisible", "empty", "full", "safe", "unsafe", "dangerous", "legal", "illegal",
      "healthy", "unhealthy", "increase", "wet", "dry", "dark", "light", "under", "over",
      "overweight", "underweight", "rise", "fall", "benefits", "risks", "pros", "cons",
      "advantages", "disadvantages", "similarities", "differences", "cause", "effect",
      // units and currencies
      "celsius", "fahrenheit", "kelvin", "km", "kilometers", "kilometres", "miles", "mile",
      "meters", "metres", "feet", "foot", "inches", "cm", "mm", "kg", "kilograms", "pounds", "lbs",
      "grams", "ounces", "oz", "liters", "litres", "gallons", "cups", "dollars", "euros", "yen",
      "usd", "eur", "gbp", "seconds", "minutes", "hours", "days", "weeks", "months", "years",
      "percent", "mph", "kmh", "bytes", "kb", "mb", "gb", "tb"};
  return s;
}

const WordSet& language_words() {
  static const WordSet s = {
      "english",  "french",     "spanish",    "german",    "italian",    "portuguese", "dutch",
      "russian",  "chinese",    "mandarin",   "cantonese", "japanese",   "korean",     "arabic",
      "hindi",    "bengali",    "urdu",       "turkish",   "polish",     "swedish",    "norwegian",
      "danish",   "finnish",    "greek",      "hebrew",    "vietnamese", "thai",       "indonesian",
      "malay",    "swahili",    "ukrainian",  "czech",     "romanian",   "hungarian",  "latin",
      "persian",  "farsi",      "tagalog",    "catalan",   "irish",      "welsh",      "python",
      "java",     "javascript", "typescript", "c++",       "c#",         "rust",       "golang",
      "ruby",     "php",        "perl",       "kotlin",    "swift",      "scala",      "haskell",
      "sql",      "bash",       "powershell", "lua",       "julia",      "matlab",     "fortran",
      "cobol",    "elixir",     "erlang",     "clojure",   "dart",       "html",       "css",
      "json",     "yaml",       "xml",        "csv",       "markdown",   "ocaml",      "zig",
      "assembly", "verilog",    "sqlite",     "postgres",  "postgresql", "mysql"};
  return s;
}

// Ordinary first words of a sentence: a capitalised one of these is no named entity.
const WordSet& sentence_starters() {
  static const WordSet s = {
      "what",        "how",        "why",         "when",      "where",      "who",
      "whom",        "whose",      "which",       "is",        "are",        "was",
      "were",        "do",         "does",        "did",       "can",        "could",
      "should",      "would",      "will",        "shall",     "may",        "might",
      "must",        "have",       "has",         "had",       "please",     "tell",
      "explain",     "describe",   "write",       "give",      "list",       "name",
      "show",        "summarize",  "summarise",   "translate", "define",     "compare",
      "find",        "calculate",  "compute",     "convert",   "create",     "make",
      "generate",    "suggest",    "recommend",   "help",      "i",          "i'm",
      "im",          "my",         "me",          "we",        "our",        "you",
      "your",        "it",         "its",         "this",      "that",       "these",
      "those",       "there",      "here",        "the",       "a",          "an",
      "in",          "on",         "at",          "for",       "to",         "from",
      "with",        "by",         "of",          "about",     "as",         "if",
      "and",         "or",         "but",         "so",        "then",       "also",
      "any",         "some",       "all",         "each",      "every",      "provide",
      "outline",     "draft",      "rewrite",     "fix",       "debug",      "implement",
      "build",       "design",     "plan",        "give",      "share",      "offer",
      "state",       "identify",   "determine",   "solve",     "answer",     "respond",
      "reply",       "hi",         "hello",       "hey",       "thanks",     "thank",
      "ok",          "okay",       "yes",         "quick",     "briefly",    "simply",
      "just",        "now",        "next",        "first",     "finally",    "then",
      "using",       "use",        "based",       "given",     "assume",     "suppose",
      "imagine",     "consider",   "let",         "let's",     "lets",       "could",
      "mind",        "teach",      "walk",        "break",     "detail",     "elaborate",
      "clarify",     "illustrate", "demonstrate", "discuss",   "analyze",    "analyse",
      "evaluate",    "review",     "check",       "verify",    "is",         "whats",
      "what's",      "how's",      "hows",        "where's",   "who's",      "why's",
      "in",          "kindly",     "need",        "want",      "looking",    "trying",
      "wondering",   "curious",    "say",         "noting",    "note",       "instructions",
      "instruction", "question",   "task",        "steps",     "step",       "guide",
      "tips",        "ways",       "way",         "best",      "good",       "top",
      "main",        "key",        "important",   "common",    "simple",     "short",
      "brief",       "detailed",   "overview",    "meaning",   "definition", "difference",
      "differences", "benefits",   "reasons",     "reason",    "examples",   "example",
      "can't",       "don't",      "doesn't",     "isn't",     "not",        "no",
      "never",       "without"};
  return s;
}

const std::unordered_map<std::string_view, std::string_view>& number_words() {
  static const std::unordered_map<std::string_view, std::string_view> m = {
      {"zero", "0"},        {"one", "1"},         {"two", "2"},       {"three", "3"},
      {"four", "4"},        {"five", "5"},        {"six", "6"},       {"seven", "7"},
      {"eight", "8"},       {"nine", "9"},        {"ten", "10"},      {"eleven", "11"},
      {"twelve", "12"},     {"thirteen", "13"},   {"fourteen", "14"}, {"fifteen", "15"},
      {"sixteen", "16"},    {"seventeen", "17"},  {"eighteen", "18"}, {"nineteen", "19"},
      {"twenty", "20"},     {"thirty", "30"},     {"forty", "40"},    {"fifty", "50"},
      {"sixty", "60"},      {"seventy", "70"},    {"eighty", "80"},   {"ninety", "90"},
      {"hundred", "100"},   {"thousand", "1000"}, {"million", "1e6"}, {"billion", "1e9"},
      {"trillion", "1e12"}, {"dozen", "12"},      {"half", "1/2"},    {"quarter", "1/4"},
      {"third", "3rd"},     {"first", "1st"},     {"second", "2nd"},  {"fourth", "4th"},
      {"fifth", "5th"},     {"sixth", "6th"},     {"seventh", "7th"}, {"eighth", "8th"},
      {"ninth", "9th"},     {"tenth", "10th"},    {"twice", "x2"},    {"double", "x2"},
      {"triple", "x3"},     {"single", "1"},      {"pair", "2"},      {"couple", "2"},
      {"once", "x1"},       {"thrice", "x3"}};
  return m;
}

// Every listed word with what it is, so that a word costs one hash lookup, not five.
enum WordKind : std::uint8_t {
  kNegation = 1,
  kNumber = 2,
  kLanguage = 4,
  kPolarity = 8,
  kStarter = 16
};
struct WordInfo {
  std::uint8_t kinds = 0;
  std::string_view number;  // kNumber: the value it stands for
};
const std::unordered_map<std::string_view, WordInfo>& lexicon() {
  static const std::unordered_map<std::string_view, WordInfo> m = [] {
    std::unordered_map<std::string_view, WordInfo> out;
    for (auto w : negation_words()) out[w].kinds |= kNegation;
    for (auto [w, v] : number_words()) {
      out[w].kinds |= kNumber;
      out[w].number = v;
    }
    for (auto w : language_words()) out[w].kinds |= kLanguage;
    for (auto w : polarity_words()) out[w].kinds |= kPolarity;
    for (auto w : sentence_starters()) out[w].kinds |= kStarter;
    return out;
  }();
  return m;
}

bool is_alpha(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(unsigned char c) {
  return c >= '0' && c <= '9';
}
bool is_upper(unsigned char c) {
  return c >= 'A' && c <= 'Z';
}
bool word_byte(unsigned char c) {
  return is_alpha(c) || is_digit(c) || c >= 0x80;
}

// Keeps the first occurrence of each value, in order: "km to miles" and "miles to km" differ.
void first_occurrences(std::vector<std::uint64_t>& v) {
  std::vector<std::uint64_t> out;
  out.reserve(v.size());
  if (v.size() <= 32) {  // short lists (most prompts): a linear scan beats hashing
    for (auto x : v)
      if (std::find(out.begin(), out.end(), x) == out.end()) out.push_back(x);
  } else {  // long prompts: quadratic no more
    std::unordered_set<std::uint64_t> seen;
    seen.reserve(v.size());
    for (auto x : v)
      if (seen.insert(x).second) out.push_back(x);
  }
  v = std::move(out);
}

}  // namespace

inline Features extract_features(std::string_view text) {
  Features f;
  const std::size_t n = text.size();
  std::size_t i = 0;
  bool sentence_start = true;
  std::string lower;
  std::string digits;
  std::string plain_buf;  // a word without its apostrophes, when it has any
  while (i < n) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (!word_byte(c)) {
      if (c == '.' || c == '?' || c == '!' || c == '\n' || c == ':' || c == ';' || c == '"' ||
          c == '(' || c == '-' || c == '*' || c == '#' || c == '>')
        sentence_start = true;
      ++i;
      continue;
    }
    // A word: letters, digits, non-ASCII bytes, inner apostrophes; a number keeps inner . , : /
    const std::size_t begin = i;
    bool has_digit = false, has_alpha = false, inner_upper = false;
    while (i < n) {
      const unsigned char d = static_cast<unsigned char>(text[i]);
      if (word_byte(d)) {
        has_digit |= is_digit(d);
        has_alpha |= is_alpha(d);
        if (i > begin && is_upper(d)) inner_upper = true;
        ++i;
        continue;
      }
      const bool inner =
          i + 1 < n &&
          (d == '\'' || ((d == '.' || d == ',' || d == ':' || d == '/') &&
                         is_digit(static_cast<unsigned char>(text[i + 1])) && i > begin &&
                         is_digit(static_cast<unsigned char>(text[i - 1]))));
      if (inner && word_byte(static_cast<unsigned char>(text[i + 1]))) {
        ++i;
        continue;
      }
      break;
    }
    std::string_view word = text.substr(begin, i - begin);
    // "C++", "C#", "F#"
    if (i < n && (text[i] == '+' || text[i] == '#') && word.size() == 1) {
      const std::size_t extra = (text[i] == '+' && i + 1 < n && text[i + 1] == '+') ? 2 : 1;
      word = text.substr(begin, i - begin + extra);
      i += extra;
    }
    lower.assign(word);
    for (auto& ch : lower)
      if (is_upper(static_cast<unsigned char>(ch))) ch = static_cast<char>(ch + 32);
    const bool first = sentence_start;
    sentence_start = false;

    if (has_digit) {
      digits.clear();
      for (char ch : lower)
        if (ch != ',') digits.push_back(ch);
      f.numbers.push_back(fnv(digits));
      if (has_alpha && !std::all_of(lower.begin(), lower.end(), [](char ch) {
            return is_digit(static_cast<unsigned char>(ch)) || ch == 's' || ch == 't' ||
                   ch == 'n' || ch == 'd' || ch == 'r' || ch == 'h' || ch == '.' || ch == ',';
          }))
        f.entities.push_back(fnv(lower));  // GPT4, B12, iOS17
      continue;
    }
    // Contractions: "don't" counts as a negation; other apostrophes are dropped.
    std::string_view plain = lower;
    if (lower.find('\'') != std::string::npos) {
      plain_buf.clear();
      for (char ch : lower)
        if (ch != '\'') plain_buf.push_back(ch);
      plain = plain_buf;
    }
    const auto found = lexicon().find(plain);
    const std::uint8_t kinds = found == lexicon().end() ? 0 : found->second.kinds;
    if (lower.ends_with("n't") || (kinds & kNegation)) {
      ++f.negations;
      continue;
    }
    if (kinds & kNumber) {
      f.numbers.push_back(fnv(found->second.number));
      continue;
    }
    if (kinds & kLanguage) {
      f.polarity.push_back(fnv(plain));
      continue;
    }
    if (kinds & kPolarity) f.polarity.push_back(fnv(plain));
    const unsigned char c0 = static_cast<unsigned char>(word[0]);
    const bool all_caps = word.size() >= 2 && std::all_of(word.begin(), word.end(), [](char ch) {
                            return is_upper(static_cast<unsigned char>(ch)) || ch == '\'';
                          });
    if (all_caps || (inner_upper && is_alpha(c0)) ||
        (is_upper(c0) && !(first && (kinds & kStarter)) && plain != "i"))
      f.entities.push_back(fnv(plain));
  }
  first_occurrences(f.numbers);
  first_occurrences(f.polarity);
  first_occurrences(f.entities);
  return f;
}

}  // namespace switchboard::cache::reference
// NOLINTEND
