// A loaded fastText model (libfasttext, Debian's libfasttext-dev) used as a text classifier: the
// language identifier lid.176.ftz and the optional trained task classifier.
//
// Contract: load() never throws (fastText's exceptions become Errors naming the file). predict()
// is const and thread-safe (fastText's predict keeps its state on the stack), does no I/O, and
// classifies at most the last `max_bytes` of the text (cut at a UTF-8 boundary), with newlines
// turned into spaces so the text is one fastText "line".
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "switchboard/result.h"

namespace fasttext {
class FastText;
}

namespace switchboard::signals {

struct Prediction {
  std::string label;  // without fastText's "__label__" prefix; empty = nothing predicted
  float probability = 0;
};

class FastTextModel {
 public:
  // `install_hint` ends the message when the file is missing ("install it with `make weights`").
  static Result<std::unique_ptr<FastTextModel>> load(const std::string& path,
                                                     const std::string& install_hint);
  ~FastTextModel();

  Prediction predict(std::string_view text, std::size_t max_bytes) const;

 private:
  FastTextModel();
  std::unique_ptr<fasttext::FastText> ft_;
};

}  // namespace switchboard::signals
