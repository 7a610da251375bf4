// A name → factory registry. Implementations register themselves from their own .cc file with a
// static Registrar, so adding a policy, balancer or command is a new file, never an edit of a switch.
// Registration happens during static initialisation (single-threaded); lookups afterwards are
// read-only and safe from any thread.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace switchboard {

template <typename Factory>
class Registry {
 public:
  static Registry& instance() {
    static Registry registry;
    return registry;
  }
  void add(std::string name, Factory factory) { factories_[std::move(name)] = std::move(factory); }
  // nullptr when no implementation has that name.
  const Factory* find(const std::string& name) const {
    auto it = factories_.find(name);
    return it == factories_.end() ? nullptr : &it->second;
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [name, _] : factories_) out.push_back(name);
    return out;
  }

 private:
  std::map<std::string, Factory> factories_;
};

template <typename Factory>
struct Registrar {
  Registrar(std::string name, Factory factory) {
    Registry<Factory>::instance().add(std::move(name), std::move(factory));
  }
};

}  // namespace switchboard
