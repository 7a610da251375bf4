#include "data/routerbench_csv.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <system_error>
#include <unordered_map>

#include "data/csv_reader.h"
#include "data/python_literal.h"

namespace switchboard::data {
namespace {

constexpr std::string_view kResponseSuffix = "|model_response";
constexpr std::string_view kCostSuffix = "|total_cost";

Error bad(const std::string& where, const std::string& what) {
  return make_error(ErrorKind::kBadRequest, "bad_routerbench", where + ": " + what);
}

std::optional<double> parse_double(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

struct ModelColumns {
  std::string name;
  std::size_t score;
  std::optional<std::size_t> response;
  std::optional<std::size_t> cost;
};

struct Layout {
  std::size_t width = 0;
  std::size_t id = 0, prompt = 0, task = 0;
  std::vector<ModelColumns> models;
};

Result<Layout> read_layout(const std::vector<std::string>& header, const std::string& where) {
  Layout layout;
  layout.width = header.size();
  // Column by name, hashed: a search per model column was quadratic (150,000 columns: > 20 s).
  std::unordered_map<std::string_view, std::size_t> column;
  column.reserve(header.size());
  for (std::size_t i = 0; i < header.size(); ++i)
    if (!column.emplace(header[i], i).second && !header[i].empty())
      return bad(where, "column '" + header[i] + "' appears twice in the header");
  auto find = [&](const std::string& name) -> std::optional<std::size_t> {
    const auto it = column.find(name);
    if (it == column.end()) return std::nullopt;
    return it->second;
  };
  auto id = find("sample_id"), prompt = find("prompt"), task = find("eval_name");
  if (!id || !prompt || !task)
    return bad(where, "header lacks one of the columns sample_id, prompt, eval_name");
  layout.id = *id;
  layout.prompt = *prompt;
  layout.task = *task;
  for (std::size_t i = 0; i < header.size(); ++i) {
    const std::string& h = header[i];
    if (h.empty() || h.find('|') != std::string::npos || h == "sample_id" || h == "prompt" ||
        h == "eval_name" || h == "oracle_model_to_route_to")
      continue;
    layout.models.push_back(
        {h, i, find(h + std::string(kResponseSuffix)), find(h + std::string(kCostSuffix))});
  }
  if (layout.models.empty()) return bad(where, "header names no model score column");
  return layout;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i) out.push_back('\n');
    out += parts[i];
  }
  return out;
}

// Converts one row; nullopt (with no error) when the row is dropped for a missing score.
Result<std::optional<PromptRecord>> convert_row(const std::vector<std::string>& row,
                                                const Layout& layout, const std::string& where,
                                                const RouterBenchOptions& options) {
  PromptRecord rec;
  rec.id = row[layout.id];
  rec.task = row[layout.task];
  auto prompt = parse_python_string_list(row[layout.prompt]);
  if (!prompt) return bad(where, "column prompt: " + prompt.error().message);
  for (auto& s : prompt.value()) rec.messages.push_back({"user", std::move(s)});

  for (const auto& m : layout.models) {
    if (row[m.score].empty()) {
      if (options.require_all_models) return std::optional<PromptRecord>();
      continue;
    }
    ModelOutcome o;
    auto score = parse_double(row[m.score]);
    if (!score || *score < 0 || *score > 1)
      return bad(where, "column " + m.name + ": score must be a number in [0, 1]");
    o.score = *score;
    auto cost = m.cost ? parse_double(row[*m.cost]) : std::nullopt;
    if (!cost || *cost < 0)
      return bad(where, "column " + m.name + "|total_cost: missing or not a cost");
    o.cost = *cost;
    if (m.response && !row[*m.response].empty()) {
      auto response = parse_python_string_list(row[*m.response]);
      if (!response)
        return bad(where, "column " + m.name + "|model_response: " + response.error().message);
      o.response = join(response.value());
    }
    rec.outcomes.emplace(m.name, std::move(o));
  }
  return std::optional<PromptRecord>(std::move(rec));
}

}  // namespace

Result<Outcomes> read_routerbench_csv(std::istream& in, const std::string& name,
                                      const RouterBenchOptions& options) {
  CsvReader reader(in, name);
  std::vector<std::string> row;
  auto got = reader.next(row);
  if (!got) return got.error();
  if (!got.value()) return bad(name, "empty file");
  auto layout = read_layout(row, name + ":" + std::to_string(reader.record_line()));
  if (!layout) return layout.error();

  Outcomes out;
  for (;;) {
    got = reader.next(row);
    if (!got) return got.error();
    if (!got.value()) break;
    std::string where = name + ":" + std::to_string(reader.record_line());
    if (row.size() != layout->width)
      return bad(where, "row has " + std::to_string(row.size()) + " fields, header has " +
                            std::to_string(layout->width));
    auto rec = convert_row(row, *layout, where, options);
    if (!rec) return rec.error();
    if (rec.value()) out.records.push_back(std::move(*rec.value()));
  }
  return out;
}

Result<Outcomes> read_routerbench_csv_file(const std::string& path,
                                           const RouterBenchOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return bad(path, "cannot open file");
  return read_routerbench_csv(in, path, options);
}

Result<Outcomes> load_routerbench_dir(const std::string& dir, Split split,
                                      const RouterBenchOptions& options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return bad(dir, "cannot read directory: " + ec.message());
  std::vector<std::string> files;
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {  // no throwing operator++
    const fs::directory_entry& entry = *it;
    std::string file = entry.path().filename().string();
    if (entry.path().extension() != ".csv") continue;
    if (split == Split::kTrain && !file.ends_with("_train.csv")) continue;
    if (split == Split::kTest && !file.ends_with("_test.csv")) continue;
    files.push_back(entry.path().string());
  }
  if (ec) return bad(dir, "cannot read directory: " + ec.message());
  if (files.empty()) return bad(dir, "no matching RouterBench .csv files");
  std::sort(files.begin(), files.end());
  Outcomes all;
  for (const auto& f : files) {
    auto part = read_routerbench_csv_file(f, options);
    if (!part) return part.error();
    for (auto& r : part->records) all.records.push_back(std::move(r));
  }
  return all;
}

}  // namespace switchboard::data
