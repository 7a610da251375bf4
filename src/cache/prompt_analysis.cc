#include "cache/prompt_analysis.h"

#include "cache/words.h"

namespace switchboard::cache {

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
  // The embedding can reuse the scan when the last message ends the prompt (always, for a parsed
  // chat request) and the prompt fits the embedding's window (else embed() reads head and tail).
  const bool fused =
      embedding && req.prompt_text.size() <= signals::kEmbedHeadBytes + signals::kEmbedTailBytes &&
      last.offset + last.length == req.prompt_text.size();
  if (!fused) {
    scan_words(text, Newlines::kSpace, add, [](std::uint64_t) {});
    builder.add_operators(text);
    features = builder.finish();
    if (embedding) glove.embed(req.prompt_text, *embedding);
    return;
  }
  thread_local std::vector<std::uint64_t> hashes;
  hashes.clear();
  // Earlier messages (joined by '\n', a non-word byte: word runs are the same as in the whole).
  signals::GloveTable::word_hashes(std::string_view(req.prompt_text).substr(0, last.offset),
                                   hashes);
  scan_words(text, Newlines::kSpace, add, [](std::uint64_t h) { hashes.push_back(h); });
  builder.add_operators(text);
  features = builder.finish();
  glove.embed_hashes(hashes, *embedding);
}

}  // namespace switchboard::cache
