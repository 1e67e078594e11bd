#include "http/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <random>
#include <string_view>
#include <thread>

namespace pot::http {
namespace {

// curl_global_init is not thread-safe and must run once before any other libcurl call.
Status GlobalInit() {
  static std::once_flag once;
  static CURLcode rc = CURLE_OK;
  std::call_once(once, [] { rc = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (rc != CURLE_OK) return Status::Internal(std::string("curl_global_init: ") + curl_easy_strerror(rc));
  return Status::OK();
}

std::string Format(const char* fmt, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, value);
  return buf;
}

// Our own words for a status, not the server's reason phrase: what a message says should not depend on
// bytes an endpoint chose.
std::string StatusText(long status) {
  static constexpr std::pair<long, const char*> kReasons[] = {
      {301, "Moved Permanently"},  {302, "Found"},
      {303, "See Other"},          {307, "Temporary Redirect"},
      {308, "Permanent Redirect"}, {400, "Bad Request"},
      {401, "Unauthorized"},       {403, "Forbidden"},
      {404, "Not Found"},          {405, "Method Not Allowed"},
      {408, "Request Timeout"},    {413, "Content Too Large"},
      {422, "Unprocessable Content"}, {429, "Too Many Requests"},
      {500, "Internal Server Error"}, {501, "Not Implemented"},
      {502, "Bad Gateway"},        {503, "Service Unavailable"},
      {504, "Gateway Timeout"},
  };
  std::string text = "HTTP " + std::to_string(status);
  for (const auto& [code, reason] : kReasons) {
    if (code == status) return text + " " + reason;
  }
  return text;
}

struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
using UrlHandle = std::unique_ptr<CURLU, UrlDeleter>;

std::string UrlPart(CURLU* u, CURLUPart part) {
  char* value = nullptr;
  if (curl_url_get(u, part, &value, 0) != CURLUE_OK || value == nullptr) return "";
  std::string out = value;
  curl_free(value);
  return out;
}

// Seconds a Retry-After value asks for, or -1 when it is absent or unreadable (the backoff applies then).
double RetryAfterSeconds(const std::string& value) {
  if (value.empty()) return -1;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return value.size() > 9 ? 1e9 : std::strtod(value.c_str(), nullptr);
  }
  const time_t when = curl_getdate(value.c_str(), nullptr);
  if (when == -1) return -1;
  return std::max(0.0, std::difftime(when, std::time(nullptr)));
}

// libcurl's millisecond options, where 0 would mean "no limit at all".
long Millis(double seconds) { return static_cast<long>(std::clamp(seconds * 1000, 1.0, 1e12)); }

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// What one attempt came back with.
struct Attempt {
  size_t cap = 0;
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string body;
  bool over_cap = false;
  std::string retry_after;  // the header's value, if the final response had one
  std::string content_type;
  std::string redirect_url;  // where a 3xx points (curl resolves a relative Location)
  bool connected = false;
  long os_errno = 0;
  double seconds = 0;
  char error[CURL_ERROR_SIZE] = {};
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* a = static_cast<Attempt*>(user);
  const size_t n = size * count;
  if (n > a->cap - a->body.size()) {
    a->over_cap = true;
    return 0;  // anything but n aborts the transfer with CURLE_WRITE_ERROR
  }
  a->body.append(data, n);
  return n;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* a = static_cast<Attempt*>(user);
  const size_t n = size * count;
  std::string_view line(data, n);
  // Each response (an interim 100 Continue included) starts with its status line: keep only the last's.
  if (line.starts_with("HTTP/")) a->retry_after.clear();
  constexpr std::string_view kName = "retry-after:";
  if (line.size() >= kName.size() &&
      std::equal(kName.begin(), kName.end(), line.begin(),
                 [](char x, char y) { return x == std::tolower(static_cast<unsigned char>(y)); })) {
    std::string_view v = line.substr(kName.size());
    while (!v.empty() && IsSpace(v.front())) v.remove_prefix(1);
    while (!v.empty() && IsSpace(v.back())) v.remove_suffix(1);
    a->retry_after = std::string(v);
  }
  return n;
}

// How an attempt ended, in the words a message uses.
struct Outcome {
  bool ok = false;
  bool retryable = false;
  double retry_after = -1;  // seconds the server asked for; -1: use the backoff
  std::string cause;
};

class CurlClient final : public Client {
 public:
  CurlClient(const Options& options, CURL* curl)
      : options_(options), curl_(curl), rng_(std::random_device{}()) {}
  ~CurlClient() override { curl_easy_cleanup(curl_); }

  Status Get(const std::string& url, Response* out) override { return Run("GET", url, nullptr, out); }
  Status PostJson(const std::string& url, const std::string& json_body, Response* out) override {
    return Run("POST", url, &json_body, out);
  }

 private:
  Status Run(const char* method, const std::string& url, const std::string* body, Response* out);
  void Perform(const std::string& url, const std::string* body, Attempt* a);
  Outcome Classify(const Attempt& a) const;
  double Backoff(int retry);
  // A last guard for the token promise: libcurl's own error text is not ours to vouch for.
  std::string Redact(std::string text) const;

  const Options options_;
  CURL* const curl_;
  std::mt19937_64 rng_;
};

void CurlClient::Perform(const std::string& url, const std::string* body, Attempt* a) {
  CURL* c = curl_;
  // A reused handle keeps its connection cache, while every option starts from scratch.
  curl_easy_reset(c);
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM, safe in threads
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PROXY, "");  // never an http_proxy from the environment: loopback stays loopback
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, Millis(options_.connect_timeout_s));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, Millis(options_.total_timeout_s));
  // Refused before the first byte when the server announces a larger body; OnBody catches the rest.
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options_.max_response_bytes));
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, a->error);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, a);

  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip before a large body
  if (body != nullptr) {
    headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
  } else {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  }
  if (!options_.bearer_token.empty()) {
    headers = curl_slist_append(headers, ("Authorization: Bearer " + options_.bearer_token).c_str());
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);

  a->cap = options_.max_response_bytes;
  const auto start = std::chrono::steady_clock::now();
  a->code = curl_easy_perform(c);
  a->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  curl_slist_free_all(headers);

  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
  curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &a->os_errno);
  curl_off_t connect_us = 0;
  curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &connect_us);
  a->connected = connect_us > 0;
  char* text = nullptr;
  if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &text) == CURLE_OK && text != nullptr) a->content_type = text;
  text = nullptr;
  if (curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &text) == CURLE_OK && text != nullptr) a->redirect_url = text;
}

Outcome CurlClient::Classify(const Attempt& a) const {
  Outcome o;
  switch (a.code) {
    case CURLE_OK:
      break;
    case CURLE_COULDNT_CONNECT:
      o.retryable = true;
      o.cause = a.os_errno == ECONNREFUSED ? "connection refused" : std::string("could not connect: ") + a.error;
      return o;
    case CURLE_OPERATION_TIMEDOUT:
      o.retryable = true;
      o.cause = a.connected ? Format("timed out after %g s", options_.total_timeout_s)
                            : Format("connect timed out after %g s", options_.connect_timeout_s);
      return o;
    case CURLE_GOT_NOTHING:
      o.retryable = true;
      o.cause = "connection closed without a response";
      return o;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
      o.retryable = true;
      o.cause = a.os_errno == ECONNRESET ? "connection reset" : std::string("connection failed: ") + a.error;
      return o;
    case CURLE_PARTIAL_FILE:
      o.retryable = true;
      o.cause = "connection closed before the whole body arrived (" + std::to_string(a.body.size()) + " bytes)";
      return o;
    case CURLE_FILESIZE_EXCEEDED:
    case CURLE_WRITE_ERROR:
      if (a.code == CURLE_FILESIZE_EXCEEDED || a.over_cap) {
        o.cause = "response larger than " + std::to_string(options_.max_response_bytes) + " bytes";
        return o;
      }
      [[fallthrough]];
    default:
      o.cause = a.error[0] != '\0' ? a.error : curl_easy_strerror(a.code);
      return o;
  }
  if (a.status >= 200 && a.status < 300) {
    o.ok = true;
    return o;
  }
  o.cause = StatusText(a.status);
  if (a.status >= 300 && a.status < 400) {
    UrlHandle u(curl_url());
    std::string host;
    if (u && !a.redirect_url.empty() && curl_url_set(u.get(), CURLUPART_URL, a.redirect_url.c_str(), 0) == CURLUE_OK) {
      host = UrlPart(u.get(), CURLUPART_HOST);
    }
    o.cause += host.empty() ? " (a redirect, not followed)" : " redirecting to " + host + " (not followed)";
    return o;
  }
  switch (a.status) {
    case 429:
    case 503:
      o.retry_after = RetryAfterSeconds(a.retry_after);
      if (o.retry_after > options_.retry_after_max_s) {
        o.cause += Format(" with Retry-After %g s", o.retry_after) +
                   Format(", over the %g s this client waits", options_.retry_after_max_s);
        return o;
      }
      o.retryable = true;
      return o;
    case 500:
    case 502:
    case 504:
      o.retryable = true;
      return o;
    default:
      return o;
  }
}

double CurlClient::Backoff(int retry) {
  const double base =
      std::min(options_.backoff_max_s, options_.backoff_initial_s * std::ldexp(1.0, std::min(retry - 1, 60)));
  // Equal jitter: at least half the step, so clients that failed together do not retry together.
  return base * std::uniform_real_distribution<double>(0.5, 1.0)(rng_);
}

std::string CurlClient::Redact(std::string text) const {
  const std::string& token = options_.bearer_token;
  if (token.empty()) return text;
  for (size_t at = text.find(token); at != std::string::npos; at = text.find(token, at)) {
    text.replace(at, token.size(), "[redacted]");
  }
  return text;
}

Status CurlClient::Run(const char* method, const std::string& url, const std::string* body, Response* out) {
  *out = Response();
  std::string display;
  POT_RETURN_IF_ERROR(ParseBaseUrl(url, &display).WithContext(method));
  const std::string what = std::string(method) + " " + display;
  for (int attempt = 1;; ++attempt) {
    Attempt a;
    Perform(url, body, &a);
    out->status = a.status;
    out->body = std::move(a.body);
    out->content_type = std::move(a.content_type);
    out->seconds = a.seconds;
    out->attempts = attempt;
    const Outcome o = Classify(a);
    if (o.ok) return Status::OK();
    if (!o.retryable || attempt >= options_.max_attempts) {
      std::string message = what + ": " + o.cause;
      if (o.retryable && attempt > 1) message += " (gave up after " + std::to_string(attempt) + " attempts)";
      return Status::IOError(Redact(std::move(message)));
    }
    const double wait = o.retry_after >= 0 ? o.retry_after : Backoff(attempt);
    if (options_.on_retry) {
      options_.on_retry(Redact(o.cause + " from " + display + Format(", retrying in %.1f s", wait) +
                               " (attempt " + std::to_string(attempt + 1) + " of " +
                               std::to_string(options_.max_attempts) + ")"));
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(wait));
  }
}

Status CheckKey(const std::string& key, const std::string& source) {
  if (key.empty()) return Status::InvalidArgument(source + ": the API key is empty");
  if (key.size() > 4096) return Status::InvalidArgument(source + ": the API key is longer than 4096 bytes");
  for (char c : key) {
    if (c == '\n' || c == '\r') return Status::InvalidArgument(source + ": the API key has more than one line");
    if (c < 0x21 || c > 0x7e) {
      return Status::InvalidArgument(source + ": the API key has a byte that is not printable ASCII (or a space)");
    }
  }
  return Status::OK();
}

}  // namespace

Status NewClient(const Options& options, std::unique_ptr<Client>* out) {
  if (options.max_attempts < 1) return Status::InvalidArgument("http: max_attempts must be at least 1");
  if (!(options.connect_timeout_s > 0) || !(options.total_timeout_s > 0)) {
    return Status::InvalidArgument("http: timeouts must be positive");
  }
  if (options.max_response_bytes == 0) return Status::InvalidArgument("http: max_response_bytes must be positive");
  if (!(options.backoff_initial_s >= 0) || !(options.backoff_max_s >= 0) || !(options.retry_after_max_s >= 0)) {
    return Status::InvalidArgument("http: backoff and Retry-After limits must not be negative");
  }
  // A CR or LF would let the token end its header and start another.
  POT_RETURN_IF_ERROR(options.bearer_token.empty() ? Status::OK() : CheckKey(options.bearer_token, "http"));
  POT_RETURN_IF_ERROR(GlobalInit());
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return Status::Internal("http: curl_easy_init failed");
  *out = std::make_unique<CurlClient>(options, curl);
  return Status::OK();
}

Status ReadApiKey(Env* env, const std::string& env_name, const std::string& file, std::string* key) {
  key->clear();
  if (!env_name.empty() && !file.empty()) {
    return Status::InvalidArgument("give --api-key-env or --api-key-file, not both");
  }
  std::string value;
  std::string source;
  if (!env_name.empty()) {
    source = "--api-key-env " + env_name;
    const char* v = std::getenv(env_name.c_str());
    if (v == nullptr) return Status::InvalidArgument(source + ": the variable is not set");
    value = v;
  } else if (!file.empty()) {
    source = "--api-key-file " + file;
    POT_RETURN_IF_ERROR(ReadFileToString(env, file, &value).WithContext(source));
    WarnIfUnprotectedKey(env, file);
    // One line as editors and `echo` write it.
    if (value.ends_with('\n')) value.pop_back();
    if (value.ends_with('\r')) value.pop_back();
  } else {
    return Status::OK();
  }
  POT_RETURN_IF_ERROR(CheckKey(value, source));
  *key = std::move(value);
  return Status::OK();
}

Status ParseBaseUrl(const std::string& url, std::string* display) {
  POT_RETURN_IF_ERROR(GlobalInit());
  // The URL itself is not echoed: it may carry a password in its userinfo.
  const Status bad = Status::InvalidArgument("not a valid URL (want http://HOST[:PORT][/PATH] or https://...)");
  if (url.find('\0') != std::string::npos) return bad;
  UrlHandle u(curl_url());
  if (!u) return Status::Internal("curl_url failed");
  if (curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return bad;
  const std::string scheme = UrlPart(u.get(), CURLUPART_SCHEME);
  if (scheme != "http" && scheme != "https") {
    return Status::InvalidArgument("URL scheme '" + scheme + "' is not http or https");
  }
  if (UrlPart(u.get(), CURLUPART_HOST).empty()) return Status::InvalidArgument("URL has no host");
  curl_url_set(u.get(), CURLUPART_USER, nullptr, 0);
  curl_url_set(u.get(), CURLUPART_PASSWORD, nullptr, 0);
  curl_url_set(u.get(), CURLUPART_OPTIONS, nullptr, 0);
  *display = UrlPart(u.get(), CURLUPART_URL);
  if (display->empty()) return bad;
  return Status::OK();
}

}  // namespace pot::http
