// The HTTP client against a real llama-server on the forged base model, directly and through the fault
// proxy: each injected fault must reach the client as the error it promises. Skipped when the model has
// not been forged.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <string>

#include "http/http.h"
#include "support/fault_proxy.h"
#include "support/llama_server.h"
#include "test_util.h"

namespace pot::http {
namespace {

using test::Fault;
using test::FaultProxy;
using test::LlamaServer;

const char kCompletion[] = R"({"prompt":[1,2,3], "n_predict":4, "temperature":0, "n_probs":3, "return_tokens":true})";

std::string BaseModel() { return test::TestbedDir() + "/base.gguf"; }

class EndpointTest : public ::testing::Test {
 protected:
  // One server for the whole suite: loading the model is the slow part.
  static void SetUpTestSuite() {
    if (!std::filesystem::exists(BaseModel())) return;
    start_ = LlamaServer::Start(BaseModel(), {}, &server_);
  }
  static void TearDownTestSuite() { server_.reset(); }
  void SetUp() override {
    if (!std::filesystem::exists(BaseModel())) GTEST_SKIP() << "no " << BaseModel() << " (run pot forge first)";
    ASSERT_TRUE(start_.ok()) << start_.message();
  }

  // The client's answer to one completion through a proxy applying fault to the first request only.
  pot::Status ThroughProxy(Fault fault, Options options, Response* response, int* proxied = nullptr) {
    FaultProxy proxy(server_->port(), [&](int n, const test::Request&) { return n == 1 ? fault : Fault::Pass(); });
    std::unique_ptr<Client> client;
    EXPECT_TRUE(NewClient(options, &client).ok());
    const pot::Status s = client->PostJson(proxy.base_url() + "/completion", kCompletion, response);
    if (proxied != nullptr) *proxied = proxy.requests();
    return s;
  }

  static Options OneAttempt() {
    Options o;
    o.max_attempts = 1;
    o.total_timeout_s = 60;
    return o;
  }

  static std::unique_ptr<LlamaServer> server_;
  static pot::Status start_;
};

std::unique_ptr<LlamaServer> EndpointTest::server_;
pot::Status EndpointTest::start_;

nlohmann::json Tokens(const Response& r) { return nlohmann::json::parse(r.body).at("tokens"); }

TEST_F(EndpointTest, CompletionWithTokensAndProbabilities) {
  std::unique_ptr<Client> client;
  ASSERT_TRUE(NewClient(OneAttempt(), &client).ok());
  Response response;
  const pot::Status s = client->PostJson(server_->base_url() + "/completion", kCompletion, &response);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(response.status, 200);
  EXPECT_NE(response.content_type.find("application/json"), std::string::npos);
  const auto json = nlohmann::json::parse(response.body);
  ASSERT_TRUE(json.at("tokens").is_array());
  EXPECT_EQ(json.at("tokens").size(), 4u);
  ASSERT_EQ(json.at("completion_probabilities").size(), 4u);
  EXPECT_EQ(json.at("completion_probabilities")[0].at("top_logprobs").size(), 3u);

  ASSERT_TRUE(client->Get(server_->base_url() + "/health", &response).ok());
  const pot::Status missing = client->Get(server_->base_url() + "/no-such-endpoint", &response);
  EXPECT_EQ(missing.message(), "GET " + server_->base_url() + "/no-such-endpoint: HTTP 404 Not Found");
}

TEST_F(EndpointTest, ProxyPassesAnswersThrough) {
  std::unique_ptr<Client> client;
  ASSERT_TRUE(NewClient(OneAttempt(), &client).ok());
  Response direct;
  ASSERT_TRUE(client->PostJson(server_->base_url() + "/completion", kCompletion, &direct).ok());
  Response proxied;
  int requests = 0;
  ASSERT_TRUE(ThroughProxy(Fault::Pass(), OneAttempt(), &proxied, &requests).ok());
  EXPECT_EQ(requests, 1);
  EXPECT_EQ(Tokens(proxied), Tokens(direct));  // temperature 0: the same tokens
}

TEST_F(EndpointTest, ResetIsAnErrorOrARetry) {
  Response response;
  pot::Status s = ThroughProxy(Fault::Reset(), OneAttempt(), &response);
  EXPECT_NE(s.message().find(": connection closed without a response"), std::string::npos) << s.message();
  Options retrying = OneAttempt();
  retrying.max_attempts = 2;
  retrying.backoff_initial_s = 0.01;
  int requests = 0;
  s = ThroughProxy(Fault::Reset(), retrying, &response, &requests);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(requests, 2);
  EXPECT_EQ(Tokens(response).size(), 4u);
}

TEST_F(EndpointTest, InjectedStatuses) {
  Response response;
  pot::Status s = ThroughProxy(Fault::Status500(), OneAttempt(), &response);
  EXPECT_NE(s.message().find("/completion: HTTP 500 Internal Server Error"), std::string::npos) << s.message();

  Options retrying = OneAttempt();
  retrying.max_attempts = 2;
  std::string told;
  retrying.on_retry = [&](const std::string& line) { told = line; };
  int requests = 0;
  s = ThroughProxy(Fault::Status429(1), retrying, &response, &requests);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(requests, 2);
  EXPECT_NE(told.find("HTTP 429 Too Many Requests from "), std::string::npos) << told;
  EXPECT_NE(told.find("retrying in 1.0 s (attempt 2 of 2)"), std::string::npos) << told;
}

TEST_F(EndpointTest, SlowAnswerTimesOut) {
  Options impatient = OneAttempt();
  impatient.total_timeout_s = 1;
  Response response;
  const pot::Status s = ThroughProxy(Fault::Delay(5), impatient, &response);
  EXPECT_NE(s.message().find("/completion: timed out after 1 s"), std::string::npos) << s.message();
}

TEST_F(EndpointTest, TruncatedBodyIsAnError) {
  Response response;
  const pot::Status s = ThroughProxy(Fault::TruncateHalf(), OneAttempt(), &response);
  EXPECT_NE(s.message().find("connection closed before the whole body arrived"), std::string::npos) << s.message();
}

TEST_F(EndpointTest, ReplacedAndRewrittenBodiesReachTheCaller) {
  // The client promises a whole 2xx body, not valid JSON: judging the content is its caller's work.
  Response response;
  ASSERT_TRUE(ThroughProxy(Fault::ReplaceBody("<html>not json"), OneAttempt(), &response).ok());
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "<html>not json");

  const Fault rewrite = Fault::RewriteJson([](const std::string& body) {
    auto json = nlohmann::json::parse(body);
    json["tokens"] = {7, 7, 7, 7};
    return json.dump();
  });
  ASSERT_TRUE(ThroughProxy(rewrite, OneAttempt(), &response).ok());
  EXPECT_EQ(Tokens(response), nlohmann::json({7, 7, 7, 7}));
}

TEST(LlamaServerTest, FailuresNameTheirCause) {
  std::unique_ptr<LlamaServer> server;
  EXPECT_EQ(LlamaServer::Start("/nonexistent/model.gguf", {}, &server).code(), pot::Status::Code::kNotFound);
  if (!std::filesystem::exists(BaseModel())) GTEST_SKIP() << "no " << BaseModel() << " (run pot forge first)";
  // A server that exits at once: the error carries its own words.
  const pot::Status s = LlamaServer::Start(BaseModel(), {"--no-such-flag"}, &server);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("exited"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("no-such-flag"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace pot::http
