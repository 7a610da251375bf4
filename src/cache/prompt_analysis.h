// What a semantic lookup needs from a chat request, from one pass over its last message: the
// guard features of that message (cache/features.h, as normalise() leaves its text: whitespace
// collapsed) and the GloVe embedding of the whole prompt (signals::GloveTable::embed of
// ChatRequest::prompt_text, the vector the signals stage would compute). The last message is
// split and lower-cased once (cache/words.h) for both; earlier messages, if any, are only hashed
// for the embedding.
//
// Contract: the results are exactly extract_features(collapse_whitespace(last message)) — with
// Features::unknown set from the table: the last message's words it has no vector for — and
// glove.embed(prompt_text) (cache_prompt_analysis_test compares them). `embedding` null: features
// only. A prompt longer than the embedding's window (signals::kEmbedHeadBytes + kEmbedTailBytes)
// is embedded by GloveTable::embed itself. Memory: a per-thread buffer of word hashes bounded by
// that window (~16k words).
#pragma once

#include <vector>

#include "api/chat_request.h"
#include "cache/features.h"
#include "signals/glove.h"

namespace switchboard::cache {

void analyse_prompt(const api::ChatRequest& req, const signals::GloveTable& glove,
                    Features& features, std::vector<float>* embedding);

}  // namespace switchboard::cache
