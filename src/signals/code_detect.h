// Whether a prompt contains source code: a Markdown code fence (```), or enough lines that look
// like code (keywords that start statements, lines ending in ';' '{' '}' or ':' after a
// def/if/for header, '#include', operators such as '=>', '->', '::', '==', '!=', '&&').
//
// Contract: pure function of the text, no allocation; reads at most kCodeScanBytes (the first
// 24 KiB and the last 8 KiB of longer prompts, like the embedding). "Enough" is >= 2 code-like
// lines making up at least a quarter of the non-empty lines, or >= 8 such lines anywhere, or one
// line when it is the whole prompt and it is strongly code-like. A request *about* code written in
// prose
// ("write a python function that ...") has no code; that is the task signal's business.
#pragma once

#include <cstddef>
#include <string_view>

namespace switchboard::signals {

inline constexpr std::size_t kCodeScanHeadBytes = 24 * 1024;
inline constexpr std::size_t kCodeScanTailBytes = 8 * 1024;

bool detect_code(std::string_view text);

// Exposed for tests: 0 = prose, 1 = code-like, 2 = strongly code-like.
int code_line_score(std::string_view line);

}  // namespace switchboard::signals
