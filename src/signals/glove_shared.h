// One loaded GloVe table per file for the whole process: the signals extractor, the guard's
// out-of-domain model and the cache stage all embed with the same ~55 MB table, so they share it
// instead of each reading its own copy.
//
// Contract: shared_glove() returns the table already loaded from the same path while any holder
// keeps it alive, else opens it (GloveTable::open: its errors unchanged). Thread-safe; the table is
// immutable. The path is `weights_dir`/glove-100d.bin, `weights_dir` empty meaning
// default_weights_dir().
#pragma once

#include <memory>
#include <string>

#include "signals/glove.h"
#include "switchboard/result.h"

namespace switchboard::signals {

Result<std::shared_ptr<const GloveTable>> shared_glove(const std::string& weights_dir);

}  // namespace switchboard::signals
