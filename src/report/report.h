// report: one self-contained HTML page (no scripts, no network) for an audited evidence bundle: the
// verdict, the models and their roots, the parameters, the confidence sequence plotted over the challenges
// (inline SVG), every per-challenge score, the hashes, and the audit's checks.
#pragma once

#include <string>

#include "audit/audit.h"

namespace pot::report {

// report must come from audit::AuditBundle on bundle_name's contents.
std::string RenderHtml(const audit::Report& report, const std::string& bundle_name);

// The text with &, <, >, " and ' replaced by entities.
std::string EscapeHtml(const std::string& text);

}  // namespace pot::report
