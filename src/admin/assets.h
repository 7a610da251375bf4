// The dashboard's files, built into the binary (CMakeLists.txt generates dashboard_assets.cc from
// web/src/ and the chart library's minified files copied out of web/node_modules at build time):
// no Node, no files beside the binary at run time.
#pragma once

#include <string_view>

namespace switchboard::admin {

struct Asset {
  std::string_view path;          // "index.html", "app.js", "vendor/uPlot.iife.min.js", ...
  std::string_view content_type;  // from the extension
  std::string_view bytes;
};

// The asset at `path` (relative, no leading '/'), or null.
const Asset* find_asset(std::string_view path);

}  // namespace switchboard::admin
