// Output of `switchboard sim`: a text table, JSON, and an SVG plot of the runs of several balancers
// on one trace.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sim/simulator.h"

namespace switchboard::sim {

struct Report {
  std::string trace_path;
  std::string trace_format;
  std::size_t requests = 0;
  double trace_seconds = 0;  // span of arrivals before scaling
  SimOptions options;
  std::vector<RunResult> runs;
};

std::string report_text(const Report& report);
nlohmann::json report_json(const Report& report);
// Three panels: TTFT distribution (CDF, log time axis), prefix-cache hit rate, and each replica's
// share of the requests relative to the mean.
std::string report_svg(const Report& report);

}  // namespace switchboard::sim
