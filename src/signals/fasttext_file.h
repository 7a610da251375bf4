// A fastText model file checked before fastText loads it. fastText 0.9.2's loader trusts the
// file: a truncated dictionary makes it read past the end forever (a word that never ends grows
// until the process runs out of memory: one bad file on a hot reload killed a running gateway), and
// a header whose `dim` disagrees with its matrices passes the load and aborts the process at the
// first prediction. This walks the file's layout (header, arguments, dictionary, the input and
// output matrices, dense or quantized) with every length bounded by the file's size, and accepts
// the file only when it ends exactly where the layout says and the matrices agree with `dim`.
//
// Pure reading; never throws. Does not judge what the model predicts.
#pragma once

#include <string>

#include "switchboard/result.h"

namespace switchboard::signals {

// Ok, or an error (kBadRequest, "bad_model_file") naming what is wrong and where.
Result<bool> check_fasttext_file(const std::string& path);

}  // namespace switchboard::signals
