#include "policies/blend/blend_members.h"

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "policies/model_dir.h"

namespace switchboard::policies {

namespace fs = std::filesystem;

Result<std::vector<BlendMember>> read_blend_members(const std::string& blend_dir) {
  auto bad = [](const std::string& m) {
    return make_error(ErrorKind::kBadRequest, "bad_config", "blend.json: " + m);
  };
  auto text = read_file((fs::path(blend_dir) / "blend.json").string());
  if (!text) return make_error(ErrorKind::kBadRequest, "bad_config", "no blend.json");
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  const auto members = j.find("members");
  if (members == j.end() || !members->is_array() || members->empty())
    return bad("`members` must be a non-empty array");
  std::vector<BlendMember> out;
  for (const auto& m : *members) {
    if (!m.is_object() || !m.contains("dir") || !m["dir"].is_string())
      return bad("every member needs a `dir` string");
    BlendMember b;
    b.dir = m["dir"].get<std::string>();
    const fs::path p(b.dir);
    const std::string normal = p.lexically_normal().string();
    // (".": the blend itself, read again and again until the path was too long.)
    if (b.dir.empty() || p.is_absolute() || normal.starts_with("..") || normal == "." ||
        normal == "./")
      return bad("member dir '" + b.dir + "' must be a sub-directory of the blend's");
    if (m.contains("weight")) {
      if (!m["weight"].is_number()) return bad("member " + b.dir + ": `weight` must be a number");
      b.weight = m["weight"].get<double>();
    }
    // (At most 1e12: two of 1e308 summed to infinity and zeroed every prediction.)
    if (!(b.weight > 0) || !(b.weight <= 1e12))
      return bad("member " + b.dir + ": `weight` must be a number in (0, 1e12]");
    out.push_back(std::move(b));
  }
  return out;
}

std::optional<Error> write_blend_members(const std::string& blend_dir,
                                         const std::vector<BlendMember>& members) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& m : members) list.push_back({{"dir", m.dir}, {"weight", m.weight}});
  return write_file_atomic((fs::path(blend_dir) / "blend.json").string(),
                           nlohmann::json{{"members", list}}.dump(2) + "\n");
}

}  // namespace switchboard::policies
