// Writes every fuzz target's starting corpus into DIR/<target>/: real, valid instances made by pot's own
// writers (samples.h, and the GGUF reader tests' builder), so mutation starts from inputs that reach every
// part of each parser rather than from bytes its first check refuses.
#include <fstream>
#include <iostream>
#include <filesystem>

#include "fuzz_util.h"
#include "gguf/gguf_builder.h"
#include "samples.h"
#include "shard/shard.h"
#include "sigstore/bundle.h"
#include "sigstore/oms.h"

namespace {

using pot::verify::Distance;

class Corpus {
 public:
  Corpus(const std::string& dir, const std::string& target) : dir_(dir + "/" + target) {
    std::filesystem::create_directories(dir_);
  }
  void Add(const std::string& bytes) {
    std::ofstream(dir_ + "/seed" + std::to_string(n_++), std::ios::binary) << bytes;
  }

 private:
  std::string dir_;
  int n_ = 0;
};

std::string Joined(const std::vector<std::string>& lines, const std::string& end = "") {
  std::string text;
  for (size_t i = 0; i < lines.size(); ++i) text += lines[i] + (i + 1 < lines.size() ? "\n" : end);
  return text;
}

void Gguf(Corpus c) {
  for (uint32_t version : {2u, 3u}) {
    for (uint64_t alignment : {32u, 64u}) {
      pot::test::GgufBuilder b = pot::test::SmallModel(alignment);
      b.version = version;
      c.Add(b.Build());
    }
  }
}

void Transcripts(Corpus c) {
  for (Distance d : {Distance::kTotalVariation, Distance::kJensenShannon}) {
    c.Add(Joined(pot::fuzz::SampleTranscript(d, false, 2, true)));
    c.Add(Joined(pot::fuzz::SampleTranscript(d, true, 1, false)));
  }
}

void Bundles(Corpus c) {
  for (bool reference_file : {false, true}) {
    const auto lines = pot::fuzz::SampleTranscript(Distance::kTotalVariation, reference_file, 2, true);
    const auto claim = pot::fuzz::SampleClaim(lines, reference_file);
    std::string bundle;
    if (!pot::evidence::MakeBundle(pot::fuzz::TestSigningKey(), claim, lines, &bundle).ok()) std::abort();
    c.Add(bundle);
    c.Add("s" + pot::evidence::StatementJson(claim));
  }
}

void References(Corpus c) {
  const size_t block = 32 + 64;  // the signer's key and signature the harness appends
  for (int tail_samples : {0, 2}) {
    const std::string file = pot::fuzz::SampleReferenceFile(2, tail_samples, pot::fuzz::TestSigningKey());
    c.Add(file.substr(0, file.size() - block));
  }
  c.Add(pot::fuzz::SampleReferenceFile(1, 1, pot::fuzz::TestSigningKey()));  // whole, for the signature path
}

void Manifests(Corpus c) {
  c.Add(pot::manifest::ToJson(pot::fuzz::SampleManifest(1, 3)));
  c.Add(pot::manifest::ToJson(pot::fuzz::SampleManifest(2, 2)));
}

void Proofs(Corpus c) {
  const pot::manifest::Manifest m = pot::fuzz::SampleManifest(2, 3);
  for (const auto& t : m.tensors) {
    pot::manifest::TensorProof p;
    if (!pot::manifest::ProveTensor(m, t.name, &p).ok()) std::abort();
    c.Add(pot::manifest::ProofToJson(p));
  }
}

void Keys(Corpus c) {
  auto env = pot::NewMemEnv();
  if (!pot::challenge::WriteKeyFile(env.get(), "run.key", pot::fuzz::SampleKeyFile()).ok()) std::abort();
  c.Add("c" + pot::fuzz::ReadFile(env.get(), "run.key"));
  const pot::SigningKey& key = pot::fuzz::TestSigningKey();
  c.Add("p" + pot::PublicKeyPem(key.public_raw));
  c.Add("k" + key.private_pem);
}

void Journals(Corpus c) {
  const auto lines = pot::fuzz::SampleTranscript(Distance::kTotalVariation, false, 3, true);
  c.Add(Joined(lines, "\n"));
  c.Add(Joined(lines).substr(0, Joined(lines).size() - 5));  // a torn last line
  c.Add(lines[0] + "\n");
}

// Bodies in the shapes llama-server really sends (first byte: API and k, as the target reads it).
void EndpointResponses(Corpus c) {
  const std::string entry = "{\"id\":1,\"token\":\"a\",\"bytes\":[97],\"logprob\":-0.5";
  c.Add(std::string(1, '\0') + "{\"content\":\"ab\",\"tokens\":[1,2],\"model\":\"m\"}");
  c.Add(std::string(1, '\4') + "{\"content\":\"a\",\"tokens\":[1],\"completion_probabilities\":[" + entry +
        ",\"top_logprobs\":[" + entry + "}]}]}");
  c.Add(std::string(1, '\5') + "{\"model\":\"m\",\"choices\":[{\"text\":\"a\",\"logprobs\":{\"content\":[" + entry +
        ",\"top_logprobs\":[" + entry + "}]}]}}]}");
  c.Add(std::string(1, '\6') + "{\"model\":\"m\",\"usage\":{\"prompt_tokens\":9},\"choices\":[{\"message\":{\"content\":\"a\"},"
        "\"logprobs\":{\"content\":[" + entry + ",\"top_logprobs\":[" + entry + "}]}]}}]}");
  c.Add(std::string(1, '\5') + "{\"choices\":[{\"text\":\"a\",\"logprobs\":{\"tokens\":[\"a\"],\"token_logprobs\":[-0.5],"
        "\"top_logprobs\":[{\"a\":-0.5}]}}]}");
}

// A selfcheck shard, and both shards of a reference build split in two (so merging one alone is refused,
// and the whole split of one is reached through the first).
void Shards(Corpus c) {
  pot::selfcheck::Options options;
  options.prompts = 3;
  std::string selfcheck = pot::shard::HeaderLine(pot::shard::Kind::kSelfcheck, {0, 1}, 3,
                                                 pot::selfcheck::HeaderLine(options, std::string(64, 'a'), "streaming")) + "\n";
  for (uint64_t i = 0; i < 3; ++i) {
    pot::selfcheck::PromptResult r;
    r.index = i;
    r.match = i != 1;
    r.first_divergence = r.match ? -1 : 2;
    r.compared = 3;
    selfcheck += pot::selfcheck::RecordLine(r) + "\n";
  }
  c.Add(selfcheck);
  const pot::reference::Header h = pot::fuzz::SampleReferenceHeader(2, 1);
  for (uint64_t count : {1u, 2u}) {
    std::string text = pot::shard::HeaderLine(pot::shard::Kind::kReferenceBuild, {0, count}, 2, pot::reference::HeaderJson(h)) + "\n";
    for (uint64_t i = 0; i < 2 / count; ++i) {
      std::string record;
      if (!pot::reference::EncodeChallenge(h, pot::fuzz::SampleReferenceChallenge(h, static_cast<int>(i)), &record).ok()) std::abort();
      text += pot::reference::JournalLine(i, record) + "\n";
    }
    c.Add(text);
  }
}

}  // namespace

// Model signatures: a single-file and a split model's statements, signed, and each statement bare ('s').
void Signatures(Corpus c) {
  pot::EcdsaKey key;
  if (!pot::GenerateEcdsaKey(&key).ok()) std::abort();
  pot::sigstore::ModelStatement single, split;
  single.model_name = "m.gguf";
  single.resources = {{".", std::string(64, 'a')}};
  split.model_name = "dir";
  split.resources = {{"m-00001-of-00002.gguf", std::string(64, 'b')}, {"m-00002-of-00002.gguf", std::string(64, 'c')}};
  split.ignore_paths = {"model.sig"};
  split.pot = pot::sigstore::ModelStatement::PotRoots{std::string(64, 'd'), std::string(64, 'e'), 2};
  for (const auto* s : {&single, &split}) {
    pot::sigstore::Bundle b;
    b.payload_type = pot::sigstore::kInTotoPayloadType;
    b.payload = pot::sigstore::StatementJson(*s);
    b.hint = pot::sigstore::KeyHint(key.public_pem);
    if (!pot::EcdsaSign(key, pot::DssePae(b.payload_type, b.payload), &b.signature).ok()) std::abort();
    c.Add(pot::sigstore::RenderBundle(b));
    c.Add("s" + b.payload);
  }
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_seed_corpus DIR\n";
    return 2;
  }
  const std::string dir = argv[1];
  Gguf({dir, "gguf_reader_fuzz"});
  Transcripts({dir, "transcript_fuzz"});
  Bundles({dir, "bundle_fuzz"});
  References({dir, "reference_fuzz"});
  Manifests({dir, "manifest_fuzz"});
  Proofs({dir, "proof_fuzz"});
  Keys({dir, "keyfile_fuzz"});
  Journals({dir, "journal_fuzz"});
  EndpointResponses({dir, "endpoint_response_fuzz"});
  Shards({dir, "shard_fuzz"});
  Signatures({dir, "sigstore_fuzz"});
  return 0;
}
