// last_resort: an exception no command caught is a bug in pot, yet it still ends as one line on stderr,
// "pot: error: internal error: WHAT", and exit 4 (docs/cli.md), never as std::terminate's abort (exit 134):
// main catches what escapes a command, and engine::InstallCrashHandlers (std::terminate and ggml's abort)
// covers what escapes any other thread.
#pragma once

#include <cstdio>
#include <exception>
#include <string>

#include "cli/cli.h"
#include "text/text.h"

namespace pot::cli {

// What the exception being handled says (with none, that std::terminate was called).
inline std::string CurrentExceptionWhat() {
  std::string what = "std::terminate called without an exception";
  if (const std::exception_ptr e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      what = x.what();
    } catch (...) {
      what = "an exception that is not a std::exception";
    }
  }
  return what;
}

// Reports the exception being handled as one line and returns kExitFailure.
inline int ReportInternalError() {
  const std::string what = CurrentExceptionWhat();
  std::fprintf(stderr, "pot: error: internal error: %s\n", text::EscapeForTerminal(what).c_str());
  return kExitFailure;
}

}  // namespace pot::cli
