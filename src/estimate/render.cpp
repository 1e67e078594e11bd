// The text report and the JSON document of an estimate. Every line of the text that holds a figure says
// "estimate" (tests/estimate checks it): these are not measurements.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "estimate/estimate.h"
#include "estimate/format.h"
#include "text/text.h"

namespace pot::estimate {
namespace {

using json = nlohmann::ordered_json;

std::string Shown(const std::string& s) { return text::EscapeForTerminal(s); }

std::string ShapeText(const ModelShape& m) {
  std::string s = (m.path.empty() ? std::string("(given by numbers)") : Shown(m.path)) + ": " + HumanBytes(m.bytes) +
                  ", " + Fmt("%.4g", m.params) + " parameters";
  if (m.n_layer) s += ", " + std::to_string(m.n_layer) + " layers";
  if (m.n_embd) s += ", n_embd " + std::to_string(m.n_embd) + " (KV " + std::to_string(m.n_embd_kv) + ")";
  if (m.n_vocab) s += ", n_vocab " + std::to_string(m.n_vocab);
  s += ", context " + std::to_string(PotContext(m));
  return s;
}

}  // namespace

std::string RenderText(const ModelShape& m, const Profile& p, const Workload& w,
                       const std::vector<MethodEstimate>& estimates) {
  const Rates r = RatesFor(p, m);
  std::string out;
  const auto line = [&out](const std::string& s) { out += s + "\n"; };
  line("pot estimate: roofline estimates from published or calibrated figures, not measurements (docs/estimate.md)");
  line("model     estimate input: " + ShapeText(m));
  line("profile   estimate hardware: " + Shown(p.name) + ", " + Shown(p.description));
  line("basis     estimate calibrated on " + Shown(p.calibration.model) + ": pp " +
       Fmt("%.6g", p.calibration.pp_tokens_per_s) + ", tg " + Fmt("%.6g", p.calibration.tg_tokens_per_s) + " tokens/s");
  line("          estimate source: " + Shown(p.calibration.source));
  line("rates     estimate: prompt processing " + Fmt("%.4g", r.pp_tokens_per_s) + " tokens/s, " +
       Fmt("%.4g", r.pp_all_logits_tokens_per_s) + " with every position's logits (" +
       Fmt("%.0f", 100 * r.pp_efficiency) + "% of " + Fmt("%.3g", p.peak_flops.value / 1e12) +
       " TFLOP/s), generation " + Fmt("%.4g", r.tg_tokens_per_s) + " tokens/s (" +
       Fmt("%.0f", 100 * r.tg_efficiency) + "% of " + HumanBytes(p.memory_bandwidth.value) + "/s)");
  line("workload  estimate for " + std::to_string(w.prompts) + " prompts x " + std::to_string(w.tokens) + " tokens, " +
       std::to_string(w.prompt_tokens) + "-token prompts and challenges, " + std::to_string(w.challenges) +
       " challenges (verify), " + std::to_string(w.endpoint_challenges) + " x " + std::to_string(w.endpoint_tokens) +
       " tokens (endpoint)");
  line("");
  char head[160];
  std::snprintf(head, sizeof head, "%-17s %-24s %-24s %s", "method", "wall time", "peak memory",
                ("fits in " + HumanBytes(p.memory_bytes.value) + " (estimate)").c_str());
  line(head);
  for (const MethodEstimate& e : estimates) {
    char row[200];
    std::snprintf(row, sizeof row, "%-17s %-24s %-24s %s", e.method.c_str(), ("estimate " + HumanSeconds(e.wall_s)).c_str(),
                  ("estimate " + HumanBytes(e.peak_memory_bytes)).c_str(), e.fits ? "yes" : "NO: does not fit");
    line(row);
    for (const Term& t : e.terms) line("    estimate " + HumanSeconds(t.seconds) + ": " + t.what);
    if (e.bytes_written > 0) line("    estimate " + HumanBytes(e.bytes_written) + " written to disk");
    if (!e.note.empty()) line("    note (estimate): " + e.note);
  }
  line("");
  line("estimate basis (profile " + Shown(p.name) + "):");
  const std::pair<const char*, const Figure*> figures[] = {
      {"peak FLOP/s", &p.peak_flops},         {"memory bandwidth", &p.memory_bandwidth},
      {"memory", &p.memory_bytes},            {"file read", &p.read_bytes_per_s},
      {"SHA-256", &p.sha256_bytes_per_s},     {"dequantize", &p.dequant_elements_per_s},
      {"score a position", &p.vocab_entries_per_s},
      {"start", &p.startup_s},               {"process start", &p.process_start_s}};
  for (const auto& [name, f] : figures) {
    line("  estimate basis " + std::string(name) + " " + Fmt("%.4g", f->value) + ": " + Shown(f->source));
  }
  return out;
}

json RenderJson(const ModelShape& m, const Profile& p, const Workload& w, const std::vector<MethodEstimate>& estimates) {
  const Rates r = RatesFor(p, m);
  json methods = json::array();
  for (const MethodEstimate& e : estimates) {
    json terms = json::array();
    for (const Term& t : e.terms) terms.push_back({{"what", t.what}, {"seconds", t.seconds}});
    methods.push_back({{"method", e.method},
                       {"estimate", true},
                       {"wall_s", e.wall_s},
                       {"peak_memory_bytes", e.peak_memory_bytes},
                       {"memory_limit_bytes", e.memory_limit_bytes},
                       {"fits", e.fits},
                       {"bytes_written", e.bytes_written},
                       {"terms", terms},
                       {"note", e.note}});
  }
  return {{"schema", kEstimateSchema},
          {"estimate", true},
          {"model",
           {{"path", m.path}, {"bytes", m.bytes}, {"params", m.params}, {"n_layer", m.n_layer}, {"n_embd", m.n_embd},
            {"n_embd_kv", m.n_embd_kv}, {"n_vocab", m.n_vocab}, {"n_ctx_train", m.n_ctx_train},
            {"n_ctx", PotContext(m)}, {"largest_tensor_elements", m.largest_tensor_elements},
            {"output_params", m.output_params}, {"input_embd_params", m.input_embd_params},
            {"input_embd_bytes", m.input_embd_bytes}}},
          {"profile", ProfileJson(p)},
          {"rates",
           {{"pp_tokens_per_s", r.pp_tokens_per_s}, {"pp_all_logits_tokens_per_s", r.pp_all_logits_tokens_per_s},
            {"tg_tokens_per_s", r.tg_tokens_per_s}, {"flops_per_s", r.flops_per_s}, {"bytes_per_s", r.bytes_per_s},
            {"pp_efficiency", r.pp_efficiency}, {"tg_efficiency", r.tg_efficiency}}},
          {"workload",
           {{"prompts", w.prompts}, {"tokens", w.tokens}, {"prompt_tokens", w.prompt_tokens},
            {"challenges", w.challenges}, {"endpoint_challenges", w.endpoint_challenges},
            {"endpoint_tokens", w.endpoint_tokens}}},
          {"methods", methods}};
}

}  // namespace pot::estimate
