#include "config/secret_env.h"

#include <cstdlib>
#include <string_view>

namespace switchboard::config {

Result<std::string> secret_from_env(const std::string& name, const std::string& where) {
  const char* raw = std::getenv(name.c_str());
  std::string_view v = raw ? raw : "";
  constexpr std::string_view kSpace = " \t\r\n\v\f";
  const auto first = v.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return std::string();
  v = v.substr(first, v.find_last_not_of(kSpace) - first + 1);
  for (const char c : v)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return make_error(ErrorKind::kBadRequest, "bad_config",
                        where + ": $" + name +
                            " holds a control character (a line break?) inside its value");
  return std::string(v);
}

}  // namespace switchboard::config
