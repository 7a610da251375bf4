// The terminal table and the Markdown report share one row layout.
#include <fmt/format.h>

#include <algorithm>

#include "eval/report.h"

namespace switchboard::eval {
namespace {

std::string num(const std::optional<double>& v, int decimals = 3) {
  return v ? fmt::format("{:.{}f}", rounded(*v, decimals), decimals) : std::string("-");
}

std::string percent(double share) {
  return fmt::format("{:g}%", rounded(share * 100, 4));
}

// The best-quality point (ties: cheapest).
const EvalPoint* top(const Curve& c) {
  const EvalPoint* best = nullptr;
  for (const auto& p : c.points)
    if (!best || p.quality > best->quality || (p.quality == best->quality && p.cost < best->cost))
      best = &p;
  return best;
}

struct Table {
  std::vector<std::string> header;
  std::vector<bool> right;  // right-aligned column
  std::vector<std::vector<std::string>> rows;
};

Table metrics_table(const EvalResult& r) {
  Table t;
  t.header = {"name", "kind", "points", "best score", "its cost ($)", "AIQ"};
  t.right = {false, false, true, true, true, true};
  const bool pgr = r.strong && r.weak;
  if (pgr) {
    for (const char* h : {"APGR", "CPT(50%)", "CPT(80%)"}) {
      t.header.push_back(h);
      t.right.push_back(true);
    }
  }
  for (double b : r.budgets) {
    t.header.push_back("score @" + percent(b));
    t.right.push_back(true);
  }
  // Multi-call policies: at the best point, the share of prompts answered by each tier and the
  // mean number of model calls per prompt.
  bool multi = false;
  for (const auto& c : r.policies)
    for (const auto& p : c.points) multi |= p.tier_shares.size() > 1 || p.mean_calls != 1;
  if (multi) {
    t.header.push_back("stops per tier");
    t.right.push_back(false);
    t.header.push_back("calls");
    t.right.push_back(true);
  }
  for (const auto* curves : {&r.policies, &r.baselines}) {
    for (const auto& c : *curves) {
      const EvalPoint* p = top(c);
      std::vector<std::string> row = {c.name,
                                      c.kind,
                                      std::to_string(c.points.size()),
                                      p ? num(p->quality) : "-",
                                      p ? num(p->cost, 4) : "-",
                                      num(c.metrics.aiq)};
      if (pgr) {
        row.push_back(num(c.metrics.apgr));
        row.push_back(c.metrics.cpt50 ? percent(rounded(*c.metrics.cpt50, 4)) : "-");
        row.push_back(c.metrics.cpt80 ? percent(rounded(*c.metrics.cpt80, 4)) : "-");
      }
      for (const auto& [_, q] : c.metrics.quality_at_budget) row.push_back(num(q));
      if (multi) {
        std::string stops;
        if (p && c.kind == "policy")
          for (double s : p->tier_shares)
            stops += (stops.empty() ? "" : " / ") + percent(rounded(s, 4));
        row.push_back(stops.empty() ? "-" : stops);
        row.push_back(p && c.kind == "policy" ? num(p->mean_calls, 2) : "-");
      }
      t.rows.push_back(std::move(row));
    }
  }
  return t;
}

std::vector<std::size_t> widths(const Table& t) {
  std::vector<std::size_t> w(t.header.size(), 0);
  for (std::size_t i = 0; i < w.size(); ++i) {
    w[i] = t.header[i].size();
    for (const auto& row : t.rows) w[i] = std::max(w[i], row[i].size());
  }
  return w;
}

std::string render_plain(const Table& t) {
  auto w = widths(t);
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      if (i) out += "  ";
      out += t.right[i] ? fmt::format("{:>{}}", cells[i], w[i])
                        : fmt::format("{:<{}}", cells[i], w[i]);
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out = line(t.header);
  std::size_t total = 0;
  for (auto x : w) total += x;
  out += std::string(total + 2 * (w.size() - 1), '-') + "\n";
  for (const auto& row : t.rows) out += line(row);
  return out;
}

std::string md_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out.push_back('\\');  // the only character that breaks a table cell
    out.push_back(c);
  }
  return out;
}

std::string render_markdown(const Table& t) {
  std::string out = "|";
  for (const auto& h : t.header) out += " " + md_escape(h) + " |";
  out += "\n|";
  for (bool r : t.right) out += r ? " ---: |" : " --- |";
  out += "\n";
  for (const auto& row : t.rows) {
    out += "|";
    for (const auto& cell : row) out += " " + md_escape(cell) + " |";
    out += "\n";
  }
  return out;
}

Table models_table(const EvalResult& r) {
  Table t;
  t.header = {"model", "mean score", "total cost ($)", "cost / prompt ($)", "share of max cost"};
  t.right = {false, true, true, true, true};
  std::vector<ModelSummary> models = r.models;
  std::stable_sort(models.begin(), models.end(),
                   [](const ModelSummary& a, const ModelSummary& b) { return a.cost > b.cost; });
  for (const auto& m : models)
    t.rows.push_back({m.name, num(m.quality), num(m.cost, 4),
                      num(m.cost / static_cast<double>(r.test_records), 6),
                      r.max_cost > 0 ? percent(rounded(m.cost / r.max_cost, 4)) : "-"});
  return t;
}

std::string summary(const EvalResult& r) {
  std::string tasks;
  for (const auto& t : r.tasks) tasks += (tasks.empty() ? "" : ", ") + t;
  std::string out = fmt::format("Test: {} prompts", r.test_records);
  if (r.test_skipped)
    out += fmt::format(" ({} skipped: not every model has an outcome)", r.test_skipped);
  if (r.test_duplicates)
    out += fmt::format(" ({} left out: the same conversation as an earlier record, which a replay "
                       "answers and bills as that one)",
                       r.test_duplicates);
  if (!tasks.empty()) out += fmt::format("; tasks: {}", tasks);
  out += fmt::format(". Train: {} prompts.\n", r.train_records);
  out += fmt::format(
      "Costs are totals over the test prompts; AIQ normalises them by the most expensive model, "
      "{} (${:.4f}).\n",
      r.max_cost_model, rounded(r.max_cost, 4));
  if (r.strong && r.weak)
    out += fmt::format("APGR and CPT: strong model {}, weak model {}.\n", *r.strong, *r.weak);
  for (const auto& note : r.notes) out += "Note: " + note + ".\n";
  return out;
}

}  // namespace

std::string to_table(const EvalResult& r) {
  return summary(r) + "\n" + render_plain(models_table(r)) + "\n" + render_plain(metrics_table(r));
}

std::string to_markdown(const EvalResult& r) {
  std::string out = "# Routing evaluation\n\n";
  out += fmt::format("Train: `{}`. Test: `{}`. Seed {}.\n\n", r.train_path, r.test_path, r.seed);
  out += summary(r);
  out += "\n## Single models\n\n" + render_markdown(models_table(r));
  out += "\n## Policies and baselines\n\n";
  out +=
      "\"best score\" is the curve's highest mean score and \"its cost\" what it costs; "
      "\"score @x%\" is the best mean score among the curve's points that cost at most x% of the "
      "most expensive model.\n\n";
  out += render_markdown(metrics_table(r));
  for (const auto* curves : {&r.policies, &r.baselines}) {
    for (const auto& c : *curves) {
      if (c.points.size() < 2) continue;
      out += fmt::format("\n### {} ({})\n\n{}\n\n", md_escape(c.name), c.kind,
                         md_escape(c.description));
      Table t;
      t.header = {c.knob.empty() ? "knob" : c.knob, "total cost ($)", "mean score"};
      t.right = {true, true, true};
      if (r.strong) {
        t.header.push_back("strong share");
        t.right.push_back(true);
      }
      // Multi-call policies: where prompts stopped and how many calls they took.
      bool multi = false;
      for (const auto& p : c.points) multi |= p.tier_shares.size() > 1 || p.mean_calls != 1;
      if (multi) {
        t.header.push_back("stops per tier");
        t.right.push_back(false);
        t.header.push_back("mean calls");
        t.right.push_back(true);
      }
      for (const auto& p : c.points) {
        std::string knob = p.knob ? fmt::format("{:g}", rounded(*p.knob, 4)) : "-";
        if (p.lambda) knob += fmt::format(" (λ {:g})", rounded(*p.lambda, 4));  // grid sweeps
        std::vector<std::string> row = {knob, num(p.cost, 4), num(p.quality)};
        if (r.strong) row.push_back(percent(rounded(p.strong_share, 4)));
        if (multi) {
          std::string stops;
          for (double s : p.tier_shares)
            stops += (stops.empty() ? "" : " / ") + percent(rounded(s, 4));
          row.push_back(stops);
          row.push_back(num(p.mean_calls, 2));
        }
        t.rows.push_back(std::move(row));
      }
      out += render_markdown(t);
    }
  }
  out +=
      "\nDefinitions (AIQ, APGR, CPT, score at a budget, baselines): see docs/evaluation.md in "
      "the Switchboard repository.\n";
  return out;
}

}  // namespace switchboard::eval
