// http: one small HTTP client for talking to model endpoints (llama-server and its kin), over libcurl.
//
// Contract:
// - Each attempt is bounded: connect_timeout_s to connect, total_timeout_s for the whole exchange. A body
//   larger than max_response_bytes aborts the transfer and is an error; it is never truncated silently.
// - Retried (at most max_attempts in all, exponential backoff with jitter between them): connection
//   refused, reset or closed early, timeouts, and HTTP 429, 500, 502, 503, 504. On 429 and 503 a
//   Retry-After (seconds or HTTP-date) replaces the backoff; one longer than retry_after_max_s ends the
//   call with an error naming it rather than waiting.
// - Never retried: any other status (400, 401, 403, 404, ...), a redirect (never followed: an error naming
//   where it points, since a model endpoint that redirects is suspicious), an oversized body, TLS errors.
// - Only http:// and https://, TLS always verified, no proxy taken from the environment.
// - The bearer token is never put into any message: neither a Status nor the on_retry text.
// - A Client is not thread-safe; use one per thread.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "env/env.h"
#include "util/status.h"

namespace pot::http {

struct Options {
  double connect_timeout_s = 10;
  double total_timeout_s = 300;           // per attempt
  size_t max_response_bytes = 16u << 20;  // a larger body is an error, never truncated silently
  int max_attempts = 4;                   // 1 + retries, for retryable failures only
  double backoff_initial_s = 0.5;         // doubles each retry (with jitter), capped by backoff_max_s
  double backoff_max_s = 30;
  double retry_after_max_s = 120;         // a Retry-After longer than this ends the run instead of waiting
  std::string bearer_token;               // sent as "Authorization: Bearer ..." when non-empty; never in any message
  // Told "HTTP 503 from URL, retrying in 1.0 s (attempt 2 of 4)" before each wait (may be null).
  std::function<void(const std::string&)> on_retry;
};

struct Response {
  long status = 0;  // HTTP status of the final attempt (0 when it got no answer)
  std::string body;
  std::string content_type;
  double seconds = 0;  // wall time of the final attempt
  int attempts = 0;
};

class Client {
 public:
  virtual ~Client() = default;
  // Both return OK only for a 2xx response with its full body. Everything else is a Status::IOError whose
  // one-line message names the method, the URL (without userinfo) and the cause:
  // "POST http://127.0.0.1:8080/completion: HTTP 404 Not Found" / "...: timed out after 300 s" /
  // "...: connection refused" / "...: response larger than 16777216 bytes"; a URL that is not http(s) with
  // a host is InvalidArgument. On error *out still holds the final attempt (status, body so far, attempts),
  // for callers that want the server's own words.
  virtual Status Get(const std::string& url, Response* out) = 0;
  virtual Status PostJson(const std::string& url, const std::string& json_body, Response* out) = 0;
};

// InvalidArgument for options that make no sense (no attempts, a non-positive timeout or cap, a token
// with bytes a header cannot carry).
Status NewClient(const Options& options, std::unique_ptr<Client>* out);

// The API key for --api-key-env NAME (an environment variable) or --api-key-file PATH (read through Env; a
// trailing newline stripped; empty, multi-line or non-printable keys refused; a file others can read gets
// the same warning as other secret key files). Exactly one of the two may be given; neither gives an empty
// key.
Status ReadApiKey(Env* env, const std::string& env_name, const std::string& file, std::string* key);

// Checks a URL is http:// or https:// with a host, and returns it with any userinfo removed for messages.
Status ParseBaseUrl(const std::string& url, std::string* display);

}  // namespace pot::http
