#include "report/report.h"

#include <algorithm>
#include <cstdio>

namespace pot::report {
namespace {

std::string Fixed(double x, int digits = 4) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, x);
  return buf;
}

std::string Short(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3g", x);
  return buf;
}

std::string Row(const std::string& key, const std::string& value) {
  return "<tr><th>" + EscapeHtml(key) + "</th><td>" + value + "</td></tr>\n";
}

std::string Code(const std::string& s) { return "<code>" + EscapeHtml(s) + "</code>"; }

std::string ModelRows(const char* role, const evidence::ModelRef& m) {
  std::string files;
  for (size_t i = 0; i < m.files.size(); ++i) {
    files += EscapeHtml(m.files[i]) + " (sha256 " + Code(m.file_sha256s[i]) + ")<br>";
  }
  return Row(std::string(role) + " files", files) + Row(std::string(role) + " manifest root", Code(m.manifest_root)) +
         Row(std::string(role) + " weights root", Code(m.weights_root));
}

// An endpoint candidate: what pot was told and asked for (the answers are in the transcript).
std::string EndpointRows(const evidence::EndpointRef& e) {
  return Row("candidate endpoint", EscapeHtml(e.url) + " (" + EscapeHtml(e.api) + ")") +
         Row("model served", EscapeHtml(e.model_served.empty() ? e.model_requested : e.model_served)) +
         Row("fingerprint", EscapeHtml(e.fingerprint)) +
         Row("score", EscapeHtml(e.score) + ", tau " + Short(e.tau) + ", top logprobs " + std::to_string(e.top_logprobs)) +
         Row("what it proves", "what pot sent to and received from the endpoint, and computed; not what the provider ran");
}

// The confidence sequence over challenges: bounds as step lines, scores as dots, epsilon dashed.
std::string Plot(const evidence::Transcript& t, double epsilon) {
  constexpr double kW = 860, kH = 340, kLeft = 56, kRight = 16, kTop = 16, kBottom = 40;
  const double pw = kW - kLeft - kRight, ph = kH - kTop - kBottom;
  const size_t n = std::max<size_t>(t.records.size(), 1);
  auto x = [&](double i) { return kLeft + pw * i / static_cast<double>(n); };
  auto y = [&](double v) { return kTop + ph * (1 - v); };
  std::string svg = "<svg id=\"confidence-plot\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" + Fixed(kW, 0) +
                    "\" height=\"" + Fixed(kH, 0) + "\" viewBox=\"0 0 " + Fixed(kW, 0) + " " + Fixed(kH, 0) +
                    "\" role=\"img\" aria-label=\"confidence sequence over challenges\">\n";
  svg += "<rect x=\"" + Fixed(kLeft, 1) + "\" y=\"" + Fixed(kTop, 1) + "\" width=\"" + Fixed(pw, 1) + "\" height=\"" +
         Fixed(ph, 1) + "\" fill=\"#fafafa\" stroke=\"#999\"/>\n";
  for (double v : {0.0, 0.25, 0.5, 0.75, 1.0}) {
    svg += "<line x1=\"" + Fixed(kLeft, 1) + "\" x2=\"" + Fixed(kLeft + pw, 1) + "\" y1=\"" + Fixed(y(v), 1) +
           "\" y2=\"" + Fixed(y(v), 1) + "\" stroke=\"#e4e4e4\"/><text x=\"" + Fixed(kLeft - 6, 1) + "\" y=\"" +
           Fixed(y(v) + 4, 1) + "\" text-anchor=\"end\" font-size=\"11\">" + Fixed(v, 2) + "</text>\n";
  }
  svg += "<text x=\"" + Fixed(kLeft + pw / 2, 1) + "\" y=\"" + Fixed(kH - 8, 1) +
         "\" text-anchor=\"middle\" font-size=\"12\">challenges (" + std::to_string(t.records.size()) + ")</text>\n";
  svg += "<line class=\"epsilon\" x1=\"" + Fixed(kLeft, 1) + "\" x2=\"" + Fixed(kLeft + pw, 1) + "\" y1=\"" +
         Fixed(y(epsilon), 1) + "\" y2=\"" + Fixed(y(epsilon), 1) +
         "\" stroke=\"#c0392b\" stroke-dasharray=\"6 4\"/><text x=\"" + Fixed(kLeft + pw - 4, 1) + "\" y=\"" +
         Fixed(y(epsilon) - 5, 1) + "\" text-anchor=\"end\" font-size=\"11\" fill=\"#c0392b\">epsilon " +
         Short(epsilon) + "</text>\n";
  std::string lower = "M " + Fixed(x(0), 1) + " " + Fixed(y(0), 1);
  std::string upper = "M " + Fixed(x(0), 1) + " " + Fixed(y(1), 1);
  for (size_t i = 0; i < t.records.size(); ++i) {
    const auto& r = t.records[i];
    lower += " H " + Fixed(x(i + 1), 1) + " V " + Fixed(y(r.lower), 1);
    upper += " H " + Fixed(x(i + 1), 1) + " V " + Fixed(y(r.upper), 1);
  }
  svg += "<path class=\"lower\" d=\"" + lower + "\" fill=\"none\" stroke=\"#2471a3\" stroke-width=\"2\"/>\n";
  svg += "<path class=\"upper\" d=\"" + upper + "\" fill=\"none\" stroke=\"#7d3c98\" stroke-width=\"2\"/>\n";
  for (size_t i = 0; i < t.records.size(); ++i) {
    svg += "<circle class=\"score\" cx=\"" + Fixed(x(i + 0.5), 1) + "\" cy=\"" + Fixed(y(t.records[i].score.score), 1) +
           "\" r=\"3\" fill=\"#222\"><title>challenge " + std::to_string(i) + ": " + Short(t.records[i].score.score) +
           "</title></circle>\n";
  }
  svg += "<text x=\"" + Fixed(kLeft + 6, 1) + "\" y=\"" + Fixed(kTop + 14, 1) +
         "\" font-size=\"11\"><tspan fill=\"#7d3c98\">upper bound (beta)</tspan> · <tspan fill=\"#2471a3\">lower "
         "bound (alpha)</tspan> · <tspan fill=\"#222\">scores</tspan></text>\n";
  return svg + "</svg>\n";
}

}  // namespace

std::string EscapeHtml(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string RenderHtml(const audit::Report& report, const std::string& bundle_name) {
  const evidence::Claim& c = report.claim;
  const evidence::Transcript& t = report.transcript;
  const std::string verdict = t.finished ? stats::DecisionName(t.outcome.decision) : "NO VERDICT";
  const char* color = verdict == "SAME" ? "#1e8449" : verdict == "DIFFERENT" ? "#b03a2e" : "#7f8c8d";
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>pot verify: " + verdict +
                  "</title>\n<style>body{font-family:'DejaVu Sans',sans-serif;margin:24px;color:#222;max-width:1100px}"
                  "h1{margin:0 0 4px}#verdict{color:" + std::string(color) +
                  "}table{border-collapse:collapse;margin:8px 0 20px}th,td{border:1px solid #ddd;padding:3px 8px;"
                  "text-align:left;font-size:13px;vertical-align:top}th{background:#f2f2f2}code{font-size:12px;"
                  "word-break:break-all}.fail{color:#b03a2e;font-weight:bold}.pass{color:#1e8449}.skip{color:#7f8c8d}</style>\n</head><body>\n";
  h += "<h1>pot verify: <span id=\"verdict\">" + verdict + "</span></h1>\n";
  h += "<p>" + EscapeHtml(bundle_name) + " &middot; audit " +
       (report.passed() ? "<span class=\"pass\">PASSED</span>"
                        : "<span class=\"fail\">FAILED</span> (see the checks below; do not rely on this verdict)") +
       "</p>\n";
  if (t.finished) {
    h += "<p>" + std::to_string(t.outcome.n_used) + " challenges, mean score " + Fixed(t.outcome.mean, 6) +
         ", bounds [" + Fixed(t.outcome.lower, 6) + ", " + Fixed(t.outcome.upper, 6) + "], epsilon " +
         Short(c.header.test.epsilon) + "</p>\n";
    h += Plot(t, c.header.test.epsilon);
  }
  std::string reference_file;
  if (const auto& f = c.header.reference_file) {
    reference_file = Row("scored against reference file", EscapeHtml(f->name) + "<br>sha256 " + Code(f->sha256) +
                                                               "<br>signer " + Code(f->signer_hex) + " (" +
                                                               (f->signer_trust == evidence::kSignerPinned
                                                                    ? std::string("pinned by --trust")
                                                                    : std::string("NOT pinned: any signer accepted")) +
                                                               ")");
  }
  h += "<h2>Models</h2>\n<table>\n" + ModelRows("reference", c.header.reference) + reference_file +
       (c.header.endpoint ? EndpointRows(*c.header.endpoint) : ModelRows("candidate", c.header.candidate)) +
       Row("vocabulary sha256", Code(c.header.vocab_sha256)) + "</table>\n";
  const auto& p = c.header.test;
  h += "<h2>Parameters</h2>\n<table>\n" + Row("alpha (false DIFFERENT)", Short(p.alpha)) +
       Row("beta (false SAME)", Short(p.beta)) + Row("epsilon", Short(p.epsilon)) +
       Row("budget n_max", std::to_string(p.n_max)) + Row("distance", verify::DistanceName(c.header.distance)) +
       Row("continuation tokens", std::to_string(c.header.continuation_tokens)) +
       Row("challenge family", EscapeHtml(c.header.family + " " + c.header.family_params)) +
       Row("commitment", Code(c.header.commitment)) + Row("revealed key", Code(c.key_hex)) +
       Row("pot / llama.cpp", EscapeHtml(c.header.pot_version + " / " + c.header.llama_commit)) + "</table>\n";
  h += "<h2>Audit</h2>\n<table>\n";
  for (const auto& check : report.checks) {
    h += "<tr><td class=\"" + std::string(check.skipped ? "skip\">SKIP" : check.passed ? "pass\">PASS" : "fail\">FAIL") + "</td><th>" +
         EscapeHtml(check.name) + "</th><td>" + EscapeHtml(check.detail) + "</td></tr>\n";
  }
  h += "</table>\n<h2>Hashes</h2>\n<table>\n" + Row("transcript root (RFC 6962)", Code(c.transcript_root)) +
       Row("transcript lines", std::to_string(c.transcript_size)) + "</table>\n";
  h += "<h2>Challenges</h2>\n<table>\n<tr><th>#</th><th>prompt</th><th>score</th><th>KL</th><th>top-1</th>"
       "<th>lower</th><th>upper</th><th>top-k digest</th></tr>\n";
  for (const auto& r : t.records) {
    h += "<tr><td>" + std::to_string(r.index) + "</td><td>" + EscapeHtml(r.prompt) + "</td><td>" + Short(r.score.score) +
         "</td><td>" + Short(r.score.mean_kl) + "</td><td>" + Fixed(r.score.top1_agreement, 3) + "</td><td>" +
         Fixed(r.lower) + "</td><td>" + Fixed(r.upper) + "</td><td>" + Code(r.topk_sha256.substr(0, 16)) +
         "</td></tr>\n";
  }
  return h + "</table>\n</body></html>\n";
}

}  // namespace pot::report
