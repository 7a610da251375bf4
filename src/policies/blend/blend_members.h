// The member list of a `blend` model directory (DIR/blend.json), shared by its trainer, which
// writes it, and its factory, which reads it: {"members": [{"dir": SUB, "weight": W}, ...]}, SUB
// a sub-directory of DIR holding a trained policy, W > 0 and finite.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "switchboard/result.h"

namespace switchboard::policies {

struct BlendMember {
  std::string dir;  // relative to the blend's directory
  double weight = 1;
};

// Errors (kBadRequest): no blend.json, not JSON, no members, a member without a plain relative
// `dir` or with a weight that is not a finite number > 0.
Result<std::vector<BlendMember>> read_blend_members(const std::string& blend_dir);
std::optional<Error> write_blend_members(const std::string& blend_dir,
                                         const std::vector<BlendMember>& members);

}  // namespace switchboard::policies
