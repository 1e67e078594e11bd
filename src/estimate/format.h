// format: the number formatting the estimate's terms and report share (internal to src/estimate).
#pragma once

#include <string>

namespace pot::estimate {

// One number through a printf format ("%.3g").
std::string Fmt(const char* format, double v);

}  // namespace pot::estimate
