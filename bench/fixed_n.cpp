// fixed_n: the "standard" behavioural verification the user's notes estimate, built for real so that
// bench/methods.sh can measure it beside pot: the reference model generates T greedy tokens for each of N
// prompts and the outputs are stored (a file of token ids); the reference is freed, the candidate loads,
// generates for the same prompts, and its outputs are compared with the stored ones. Prints one JSON object:
// prompts, tokens, prompts whose outputs match exactly, token agreement (positions equal up to the first
// divergence of each prompt, over all positions), the stored file's size, and each phase's seconds.
// Its verdict is the method's own rule: DIFFERENT when any output differs, SAME otherwise. Nothing binds the
// result cryptographically: the stored outputs are a plain file the verifier could have edited.
// usage: fixed_n REF.gguf CAND.gguf STORE_FILE [--prompts N] [--tokens T] [--threads K]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "challenge/challenge.h"
#include "crypto/hmac.h"
#include "crypto/sha256.h"
#include "engine/engine.h"
#include "env/env.h"
#include "llama.h"

namespace {

using pot::Status;
using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct Run {
  pot::engine::ModelPtr model;
  pot::engine::ContextPtr ctx;
};

Status Open(const std::string& path, int threads, Run* run) {
  POT_RETURN_IF_ERROR(pot::engine::LoadModel(path, {}, &run->model));
  pot::engine::ContextOptions options;
  options.n_threads = threads;
  return pot::engine::NewContext(run->model.get(), options, &run->ctx);
}

// Greedy continuation of prompt i: exactly `tokens` ids (an end-of-generation token is kept and ends it early,
// the rest padded with -1 so every record has one size and the file is indexable).
Status Generate(const Run& run, const pot::challenge::Generator& prompts, uint64_t i, int tokens,
                std::vector<int32_t>* out) {
  pot::challenge::Challenge c;
  POT_RETURN_IF_ERROR(prompts.Generate(i, &c));
  std::vector<int32_t> prompt;
  POT_RETURN_IF_ERROR(pot::engine::Tokenize(llama_model_get_vocab(run.model.get()), c.prompt, true, &prompt));
  out->assign(tokens, -1);
  POT_RETURN_IF_ERROR(pot::engine::Start(run.ctx.get(), prompt));
  std::vector<int32_t> best;
  for (int t = 0; t < tokens; ++t) {
    pot::engine::TopK(pot::engine::LastLogits(run.ctx.get()), pot::engine::VocabSize(run.ctx.get()), 1, &best);
    (*out)[t] = best[0];
    if (pot::engine::IsEndOfGeneration(run.ctx.get(), best[0]) || t + 1 == tokens) break;
    POT_RETURN_IF_ERROR(pot::engine::Step(run.ctx.get(), best[0]));
  }
  return Status::OK();
}

int Fail(const Status& s) {
  std::fprintf(stderr, "fixed_n: %s\n", s.message().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: fixed_n REF.gguf CAND.gguf STORE_FILE [--prompts N] [--tokens T] [--threads K]\n");
    return 2;
  }
  const std::string ref_path = argv[1], cand_path = argv[2], store_path = argv[3];
  uint64_t n = 100;
  int tokens = 50, threads = 1;
  for (int a = 4; a + 1 < argc; a += 2) {
    if (!std::strcmp(argv[a], "--prompts")) n = std::stoull(argv[a + 1]);
    else if (!std::strcmp(argv[a], "--tokens")) tokens = std::stoi(argv[a + 1]);
    else if (!std::strcmp(argv[a], "--threads")) threads = std::stoi(argv[a + 1]);
    else return Fail(Status::InvalidArgument(std::string("unknown option ") + argv[a]));
  }
  if (n == 0 || tokens < 1) return Fail(Status::InvalidArgument("--prompts and --tokens must be positive"));
  pot::engine::Init(false);
  pot::Env* env = pot::Env::Default();
  // The prompts are pot's templates family under a fixed public key: the standard method has no secret.
  const pot::Digest key = pot::Sha256Of("pot.bench.fixed_n.v1");
  std::unique_ptr<pot::challenge::Generator> prompts;
  Status s = pot::challenge::NewGenerator(env, pot::AsBytes(key), {"templates", "v1"}, "", &prompts);
  if (!s.ok()) return Fail(s);

  // Phase 1: the reference generates and every output is stored.
  auto t0 = Clock::now();
  std::string stored;
  {
    Run ref;
    if (!(s = Open(ref_path, threads, &ref)).ok()) return Fail(s);
    std::vector<int32_t> out;
    for (uint64_t i = 0; i < n; ++i) {
      if (!(s = Generate(ref, *prompts, i, tokens, &out)).ok()) return Fail(s);
      stored.append(reinterpret_cast<const char*>(out.data()), out.size() * sizeof(int32_t));
    }
  }
  if (!(s = pot::WriteFileAtomically(env, store_path, stored, pot::WriteOptions{})).ok()) return Fail(s);
  const double reference_s = SecondsSince(t0);

  // Phase 2: the candidate generates; each output is compared with the stored one read back from the file.
  t0 = Clock::now();
  std::unique_ptr<pot::RandomAccessFile> file;
  if (!(s = env->NewRandomAccessFile(store_path, &file)).ok()) return Fail(s);
  const size_t record = static_cast<size_t>(tokens) * sizeof(int32_t);
  if (file->Size() != n * record) return Fail(Status::Corruption(store_path + ": unexpected size"));
  Run cand;
  if (!(s = Open(cand_path, threads, &cand)).ok()) return Fail(s);
  std::vector<int32_t> out, want(tokens);
  uint64_t matches = 0, agreed = 0, positions = 0;
  for (uint64_t i = 0; i < n; ++i) {
    if (!(s = Generate(cand, *prompts, i, tokens, &out)).ok()) return Fail(s);
    size_t got = 0;
    if (!(s = file->Read(i * record, record, reinterpret_cast<char*>(want.data()), &got)).ok()) return Fail(s);
    if (got != record) return Fail(Status::Corruption(store_path + ": short read"));
    int t = 0;
    while (t < tokens && out[t] == want[t] && want[t] != -1) ++t;
    const bool match = out == want;
    matches += match;
    agreed += match ? static_cast<uint64_t>(tokens) : t;
    positions += tokens;
  }
  const double candidate_s = SecondsSince(t0);
  std::printf("{\"prompts\": %llu, \"tokens\": %d, \"matches\": %llu, \"token_agreement\": %.6f, "
              "\"stored_bytes\": %zu, \"reference_s\": %.3f, \"candidate_s\": %.3f, \"decision\": \"%s\"}\n",
              static_cast<unsigned long long>(n), tokens, static_cast<unsigned long long>(matches),
              static_cast<double>(agreed) / static_cast<double>(positions), stored.size(), reference_s, candidate_s,
              matches == n ? "SAME" : "DIFFERENT");
  return 0;
}
