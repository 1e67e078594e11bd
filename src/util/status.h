// Status: the result of an operation that can fail, in the style of LevelDB.
// Errors carry a category (which maps to a documented exit code) and a one-line message.
#pragma once

#include <string>
#include <utility>

namespace pot {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kNotFound,         // a named input does not exist
    kCorruption,       // an input exists but is malformed (truncated, bad magic, out-of-range field)
    kInvalidArgument,  // the caller asked for something that makes no sense
    kIOError,          // the operating system refused a read or write
    kUnsupported,      // a well-formed input pot does not handle
    kInternal,         // a library call failed (llama.cpp, OpenSSL)
  };

  Status() = default;
  static Status OK() { return Status(); }
  static Status NotFound(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }
  static Status Corruption(std::string msg) { return Status(Code::kCorruption, std::move(msg)); }
  static Status InvalidArgument(std::string msg) { return Status(Code::kInvalidArgument, std::move(msg)); }
  static Status IOError(std::string msg) { return Status(Code::kIOError, std::move(msg)); }
  static Status Unsupported(std::string msg) { return Status(Code::kUnsupported, std::move(msg)); }
  static Status Internal(std::string msg) { return Status(Code::kInternal, std::move(msg)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // The same error with context in front of its message ("challenge 7: llama_decode failed").
  Status WithContext(const std::string& context) const {
    return ok() ? *this : Status(code_, context + ": " + message_);
  }

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

#define POT_RETURN_IF_ERROR(expr)          \
  do {                                     \
    ::pot::Status _pot_status = (expr);    \
    if (!_pot_status.ok()) return _pot_status; \
  } while (0)

}  // namespace pot
