// The HTTP client against a real server on the loopback interface (tests/support/loopback_server.h):
// what is retried and what is not, the caps and timeouts, and that the bearer token never leaks.
#include "http/http.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "support/loopback_server.h"

namespace pot::http {
namespace {

using test::LoopbackServer;
using test::Reply;
using test::Request;

// Fast retries, so a test that exhausts its attempts takes milliseconds.
Options Quick() {
  Options o;
  o.connect_timeout_s = 2;
  o.total_timeout_s = 5;
  o.backoff_initial_s = 0.01;
  o.backoff_max_s = 0.05;
  return o;
}

std::unique_ptr<Client> MakeClient(const Options& options) {
  std::unique_ptr<Client> client;
  const Status s = NewClient(options, &client);
  EXPECT_TRUE(s.ok()) << s.message();
  return client;
}

Reply Answer(int status, std::vector<std::pair<std::string, std::string>> headers = {}) {
  Reply r = Reply::Json(status, R"({"error":"test"})");
  r.headers.insert(r.headers.end(), headers.begin(), headers.end());
  return r;
}

double Since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST(HttpClientTest, PostsJsonAndReadsTheAnswer) {
  Request seen;
  LoopbackServer server([&](const Request& r) {
    seen = r;
    return Reply::Json(200, R"({"content":"hi"})");
  });
  auto client = MakeClient(Quick());
  Response response;
  const pot::Status s = client->PostJson(server.base_url() + "/completion", R"({"prompt":[1,2]})", &response);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, R"({"content":"hi"})");
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(response.attempts, 1);
  EXPECT_GT(response.seconds, 0);
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.path, "/completion");
  EXPECT_EQ(seen.Header("Content-Type"), "application/json");
  EXPECT_EQ(seen.body, R"({"prompt":[1,2]})");
  EXPECT_EQ(seen.Header("Authorization"), "");  // no token, no header
}

TEST(HttpClientTest, GetsAndReusesOneClient) {
  LoopbackServer server([](const Request& r) { return Reply::Json(200, "\"" + r.method + " " + r.path + "\""); });
  auto client = MakeClient(Quick());
  for (int i = 0; i < 3; ++i) {
    Response response;
    ASSERT_TRUE(client->Get(server.base_url() + "/health?n=" + std::to_string(i), &response).ok());
    EXPECT_EQ(response.body, "\"GET /health?n=" + std::to_string(i) + "\"");
  }
  EXPECT_EQ(server.requests(), 3);
}

TEST(HttpClientTest, ClientErrorsAreNotRetried) {
  for (int status : {400, 401, 403, 404, 418}) {
    LoopbackServer server([&](const Request&) { return Answer(status); });
    auto client = MakeClient(Quick());
    Response response;
    const pot::Status s = client->PostJson(server.base_url() + "/completion", "{}", &response);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), pot::Status::Code::kIOError);
    EXPECT_EQ(server.requests(), 1) << status;
    EXPECT_EQ(response.status, status);
    EXPECT_EQ(response.body, R"({"error":"test"})");  // the server's own words, for callers that want them
    if (status == 404) {
      EXPECT_EQ(s.message(), "POST " + server.base_url() + "/completion: HTTP 404 Not Found");
    }
    EXPECT_NE(s.message().find("HTTP " + std::to_string(status)), std::string::npos) << s.message();
  }
}

TEST(HttpClientTest, RetryAfterSecondsIsHonouredThenSucceeds) {
  LoopbackServer server([&](const Request&) {
    return server.requests() == 1 ? Answer(503, {{"Retry-After", "1"}}) : Reply::Json(200, "{}");
  });
  Options options = Quick();
  std::vector<std::string> told;
  options.on_retry = [&](const std::string& line) { told.push_back(line); };
  auto client = MakeClient(options);
  Response response;
  const auto start = std::chrono::steady_clock::now();
  const pot::Status s = client->Get(server.base_url() + "/health", &response);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_GE(Since(start), 0.9);  // the server's second, not the 10 ms backoff
  EXPECT_EQ(server.requests(), 2);
  EXPECT_EQ(response.attempts, 2);
  ASSERT_EQ(told.size(), 1u);
  EXPECT_EQ(told[0], "HTTP 503 Service Unavailable from " + server.base_url() +
                         "/health, retrying in 1.0 s (attempt 2 of 4)");
}

TEST(HttpClientTest, RetryAfterHttpDateIsHonoured) {
  LoopbackServer server([&](const Request&) {
    if (server.requests() > 1) return Reply::Json(200, "{}");
    const std::time_t when = std::time(nullptr) + 1;
    char date[64];
    std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", std::gmtime(&when));
    return Answer(429, {{"Retry-After", date}});
  });
  Options options = Quick();
  double waited = -1;
  options.on_retry = [&](const std::string& line) { waited = std::atof(line.substr(line.find("in ") + 3).c_str()); };
  auto client = MakeClient(options);
  Response response;
  ASSERT_TRUE(client->Get(server.base_url() + "/", &response).ok());
  EXPECT_EQ(server.requests(), 2);
  EXPECT_GE(waited, 0.0);  // a whole-second date may already be this second
  EXPECT_LE(waited, 1.0);
}

TEST(HttpClientTest, TooManyRequestsExhaustsAttempts) {
  LoopbackServer server([](const Request&) { return Answer(429); });
  Options options = Quick();
  options.max_attempts = 3;
  int retries = 0;
  options.on_retry = [&](const std::string&) { ++retries; };
  auto client = MakeClient(options);
  Response response;
  const pot::Status s = client->PostJson(server.base_url() + "/completion", "{}", &response);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "POST " + server.base_url() + "/completion: HTTP 429 Too Many Requests (gave up after 3 attempts)");
  EXPECT_EQ(server.requests(), 3);
  EXPECT_EQ(response.attempts, 3);
  EXPECT_EQ(retries, 2);
}

TEST(HttpClientTest, RetryAfterBeyondTheLimitEndsTheCall) {
  LoopbackServer server([](const Request&) { return Answer(503, {{"Retry-After", "600"}}); });
  auto client = MakeClient(Quick());  // retry_after_max_s 120
  Response response;
  const pot::Status s = client->Get(server.base_url() + "/", &response);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(server.requests(), 1);
  EXPECT_NE(s.message().find("HTTP 503 Service Unavailable with Retry-After 600 s, over the 120 s"), std::string::npos)
      << s.message();
}

TEST(HttpClientTest, ServerErrorsAreRetriedWithBackoff) {
  for (int status : {500, 502, 504}) {
    LoopbackServer server([&](const Request&) { return server.requests() < 3 ? Answer(status) : Reply::Json(200, "{}"); });
    auto client = MakeClient(Quick());
    Response response;
    ASSERT_TRUE(client->Get(server.base_url() + "/", &response).ok()) << status;
    EXPECT_EQ(server.requests(), 3);
    EXPECT_EQ(response.attempts, 3);
  }
}

TEST(HttpClientTest, ConnectionRefused) {
  const int port = test::UnusedPort();
  Options options = Quick();
  options.max_attempts = 2;
  auto client = MakeClient(options);
  Response response;
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/health";
  const pot::Status s = client->Get(url, &response);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "GET " + url + ": connection refused (gave up after 2 attempts)");
  EXPECT_EQ(response.status, 0);
  EXPECT_EQ(response.attempts, 2);
}

TEST(HttpClientTest, TimesOutOnAServerThatNeverAnswers) {
  LoopbackServer server([](const Request&) {
    Reply r = Reply::Json(200, "{}");
    r.delay_s = 30;  // the server's destructor cuts this short
    return r;
  });
  Options options = Quick();
  options.total_timeout_s = 1;
  options.max_attempts = 1;
  auto client = MakeClient(options);
  Response response;
  const auto start = std::chrono::steady_clock::now();
  const pot::Status s = client->PostJson(server.base_url() + "/completion", "{}", &response);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "POST " + server.base_url() + "/completion: timed out after 1 s");
  EXPECT_LT(Since(start), 3);
}

TEST(HttpClientTest, BodyOverTheCapIsRefusedNotTruncated) {
  const std::string big(5000, 'x');
  // Announced by Content-Length (refused before reading), and streamed to the end without one.
  LoopbackServer announced([&](const Request&) { return Reply::Json(200, big); });
  LoopbackServer streamed([&](const Request&) {
    Reply r;
    r.raw = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n" + big;
    return r;
  });
  Options options = Quick();
  options.max_response_bytes = 1000;
  auto client = MakeClient(options);
  for (LoopbackServer* server : {&announced, &streamed}) {
    Response response;
    const pot::Status s = client->Get(server->base_url() + "/", &response);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.message(), "GET " + server->base_url() + "/: response larger than 1000 bytes");
    EXPECT_EQ(server->requests(), 1);  // not retried
    EXPECT_LE(response.body.size(), 1000u);
  }
  // Exactly at the cap is fine.
  LoopbackServer exact([](const Request&) { return Reply::Json(200, std::string(1000, 'y')); });
  Response response;
  EXPECT_TRUE(client->Get(exact.base_url() + "/", &response).ok());
  EXPECT_EQ(response.body.size(), 1000u);
}

TEST(HttpClientTest, HangUpsAreRetried) {
  LoopbackServer silent([](const Request&) {
    Reply r;
    r.close_without_answer = true;
    return r;
  });
  LoopbackServer cut([](const Request&) {
    Reply r = Reply::Json(200, std::string(400, 'z'));
    r.cut_body_short = true;
    return r;
  });
  Options options = Quick();
  options.max_attempts = 2;
  auto client = MakeClient(options);
  Response response;
  pot::Status s = client->Get(silent.base_url() + "/", &response);
  EXPECT_EQ(s.message(), "GET " + silent.base_url() + "/: connection closed without a response (gave up after 2 attempts)");
  EXPECT_EQ(silent.requests(), 2);
  s = client->Get(cut.base_url() + "/", &response);
  EXPECT_NE(s.message().find("connection closed before the whole body arrived"), std::string::npos) << s.message();
  EXPECT_EQ(cut.requests(), 2);
}

TEST(HttpClientTest, RedirectsAreNotFollowed) {
  LoopbackServer server([](const Request&) { return Answer(302, {{"Location", "http://elsewhere.example:9/x"}}); });
  auto client = MakeClient(Quick());
  Response response;
  const pot::Status s = client->PostJson(server.base_url() + "/completion", "{}", &response);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "POST " + server.base_url() + "/completion: HTTP 302 Found redirecting to elsewhere.example (not followed)");
  EXPECT_EQ(server.requests(), 1);
}

TEST(HttpClientTest, BearerTokenIsSentAndNeverInAnyMessage) {
  const std::string token = "sk-test-4f9a1c7e2b";
  std::string seen;
  LoopbackServer server([&](const Request& r) {
    seen = r.Header("Authorization");
    if (r.path == "/ok") return Reply::Json(200, "{}");
    if (r.path == "/slow") {
      Reply slow = Reply::Json(200, "{}");
      slow.delay_s = 30;
      return slow;
    }
    // A hostile or careless server echoing the token back in every place it can.
    return Answer(r.path == "/busy" ? 503 : 401, {{"Location", token}, {"Retry-After", token}});
  });
  Options options = Quick();
  options.bearer_token = token;
  options.max_attempts = 2;
  options.total_timeout_s = 1;
  std::vector<std::string> messages;
  options.on_retry = [&](const std::string& line) { messages.push_back(line); };
  auto client = MakeClient(options);
  Response response;
  ASSERT_TRUE(client->Get(server.base_url() + "/ok", &response).ok());
  EXPECT_EQ(seen, "Bearer " + token);
  for (const char* path : {"/denied", "/busy", "/slow"}) {
    const pot::Status s = client->PostJson(server.base_url() + path, "{\"key\":\"" + token + "\"}", &response);
    ASSERT_FALSE(s.ok());
    messages.push_back(s.message());
  }
  const pot::Status refused = client->Get("http://127.0.0.1:" + std::to_string(test::UnusedPort()) + "/", &response);
  messages.push_back(refused.message());
  EXPECT_GE(messages.size(), 6u);  // four errors and at least two retries
  for (const std::string& m : messages) EXPECT_EQ(m.find(token), std::string::npos) << m;
}

TEST(HttpClientTest, UserinfoStaysOutOfMessages) {
  LoopbackServer server([](const Request&) { return Answer(404); });
  auto client = MakeClient(Quick());
  Response response;
  const std::string url = server.base_url().replace(7, 0, "alice:hunter2@") + "/v1";
  const pot::Status s = client->Get(url, &response);
  EXPECT_EQ(s.message(), "GET " + server.base_url() + "/v1: HTTP 404 Not Found");
}

TEST(HttpClientTest, NonsenseOptionsAndUrlsAreRefused) {
  std::unique_ptr<Client> client;
  Options o;
  o.max_attempts = 0;
  EXPECT_EQ(NewClient(o, &client).code(), pot::Status::Code::kInvalidArgument);
  o = Options();
  o.total_timeout_s = 0;
  EXPECT_EQ(NewClient(o, &client).code(), pot::Status::Code::kInvalidArgument);
  o = Options();
  o.bearer_token = "abc\r\nX-Injected: 1";
  const pot::Status s = NewClient(o, &client);
  EXPECT_EQ(s.code(), pot::Status::Code::kInvalidArgument);
  EXPECT_EQ(s.message().find("abc"), std::string::npos) << s.message();

  client = MakeClient(Quick());
  Response response;
  EXPECT_EQ(client->Get("ftp://127.0.0.1/", &response).code(), pot::Status::Code::kInvalidArgument);
  EXPECT_EQ(client->Get("file:///etc/passwd", &response).code(), pot::Status::Code::kInvalidArgument);
}

TEST(ParseBaseUrlTest, AcceptsHttpAndStripsUserinfo) {
  std::string display;
  ASSERT_TRUE(ParseBaseUrl("http://127.0.0.1:8080/completion", &display).ok());
  EXPECT_EQ(display, "http://127.0.0.1:8080/completion");
  ASSERT_TRUE(ParseBaseUrl("https://user:secret@api.example.com/v1?x=1", &display).ok());
  EXPECT_EQ(display, "https://api.example.com/v1?x=1");
  ASSERT_TRUE(ParseBaseUrl("HTTP://Example.com", &display).ok());
  EXPECT_EQ(display.rfind("http://", 0), 0u) << display;
}

TEST(ParseBaseUrlTest, RefusesOtherSchemesAndNonUrls) {
  std::string display;
  for (const char* url : {"ftp://example.com/", "file:///etc/passwd", "gopher://example.com", "127.0.0.1:8080",
                          "", "http://", "not a url", "http://exa mple.com/"}) {
    const pot::Status s = ParseBaseUrl(url, &display);
    EXPECT_EQ(s.code(), pot::Status::Code::kInvalidArgument) << url;
  }
  EXPECT_NE(ParseBaseUrl("ftp://example.com/", &display).message().find("ftp"), std::string::npos);
  // A URL that does not parse is not echoed: it may carry a password.
  const pot::Status s = ParseBaseUrl("http://user:secret@exa mple.com/", &display);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.message().find("secret"), std::string::npos) << s.message();
}

class ReadApiKeyTest : public ::testing::Test {
 protected:
  void Write(const std::string& path, const std::string& data) {
    WriteOptions w;
    w.mode = 0600;
    w.replace = true;
    ASSERT_TRUE(WriteFileAtomically(env_.get(), path, data, w).ok());
  }
  std::unique_ptr<Env> env_ = NewMemEnv();
};

TEST_F(ReadApiKeyTest, NeitherGivesAnEmptyKeyAndBothAreRefused) {
  std::string key = "stale";
  ASSERT_TRUE(ReadApiKey(env_.get(), "", "", &key).ok());
  EXPECT_EQ(key, "");
  Write("/k", "abc\n");
  EXPECT_EQ(ReadApiKey(env_.get(), "HOME", "/k", &key).code(), pot::Status::Code::kInvalidArgument);
}

TEST_F(ReadApiKeyTest, FromTheEnvironment) {
  std::string key;
  ::setenv("POT_HTTP_TEST_KEY", "sk-from-env", 1);
  ASSERT_TRUE(ReadApiKey(env_.get(), "POT_HTTP_TEST_KEY", "", &key).ok());
  EXPECT_EQ(key, "sk-from-env");
  ::setenv("POT_HTTP_TEST_KEY", "", 1);
  EXPECT_FALSE(ReadApiKey(env_.get(), "POT_HTTP_TEST_KEY", "", &key).ok());
  ::setenv("POT_HTTP_TEST_KEY", "two\nlines", 1);
  EXPECT_FALSE(ReadApiKey(env_.get(), "POT_HTTP_TEST_KEY", "", &key).ok());
  ::unsetenv("POT_HTTP_TEST_KEY");
  const pot::Status s = ReadApiKey(env_.get(), "POT_HTTP_TEST_KEY", "", &key);
  EXPECT_NE(s.message().find("POT_HTTP_TEST_KEY"), std::string::npos) << s.message();
}

TEST_F(ReadApiKeyTest, FromAFile) {
  std::string key;
  for (const char* contents : {"sk-file", "sk-file\n", "sk-file\r\n"}) {
    Write("/k", contents);
    ASSERT_TRUE(ReadApiKey(env_.get(), "", "/k", &key).ok()) << contents;
    EXPECT_EQ(key, "sk-file");
  }
  for (const std::string& contents : std::vector<std::string>{"", "\n", "sk-one\nsk-two\n", "sk-a\n\n", std::string("sk\x01", 3), "sk key",
                                     std::string(5000, 'k'), "sk-\xc3\xa9"}) {
    Write("/k", contents);
    const pot::Status s = ReadApiKey(env_.get(), "", "/k", &key);
    EXPECT_EQ(s.code(), pot::Status::Code::kInvalidArgument) << contents;
    EXPECT_EQ(s.message().find("sk-"), std::string::npos) << s.message();  // the key is never echoed
    EXPECT_NE(s.message().find("/k"), std::string::npos) << s.message();
  }
  EXPECT_FALSE(ReadApiKey(env_.get(), "", "/missing", &key).ok());
}

}  // namespace
}  // namespace pot::http
