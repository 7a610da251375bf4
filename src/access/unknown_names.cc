#include "access/unknown_names.h"

namespace switchboard::access {
namespace {

template <typename Items, typename NameOf>
std::string names_of(const Items& items, NameOf name_of) {
  constexpr std::size_t kShown = 10;
  std::string out;
  std::size_t n = 0;
  for (const auto& item : items) {
    if (n++ == kShown) return out + ", ...";
    out += (out.empty() ? "" : ", ") + name_of(item);
  }
  return out.empty() ? "none" : out;
}

}  // namespace

std::vector<std::string> unknown_names(const KeyPermissions& allow, const config::Config& config) {
  std::vector<std::string> out;
  for (const auto& r : allow.routes)
    if (r != "*" && !config.find_route(r))
      out.push_back("route '" + r + "' is not in the configuration (routes: " +
                    names_of(config.routes, [](const auto& x) { return x.name; }) + ")");
  for (const auto& m : allow.models)
    if (m != "*" && !config.find_model(m) && !config.find_adapter_model(m))
      out.push_back("model '" + m + "' is not in the configuration (models: " +
                    names_of(config.models, [](const auto& x) { return x.name; }) + ")");
  return out;
}

}  // namespace switchboard::access
