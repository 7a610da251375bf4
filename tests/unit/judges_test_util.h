// Helpers of the judges' unit tests: build a judge through the JudgeRegistry from YAML, run it on
// answer texts.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "switchboard/judge.h"

namespace switchboard::judges_test {

inline Result<std::unique_ptr<Judge>> build_judge(const std::string& yaml) {
  YAML::Node spec = YAML::Load(yaml);
  const std::string where = "test.yaml:3:5";
  const JudgeFactory* f = JudgeRegistry::instance().find(spec["type"].Scalar());
  if (!f) return make_error(ErrorKind::kBadRequest, "x", "no judge " + spec["type"].Scalar());
  return (*f)(JudgeContext{spec, where});
}

inline JudgeAnswer answer(std::string_view model, std::string_view text,
                          std::optional<AnswerLogprobs> logprobs = std::nullopt,
                          std::string_view finish_reason = "") {
  JudgeAnswer a;
  a.model = model;
  a.text = text;
  a.logprobs = std::move(logprobs);
  a.finish_reason = finish_reason;
  return a;
}

inline Verdict run_judge(const Judge& j, std::string_view prompt,
                         const std::vector<std::string>& texts) {
  std::vector<JudgeAnswer> answers;
  for (const auto& t : texts) answers.push_back(answer("m", t));
  return j.judge({prompt, answers});
}

}  // namespace switchboard::judges_test
