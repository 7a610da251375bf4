#include "signals/glove_shared.h"

#include <filesystem>
#include <map>
#include <mutex>

#include "signals/extractor.h"

namespace switchboard::signals {

Result<std::shared_ptr<const GloveTable>> shared_glove(const std::string& weights_dir) {
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<const GloveTable>> loaded;
  const std::string dir = weights_dir.empty() ? default_weights_dir() : weights_dir;
  const std::string path = (std::filesystem::path(dir) / kGloveFileName).string();
  std::lock_guard lock(mu);
  if (auto it = loaded.find(path); it != loaded.end())
    if (auto p = it->second.lock()) return p;
  auto table = GloveTable::open(path);
  if (!table) return table.error();
  std::shared_ptr<const GloveTable> shared = std::move(*table);
  loaded[path] = shared;
  return shared;
}

}  // namespace switchboard::signals
