#include "cache/prompt_analysis.h"

#include <algorithm>
#include <unordered_set>

#include "cache/words.h"

namespace switchboard::cache {
namespace {

// Features::unknown of the last message's embedding words (their hashes, in text order): words
// of one or two bytes are left out (the table has no "a" nor "i"; "What is the way to reverse a
// list" and "How do I reverse a list" are one question).
std::uint64_t unknown_words(const std::vector<std::uint64_t>& hashes,
                            const signals::GloveTable& glove) {
  // First occurrences: a short list searched linearly (no allocation per word), a hash set past
  // 64 distinct unknown words.
  thread_local std::vector<std::uint64_t> seen;
  thread_local std::unordered_set<std::uint64_t> many;
  seen.clear();
  many.clear();
  std::uint64_t folded = 0;
  for (const std::uint64_t h : hashes) {
    if (glove.known(h)) continue;
    if (seen.size() < 64) {
      if (std::find(seen.begin(), seen.end(), h) != seen.end()) continue;
      seen.push_back(h);
      if (seen.size() == 64) many.insert(seen.begin(), seen.end());
    } else if (!many.insert(h).second) {
      continue;
    }
    folded = (folded ^ h) * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
  }
  if (many.size() > 4096) many = {};  // a huge message's set is not kept for the thread
  return folded;
}

}  // namespace

void analyse_prompt(const api::ChatRequest& req, const signals::GloveTable& glove,
                    Features& features, std::vector<float>* embedding) {
  FeatureBuilder builder;
  if (req.messages.empty()) {
    features = builder.finish();
    if (embedding) glove.embed(req.prompt_text, *embedding);
    return;
  }
  const api::MessageSpan& last = req.messages.back();
  const std::string_view text = req.text_of(last);
  auto add = [&](const WordView& w) { builder.add(w, text); };
  thread_local std::vector<std::uint64_t> last_words;
  last_words.clear();
  // The embedding can reuse the scan when the last message ends the prompt (always, for a parsed
  // chat request) and the prompt fits the embedding's window (else embed() reads head and tail).
  const bool fused =
      embedding && req.prompt_text.size() <= signals::kEmbedHeadBytes + signals::kEmbedTailBytes &&
      last.offset + last.length == req.prompt_text.size();
  if (!fused) {
    scan_words(text, Newlines::kSpace, add, [](std::uint64_t h, std::size_t bytes) {
      if (bytes > 2) last_words.push_back(h);
    });
    builder.add_operators(text);
    features = builder.finish();
    features.unknown = unknown_words(last_words, glove);
    if (last_words.capacity() > (std::size_t{1} << 16)) last_words = {};  // not kept per thread
    if (embedding) glove.embed(req.prompt_text, *embedding);
    return;
  }
  thread_local std::vector<std::uint64_t> hashes;
  hashes.clear();
  // Earlier messages (joined by '\n', a non-word byte: word runs are the same as in the whole).
  signals::GloveTable::word_hashes(std::string_view(req.prompt_text).substr(0, last.offset),
                                   hashes);
  scan_words(text, Newlines::kSpace, add, [](std::uint64_t h, std::size_t bytes) {
    if (bytes <= signals::kMaxWordBytes) hashes.push_back(h);
    if (bytes > 2) last_words.push_back(h);
  });
  builder.add_operators(text);
  features = builder.finish();
  features.unknown = unknown_words(last_words, glove);
  glove.embed_hashes(hashes, *embedding);
}

}  // namespace switchboard::cache
