// Placement over llama.cpp's RPC backend, against real ggml-rpc-server processes on loopback ports: the
// address rules, the HELLO check, byte-identical scores through two servers, and a server killed mid-run.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <sstream>
#include <thread>

#include "env/env.h"
#include "ggml-rpc.h"
#include "gguf/gguf.h"
#include "placement/placement.h"
#include "support/child_process.h"
#include "support/loopback_server.h"
#include "support/rpc_server.h"
#include "test_util.h"

namespace pot {
namespace {

using test::RunPot;
using test::TempDir;

std::string Member(const std::string& name) { return test::TestbedDir() + "/" + name + ".gguf"; }

// The transcript's lines after its header: what was scored, not where.
std::vector<std::string> RecordLines(const std::string& transcript) {
  std::vector<std::string> lines;
  std::istringstream in(transcript);
  std::string line;
  std::getline(in, line);  // the header
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

TEST(PlacementRpc, AddressesAreCheckedAndRemoteOnesRefusedWithoutTheFlag) {
  std::vector<std::string> servers;
  ASSERT_TRUE(placement::ParseRpcServers("localhost:50052, 127.0.0.2:7", false, &servers).ok());
  EXPECT_EQ(servers, (std::vector<std::string>{"127.0.0.1:50052", "127.0.0.2:7"}));
  Status remote = placement::ParseRpcServers("127.0.0.1:1,192.0.2.7:50052", false, &servers);
  EXPECT_EQ(remote.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(remote.message().find("192.0.2.7:50052"), std::string::npos) << remote.message();
  EXPECT_NE(remote.message().find("--rpc-allow-remote"), std::string::npos) << remote.message();
  EXPECT_TRUE(placement::ParseRpcServers("192.0.2.7:50052", true, &servers).ok());
  for (const char* bad : {"", "host", ":1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:x",
                          "[::1]:50052", "127.0.0.1:5,127.0.0.1:5", "no-such-host.invalid:5"}) {
    EXPECT_FALSE(placement::ParseRpcServers(bad, true, &servers).ok()) << bad;
  }
  std::vector<float> split;
  EXPECT_TRUE(placement::ParseTensorSplit("3,1", &split).ok());
  EXPECT_EQ(split, (std::vector<float>{3, 1}));
  for (const char* bad : {"", "1,", "0,1", "-1", "nan", "1;2", "inf"}) {
    EXPECT_FALSE(placement::ParseTensorSplit(bad, &split).ok()) << bad;
  }
}

// What each device must hold, checked against free memory before loading: llama.cpp's layer assignment.
TEST(PlacementRpc, DeviceBytesFollowLlamaCppsLayerAssignment) {
  gguf::File file;
  ASSERT_TRUE(gguf::Read(Env::Default(), Member("base"), &file).ok());
  const uint64_t n_layer = *file.GetUint(*file.GetString("general.architecture") + ".block_count");
  uint64_t offloadable = 0, layer0 = 0;
  for (const auto& t : file.tensors) {
    if (t.name.rfind("token_embd.", 0) != 0) offloadable += t.nbytes;
    if (t.name.rfind("blk.0.", 0) == 0) layer0 += t.nbytes;
  }
  const auto all = placement::DeviceBytes(file, static_cast<int>(n_layer) + 1, {1, 1});
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0] + all[1], offloadable);
  EXPECT_GT(all[0], 0u);
  EXPECT_GT(all[1], 0u);
  // A device with a tiny share still gets the first layer (llama.cpp's upper_bound at 0); layer 0 stays local
  // when one layer fewer is offloaded.
  const auto tiny = placement::DeviceBytes(file, static_cast<int>(n_layer) + 1, {1e-9f, 1});
  EXPECT_EQ(tiny[0], layer0);
  EXPECT_EQ(tiny[1], offloadable - layer0);
  EXPECT_EQ(placement::DeviceBytes(file, static_cast<int>(n_layer), {1})[0], offloadable - layer0);
  EXPECT_EQ(placement::DeviceBytes(file, 0, {1})[0], 0u);
}

TEST(PlacementRpc, CommandsRefuseARemoteServerWithOneLineBeforeLoading) {
  TempDir dir;
  auto r = RunPot("verify --ref " + Member("base") + " --cand " + Member("base") + " --rpc 192.0.2.7:50052 -o " +
                  dir.File("run"));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(test::CountLines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("no authentication"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.File("run")));
  for (const std::string& cmd : {"selfcheck " + Member("base") + " --prompts 1", "reference build " + Member("base") +
                                 " --key k --sign s -n 1 -o " + dir.File("r.potref")}) {
    auto refused = RunPot(cmd + " --rpc 192.0.2.7:50052");
    EXPECT_EQ(refused.exit_code, 2) << cmd << "\n" << refused.err;
    EXPECT_NE(refused.err.find("--rpc-allow-remote"), std::string::npos) << refused.err;
  }
}

TEST(PlacementRpc, HelloChecksTheServerAndNamesOneThatIsNot) {
  std::unique_ptr<test::RpcServer> server;
  ASSERT_TRUE(test::RpcServer::Start(&server).ok());
  placement::ServerInfo info;
  Status s = placement::CheckServer(server->endpoint(), 5000, &info);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(info.proto_major, RPC_PROTO_MAJOR_VERSION);
  ASSERT_GE(info.devices.size(), 1u);
  EXPECT_GT(info.devices[0].total_bytes, 0u);

  const int nobody = test::UnusedPort();
  s = placement::CheckServer("127.0.0.1:" + std::to_string(nobody), 2000, &info);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("127.0.0.1:" + std::to_string(nobody)), std::string::npos) << s.message();

  // An HTTP server is not an RPC server: it answers HELLO with an HTTP error, or nothing.
  test::LoopbackServer http([](const test::Request&) { return test::Reply{400, {}, "bad request"}; });
  s = placement::CheckServer("127.0.0.1:" + std::to_string(http.port()), 2000, &info);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("RPC server 127.0.0.1:" + std::to_string(http.port())), std::string::npos) << s.message();
}

// The bar of issue 16: verify through two loopback RPC servers gives the local run's scores, byte for byte,
// and its decision; a server killed mid-run ends the run with one line naming it (exit 4), and once it is
// back the rerun resumes to the transcript of an uninterrupted run.
TEST(PlacementRpc, VerifyThroughTwoServersScoresAsLocallyAndSurvivesALostServer) {
  TempDir dir;
  std::unique_ptr<test::RpcServer> a, b;
  ASSERT_TRUE(test::RpcServer::Start(&a).ok());
  ASSERT_TRUE(test::RpcServer::Start(&b).ok());
  ASSERT_EQ(RunPot("challenge commit --family templates -n 64 -o " + dir.File("k.key")).exit_code, 0);
  // q4_0 weights: the CPU would repack them locally; RPC servers never do, so the local run says --no-repack.
  const std::string common = "verify --ref " + Member("base") + " --cand " + Member("base-q4_0") + " --key " +
                             dir.File("k.key") + " --tokens 8 --threads 1 --n-max 24 --json --quiet";
  const std::string rpc = " --rpc " + a->endpoint() + "," + b->endpoint() + " --tensor-split 1,2";
  auto local = RunPot(common + " --no-repack -o " + dir.File("local"));
  ASSERT_TRUE(local.exit_code == 0 || local.exit_code == 1 || local.exit_code == 5) << local.err;
  auto remote = RunPot(common + rpc + " -o " + dir.File("rpc"));
  ASSERT_EQ(remote.exit_code, local.exit_code) << remote.err;
  const std::string local_transcript = test::Slurp(dir.File("local/transcript.jsonl"));
  const std::string rpc_transcript = test::Slurp(dir.File("rpc/transcript.jsonl"));
  const auto records = RecordLines(rpc_transcript);
  ASSERT_GE(records.size(), 4u);
  EXPECT_EQ(records, RecordLines(local_transcript)) << "scores through RPC differ from the local run's";
  EXPECT_NE(rpc_transcript.find("\"backend\":\"rpc\""), std::string::npos) << "the topology is in the header";
  EXPECT_NE(rpc_transcript.find(b->endpoint()), std::string::npos);

  // The same run again, with server b killed once two challenges are in.
  const std::string pot = POT_BINARY;
  std::vector<std::string> args = {pot};
  {
    std::istringstream words(common + rpc + " -o " + dir.File("killed"));
    for (std::string w; words >> w;) args.push_back(w);
  }
  std::unique_ptr<test::ChildProcess> run;
  ASSERT_TRUE(test::ChildProcess::Spawn(args, dir.File("killed.log"), &run).ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
  std::string how;
  while (test::CountLines(test::Slurp(dir.File("killed/transcript.jsonl"))) < 3 && !run->Exited(&how) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(how.empty()) << "the run ended before a server could be killed: " << run->LogTail();
  const int b_port = b->port();
  b->Kill();
  while (!run->Exited(&how) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(how, "exit status 4") << run->LogTail();
  const std::string said = run->LogTail();
  EXPECT_EQ(test::CountLines(said), 1) << said;
  EXPECT_NE(said.find("RPC server 127.0.0.1:" + std::to_string(b_port) + " does not answer"), std::string::npos) << said;
  EXPECT_NE(said.find("rerun"), std::string::npos) << said;

  b.reset();
  ASSERT_TRUE(test::RpcServer::Start(&b, b_port).ok());
  auto resumed = RunPot(common + rpc + " -o " + dir.File("killed"));
  ASSERT_EQ(resumed.exit_code, remote.exit_code) << resumed.err;
  EXPECT_NE(resumed.err.find("resuming"), std::string::npos) << resumed.err;
  EXPECT_EQ(test::Slurp(dir.File("killed/transcript.jsonl")), rpc_transcript);
}

}  // namespace
}  // namespace pot
