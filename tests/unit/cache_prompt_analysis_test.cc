// The shared tokeniser (cache/words.h) gives exactly what the cache computed before it: the same
// guard features as the previous extraction (cache_features_reference.h, a copy of the old code)
// on the shipped pairs and on random text, the same features from a raw text as from its
// collapsed form, and the same embedding from analyse_prompt() as from GloveTable::embed() of the
// whole prompt. Needs the GloVe weights (`make weights`).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "api/chat_request.h"
#include "cache/features.h"
#include "cache/prompt_analysis.h"
#include "cache/request_key.h"
#include "cache_features_reference.h"
#include "signals/extractor.h"
#include "signals/glove.h"
#include "signals/glove_shared.h"
#include "signals/words.h"

namespace switchboard::cache {
namespace {

const signals::GloveTable& glove() {
  static auto g = signals::shared_glove("");
  EXPECT_TRUE(g) << g.error().message;
  return **g;
}

std::string describe(const Features& f) {
  return "numbers " + std::to_string(f.numbers.size()) + ", polarity " +
         std::to_string(f.polarity.size()) + ", entities " + std::to_string(f.entities.size()) +
         ", negations " + std::to_string(f.negations);
}

// Text that exercises every rule of the tokeniser: listed words in any case, contractions,
// numbers with inner punctuation, C++/C#, acronyms, inner capitals, sentence punctuation,
// newlines and other whitespace, UTF-8, words longer than the embedding's 48-byte limit.
std::string random_text(std::mt19937_64& rng, std::size_t words, bool raw_bytes = true) {
  static const std::vector<std::string> pieces = {"not",
                                                  "don't",
                                                  "Don't",
                                                  "CAN'T",
                                                  "isn't",
                                                  "no",
                                                  "never",
                                                  "without",
                                                  "two",
                                                  "Second",
                                                  "half",
                                                  "French",
                                                  "python",
                                                  "C++",
                                                  "c#",
                                                  "F#",
                                                  "C",
                                                  "I",
                                                  "i",
                                                  "I'm",
                                                  "What",
                                                  "what",
                                                  "How",
                                                  "enable",
                                                  "Disable",
                                                  "km",
                                                  "miles",
                                                  "1,000",
                                                  "1000",
                                                  "3.14",
                                                  "9:30",
                                                  "1/2",
                                                  "2nd",
                                                  "21st",
                                                  "GPT4",
                                                  "iPhone",
                                                  "iOS17",
                                                  "B12",
                                                  "NASA",
                                                  "U.S.",
                                                  "rock'n'roll",
                                                  "O'Neil",
                                                  "Paris",
                                                  "London",
                                                  "the",
                                                  "The",
                                                  "capital",
                                                  "of",
                                                  "cook",
                                                  "rice",
                                                  "café",
                                                  "Ünïcode",
                                                  "日本語",
                                                  "x",
                                                  "'quoted'",
                                                  "end.",
                                                  "(aside)",
                                                  "-dash",
                                                  "#tag",
                                                  "> quote",
                                                  "a:b",
                                                  "1.",
                                                  ".5",
                                                  "5.",
                                                  "1,",
                                                  ",2",
                                                  "10,000,000",
                                                  "it's",
                                                  "Its",
                                                  "ok",
                                                  "OK",
                                                  "hello",
                                                  "World",
                                                  "42nd",
                                                  "0x1F",
                                                  std::string(50, 'a'),
                                                  std::string(48, 'b'),
                                                  "A" + std::string(60, 'z') + "'s",
                                                  "'",
                                                  "''",
                                                  "+",
                                                  "++",
                                                  "#",
                                                  "n't",
                                                  "N'T",
                                                  "AI's",
                                                  "e-mail",
                                                  "don''t",
                                                  "3..4",
                                                  "3,,4"};
  static const std::vector<std::string> seps = {" ",  " ",  " ",  "  ", "\n", "\n\n", "\t",  ". ",
                                                "? ", "! ", ", ", "; ", ": ", "\r\n", " - ", "\"",
                                                "'",  "",   "\f", "\v", "*",  "/"};
  std::string t;
  std::uniform_int_distribution<std::size_t> p(0, pieces.size() - 1), s(0, seps.size() - 1);
  for (std::size_t i = 0; i < words; ++i) {
    if (raw_bytes && rng() % 8 == 0) {  // random bytes too (not valid UTF-8: not in JSON)
      const int n = static_cast<int>(rng() % 4) + 1;
      for (int k = 0; k < n; ++k) t.push_back(static_cast<char>(rng() % 256));
    } else {
      t += pieces[p(rng)];
    }
    t += seps[s(rng)];
  }
  return t;
}

// The reference predates the operator guard (compared apart: the same raw or collapsed).
// Without what the reference never computed: operators, unknown words (analyse_prompt's).
Features without_operators(Features f) {
  f.operators.clear();
  f.unknown = 0;
  return f;
}

void expect_same_features(const std::string& text) {
  EXPECT_EQ(extract_features(text).operators,
            extract_features(collapse_whitespace(text), Newlines::kSpace).operators);
  const Features old_plain = reference::extract_features(text);
  const Features now_plain = without_operators(extract_features(text));
  EXPECT_TRUE(old_plain == now_plain)
      << "text: " << text << "\nold " << describe(old_plain) << "\nnew " << describe(now_plain);
  // What the cache stores: the features of the collapsed text, now read from the raw one.
  const Features old_collapsed = reference::extract_features(collapse_whitespace(text));
  const Features now_raw = without_operators(extract_features(text, Newlines::kSpace));
  EXPECT_TRUE(old_collapsed == now_raw)
      << "text: " << text << "\nold " << describe(old_collapsed) << "\nnew " << describe(now_raw);
}

TEST(CachePromptAnalysis, SameFeaturesAsBeforeOnTheShippedPairs) {
  std::ifstream in(std::string(SB_SOURCE_DIR) + "/tests/data/cache_pairs.jsonl");
  ASSERT_TRUE(in) << "tests/data/cache_pairs.jsonl missing";
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    expect_same_features(j["a"].get<std::string>());
    expect_same_features(j["b"].get<std::string>());
    ++n;
  }
  EXPECT_GT(n, 300);
}

TEST(CachePromptAnalysis, SameFeaturesAsBeforeOnRandomText) {
  std::mt19937_64 rng(13);
  for (int i = 0; i < 3000; ++i) expect_same_features(random_text(rng, 1 + rng() % 60));
  expect_same_features(random_text(rng, 5000));  // long lists: the hash-set de-duplication
}

TEST(CachePromptAnalysis, CollapseWhitespaceAsBefore) {
  // The previous implementation (a push_back per byte), against the pointer-writing one.
  auto reference = [](std::string_view text) {
    std::string out;
    bool space = false;
    for (char c : text) {
      if (c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
        space = !out.empty();
        continue;
      }
      if (space) out.push_back(' ');
      space = false;
      out.push_back(c);
    }
    return out;
  };
  std::mt19937_64 rng(3);
  for (int i = 0; i < 2000; ++i) {
    const std::string t = random_text(rng, rng() % 40);
    ASSERT_EQ(collapse_whitespace(t), reference(t)) << t;
  }
  EXPECT_EQ(collapse_whitespace(" \n\t "), "");
  EXPECT_EQ(collapse_whitespace("  a \n\n b  "), "a b");
}

TEST(CachePromptAnalysis, NewlinesMatterOnlyInTheirMode) {
  // The check above can fail: a newline starts a sentence in the raw text, not once collapsed.
  const std::string text = "tell me\nWhat about it";
  EXPECT_FALSE(extract_features(text) == extract_features(text, Newlines::kSpace));
  EXPECT_TRUE(extract_features(collapse_whitespace(text)) ==
              extract_features(text, Newlines::kSpace));
}

api::ChatRequest request(const std::vector<std::string>& texts) {
  nlohmann::json messages = nlohmann::json::array();
  for (std::size_t i = 0; i < texts.size(); ++i)
    messages.push_back(
        {{"role", i + 1 == texts.size() ? "user" : "system"}, {"content", texts[i]}});
  const std::string body = nlohmann::json{{"model", "m"}, {"messages", messages}}.dump();
  auto r = api::parse_chat_request(body);
  EXPECT_TRUE(r) << r.error().message;
  return std::move(*r);
}

void expect_same_analysis(const api::ChatRequest& req) {
  Features f;
  std::vector<float> emb, want;
  analyse_prompt(req, glove(), f, &emb);
  const std::size_t found = glove().embed(req.prompt_text, want);
  ASSERT_EQ(emb.size(), want.size()) << "found " << found;
  for (std::size_t k = 0; k < want.size(); ++k) ASSERT_NEAR(emb[k], want[k], 1e-6f) << k;
  const auto last = req.text_of(req.messages.back());
  const Features old = reference::extract_features(collapse_whitespace(last));
  EXPECT_TRUE(old == without_operators(f)) << "old " << describe(old) << "\nnew " << describe(f);
  EXPECT_EQ(f.operators, extract_features(last).operators);
  Features only;
  analyse_prompt(req, glove(), only, nullptr);
  EXPECT_TRUE(only == f);
}

TEST(CachePromptAnalysis, SameEmbeddingAndFeaturesAsSeparatePasses) {
  std::mt19937_64 rng(5);
  // Words from the vocabulary (so that the embedding is not empty), with the tricky pieces.
  auto vocab_text = [&](std::size_t words) {
    std::string t;
    for (std::size_t i = 0; i < words; ++i) {
      t += (rng() % 3 == 0)
               ? random_text(rng, 1, false)
               : std::string(glove().word(rng() % std::min<std::size_t>(50000, glove().size())));
      t += (rng() % 10 == 0) ? "\n" : " ";
    }
    return t;
  };
  for (int i = 0; i < 300; ++i) {
    std::vector<std::string> texts;
    const int messages = 1 + static_cast<int>(rng() % 3);
    for (int m = 0; m < messages; ++m) texts.push_back(vocab_text(1 + rng() % 200));
    expect_same_analysis(request(texts));
  }
  // 2,000 tokens (the target's prompt), and prompts beyond the embedding's window (head + tail).
  expect_same_analysis(request({vocab_text(1600)}));
  expect_same_analysis(request({vocab_text(9000)}));
  expect_same_analysis(request({vocab_text(3000), vocab_text(6000)}));
  expect_same_analysis(request({"!!! ???"}));  // no word at all: empty embedding
}

// Words without a vector add nothing to the embedding, so two questions that differ only in them
// embedded alike (similarity 1.0): "translate to english: кошка" was answered as "... собака".
// They are a guard feature now, compared in order of first occurrence (since session 33).
TEST(CachePromptAnalysis, UnknownWordsMustMatch) {
  auto features = [](const std::string& text) {
    Features f;
    analyse_prompt(request({text}), glove(), f, nullptr);
    return f;
  };
  ASSERT_LT(glove().find("florbixate"), 0);
  ASSERT_LT(glove().find("кошка"), 0);
  EXPECT_EQ(features("define the word house").unknown, 0u);
  EXPECT_NE(features("translate to english: кошка").unknown, 0u);
  EXPECT_FALSE(compatible(features("translate to english: кошка"),
                          features("translate to english: собака")));
  EXPECT_FALSE(compatible(features("define the word florbixate"),
                          features("define the word quazzlenit")));
  EXPECT_FALSE(compatible(features("florbixate or quazzlenit"), features("quazzlenit or florbixate")));
  // An unspaced run of Chinese is one word, longer than the embedding reads (48 bytes): compared
  // all the same (the review found two such sentences at similarity 1.0).
  EXPECT_FALSE(compatible(features("translate into english: 我今天早上在公园里看到了一只非常可爱的小狗"),
                          features("translate into english: 我昨天晚上在图书馆里读了一本非常有趣的小说")));
  // The same unknown words: still a paraphrase (known words may differ; repeats do not count).
  EXPECT_TRUE(compatible(features("please define the word florbixate"),
                         features("what does florbixate florbixate mean")));
  EXPECT_TRUE(compatible(features("how do I reset my password"),
                         features("how can I reset my password")));
  // Words of one or two bytes are not compared: the table has no "a" nor "i".
  ASSERT_LT(glove().find("a"), 0);
  EXPECT_TRUE(compatible(features("How do I reverse a list in Python?"),
                         features("What is the way to reverse a list in Python?")));
}

TEST(CachePromptAnalysis, EmbedHashesEqualsEmbed) {
  std::mt19937_64 rng(9);
  for (int i = 0; i < 50; ++i) {
    std::string t;
    for (int w = 0; w < 400; ++w) t += std::string(glove().word(rng() % glove().size())) + " ";
    std::vector<std::uint64_t> hashes;
    signals::GloveTable::word_hashes(t, hashes);
    std::vector<float> a, b;
    EXPECT_EQ(glove().embed(t, a), glove().embed_hashes(hashes, b));
    EXPECT_EQ(a, b);  // the same sums in the same order: bit for bit
  }
}

TEST(CachePromptAnalysis, EmbedMatchesAPlainReferenceSum) {
  // The vectorised sum against the definition: SIF-weighted mean of the words' vectors, in double.
  std::mt19937_64 rng(11);
  for (int i = 0; i < 50; ++i) {
    std::string t;
    for (int w = 0; w < 300; ++w) t += std::string(glove().word(rng() % glove().size())) + " ";
    std::vector<double> sum(glove().dim(), 0.0);
    signals::for_each_word(t, [&](std::string_view w) {
      const auto row = glove().find(w);
      if (row < 0) return;
      const auto v = glove().vector(static_cast<std::size_t>(row));
      const double weight = glove().weight(static_cast<std::size_t>(row));
      for (std::size_t k = 0; k < v.size(); ++k) sum[k] += weight * v[k];
    });
    double norm = 0;
    for (double x : sum) norm += x * x;
    std::vector<float> got;
    glove().embed(t, got);
    ASSERT_EQ(got.size(), sum.size());
    for (std::size_t k = 0; k < sum.size(); ++k)
      ASSERT_NEAR(got[k], sum[k] / std::sqrt(norm), 1e-5) << k;
  }
}

TEST(SharedGlove, OneCopyPerFile) {
  auto a = signals::shared_glove("");
  auto b = signals::shared_glove(signals::default_weights_dir());
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->get(), b->get());
  auto missing = signals::shared_glove("/nonexistent-dir");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "missing_weights");
}

}  // namespace
}  // namespace switchboard::cache
