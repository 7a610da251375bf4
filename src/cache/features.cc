#include "cache/features.h"

#include <algorithm>
#include <array>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "cache/words.h"

namespace switchboard::cache {
namespace {

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

// Every listed word with what it is, in a flat open-addressing table keyed by the word's FNV-1a
// hash (the hash the tokeniser computes anyway, cache/words.h), so that a word costs one probe of
// a table that fits in L2, never a copy or a std::hash. A hash match is confirmed against the
// listed word, so no unlisted word is ever taken for a listed one.
enum WordKind : std::uint8_t {
  kNegation = 1,
  kNumber = 2,
  kLanguage = 4,
  kPolarity = 8,
  kStarter = 16
};
struct WordInfo {
  std::string_view word;
  std::uint64_t number_hash = 0;  // kNumber: fnv1a of the value it stands for
  std::uint8_t kinds = 0;
};
class Lexicon {
 public:
  Lexicon() {
    auto at = [this](std::string_view w) -> WordInfo& {
      const std::uint64_t h = fnv1a(w);
      for (std::size_t i = h & kMask;; i = (i + 1) & kMask) {
        if (hashes_[i] == 0) {
          hashes_[i] = h;
          index_[i] = static_cast<std::uint16_t>(infos_.size());
          infos_.push_back({w});
          return infos_.back();
        }
        if (hashes_[i] == h && infos_[index_[i]].word == w) return infos_[index_[i]];
      }
    };
    infos_.reserve(kSize / 2);  // no reallocation: `at` returns references into it
    for (auto w : negation_words()) at(w).kinds |= kNegation;
    for (auto [w, v] : number_words()) {
      auto& e = at(w);
      e.kinds |= kNumber;
      e.number_hash = fnv1a(v);
    }
    for (auto w : language_words()) at(w).kinds |= kLanguage;
    for (auto w : polarity_words()) at(w).kinds |= kPolarity;
    for (auto w : sentence_starters()) at(w).kinds |= kStarter;
  }
  // The entry of the word whose plain form (lowercase, no apostrophes) hashes to `hash`, or null.
  // `bytes` is the word as written, to confirm the match.
  const WordInfo* find(std::uint64_t hash, std::string_view bytes) const {
    for (std::size_t i = hash & kMask;; i = (i + 1) & kMask) {
      if (hashes_[i] == 0) return nullptr;
      if (hashes_[i] == hash && same_plain(bytes, infos_[index_[i]].word))
        return &infos_[index_[i]];
    }
  }

 private:
  static bool same_plain(std::string_view bytes, std::string_view listed) {
    std::size_t j = 0;
    for (char ch : bytes) {
      if (ch == '\'') continue;
      const char l = (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch + 32) : ch;
      if (j == listed.size() || listed[j] != l) return false;
      ++j;
    }
    return j == listed.size();
  }
  // Probes touch only the hashes (16 KiB, in L1): > 3x the ~600 listed words, short probes. No
  // listed word hashes to 0 (the free mark).
  static constexpr std::size_t kSize = 2048;
  static constexpr std::size_t kMask = kSize - 1;
  std::array<std::uint64_t, kSize> hashes_{};
  std::array<std::uint16_t, kSize> index_{};
  std::vector<WordInfo> infos_;
};
const Lexicon& lexicon() {
  static const Lexicon l;
  return l;
}

// Keeps the first occurrence of each value, in order: "km to miles" and "miles to km" differ.
// In place; long lists use a flat hash set.
void first_occurrences(std::vector<std::uint64_t>& v) {
  std::size_t kept = 0;
  if (v.size() <= 32) {  // short lists (most prompts): a linear scan beats hashing
    for (std::size_t i = 0; i < v.size(); ++i)
      if (std::find(v.begin(), v.begin() + kept, v[i]) == v.begin() + kept) v[kept++] = v[i];
  } else {
    std::size_t size = 64;
    while (size < 2 * v.size()) size <<= 1;
    std::vector<std::uint64_t> seen(size, 0);  // 0 = free; the value 0 is tracked apart
    bool zero_seen = false;
    for (std::size_t i = 0; i < v.size(); ++i) {
      const std::uint64_t x = v[i];
      bool fresh;
      if (x == 0) {
        fresh = !zero_seen;
        zero_seen = true;
      } else {
        std::size_t s = (x ^ (x >> 29)) & (size - 1);
        while (seen[s] != 0 && seen[s] != x) s = (s + 1) & (size - 1);
        fresh = seen[s] == 0;
        seen[s] = x;
      }
      if (fresh) v[kept++] = x;
    }
  }
  v.resize(kept);
}

const std::uint64_t kHashOfI = fnv1a("i");

}  // namespace

void FeatureBuilder::add(const WordView& w, std::string_view text) {
  if (w.has_digit) {
    f_.numbers.push_back(w.digits);
    if (w.has_alpha && !w.ordinal_chars) f_.entities.push_back(w.lower);  // GPT4, B12, iOS17
    return;
  }
  const WordInfo* info = lexicon().find(w.plain, w.text(text));
  const std::uint8_t kinds = info ? info->kinds : 0;
  // Contractions: "don't" counts as a negation; other apostrophes are dropped.
  if (w.ends_nt || (kinds & kNegation)) {
    ++f_.negations;
    return;
  }
  if (kinds & kNumber) {
    f_.numbers.push_back(info->number_hash);
    return;
  }
  if (kinds & kLanguage) {
    f_.polarity.push_back(w.plain);
    return;
  }
  if (kinds & kPolarity) f_.polarity.push_back(w.plain);
  // "I" is no entity (a one-byte word whose plain form is "i").
  const bool pronoun_i = w.end - w.begin == 1 && w.plain == kHashOfI;
  if (w.all_caps || (w.inner_upper && w.first_alpha) ||
      (w.first_upper && !(w.sentence_start && (kinds & kStarter)) && !pronoun_i))
    f_.entities.push_back(w.plain);
}

namespace {

bool operator_char(char c) {
  switch (c) {
    case '+': case '-': case '*': case '/': case '%': case '^': case '=': case '<': case '>':
    case '!': case '&': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool ascii_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

}  // namespace

void FeatureBuilder::add_operators(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (!operator_char(text[i])) continue;
    std::size_t end = i;
    while (end < text.size() && operator_char(text[end])) ++end;
    const std::string_view op = text.substr(i, end - i);
    const bool hyphen = op == "-" && i > 0 && end < text.size() && ascii_letter(text[i - 1]) &&
                        ascii_letter(text[end]);  // well-known, e-mail
    const bool exclamation = op.find_first_not_of('!') == std::string_view::npos;  // "Hello!"
    if (!hyphen && !exclamation) {
      std::uint64_t h = 0xcbf29ce484222325ULL;
      for (char c : op) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
      f_.operators.push_back(h);
    }
    i = end - 1;
  }
}

Features FeatureBuilder::finish() {
  first_occurrences(f_.numbers);
  first_occurrences(f_.polarity);
  first_occurrences(f_.entities);
  first_occurrences(f_.operators);
  return std::move(f_);
}

Features extract_features(std::string_view text, Newlines newlines) {
  FeatureBuilder b;
  scan_words(
      text, newlines, [&](const WordView& w) { b.add(w, text); }, [](std::uint64_t, std::size_t) {});
  b.add_operators(text);
  return b.finish();
}

}  // namespace switchboard::cache
