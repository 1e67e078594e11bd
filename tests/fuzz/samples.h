// Small valid instances of every format the fuzz targets parse, made with the product's own writers: the
// seed corpus (fuzz_seed_corpus.cpp) and the journal target's run header come from here.
#pragma once

#include <string>
#include <vector>

#include "challenge/challenge.h"
#include "evidence/bundle.h"
#include "evidence/transcript.h"
#include "manifest/manifest.h"
#include "reference/reference.h"

namespace pot::fuzz {

inline evidence::ModelRef SampleModel(const std::string& name, char digit) {
  return {{name}, {std::string(64, digit)}, std::string(64, 'a'), std::string(64, 'b')};
}

inline evidence::Header SampleHeader(verify::Distance distance, bool reference_file) {
  evidence::Header h;
  h.pot_version = "0.1.0";
  h.llama_commit = "de3ff815ea7d559ee917f063901b8986f038abc6";
  h.reference = SampleModel("base.gguf", '1');
  h.candidate = SampleModel("cand.gguf", '2');
  if (reference_file) h.reference_file = evidence::ReferenceFileRef{"base.potref", std::string(64, '3'), std::string(64, '4')};
  h.vocab_sha256 = std::string(64, '5');
  h.commitment = std::string(64, '6');
  h.family = "templates";
  h.family_params = "v1";
  h.n_max_committed = 64;
  h.test = {0.01, 0.01, 0.2, 32};
  h.distance = distance;
  h.continuation_tokens = 4;
  h.cand_ubatch = 512;
  h.topk = 8;
  return h;
}

inline evidence::Record SampleRecord(uint64_t index) {
  evidence::Record r;
  r.index = index;
  r.prompt = "Write a short note about item " + std::to_string(index) + ".";
  r.tag = std::string(64, 'c');
  r.prompt_tokens = {1, 415, 2 + static_cast<int32_t>(index)};
  r.continuation = {29871, 13};
  r.topk_sha256 = std::string(64, 'd');
  r.score = {0.125, 0.125, 0.0625, 0.25, 0.75, 0.5, 4};
  r.lower = 0.0;
  r.upper = 0.875 - 0.125 * static_cast<double>(index);
  return r;
}

// A transcript of n records, finished with an outcome when asked.
inline std::vector<std::string> SampleTranscript(verify::Distance distance, bool reference_file, int n, bool finished) {
  std::vector<std::string> lines = {evidence::HeaderLine(SampleHeader(distance, reference_file))};
  for (int i = 0; i < n; ++i) lines.push_back(evidence::RecordLine(SampleRecord(i), distance));
  if (finished) lines.push_back(evidence::OutcomeLine({stats::Decision::kUndecided, static_cast<uint64_t>(n), 0.125, 0.0, 0.5}));
  return lines;
}

inline evidence::Claim SampleClaim(const std::vector<std::string>& transcript, bool reference_file) {
  evidence::Claim c;
  c.header = SampleHeader(verify::Distance::kTotalVariation, reference_file);
  c.outcome = {stats::Decision::kUndecided, transcript.size() - 2, 0.125, 0.0, 0.5};
  c.key_hex = std::string(64, 'e');
  c.transcript_root = evidence::TranscriptRoot(transcript);
  c.transcript_size = transcript.size();
  return c;
}

inline reference::Header SampleReferenceHeader(uint64_t n, int tail_samples) {
  reference::Header h;
  h.pot_version = "0.1.0";
  h.llama_commit = "de3ff815ea7d559ee917f063901b8986f038abc6";
  h.model = SampleModel("base.gguf", '1');
  h.vocab_sha256 = std::string(64, '5');
  h.n_vocab = 300;
  h.commitment = std::string(64, '6');
  h.family = "templates";
  h.family_params = "v1";
  h.n_max_committed = 8;
  h.n = n;
  h.continuation_tokens = 2;
  h.topk = 2;
  h.tail_samples = tail_samples;
  return h;
}

// Challenge i: 2 prompt tokens and 1 continuation token, so 2 rows.
inline reference::Challenge SampleReferenceChallenge(const reference::Header& h, int i) {
  reference::Challenge c;
  c.prompt_tokens = {1, 10 + i};
  c.continuation = {20 + i};
  c.rows.k = h.topk;
  c.rows.samples = h.tail_samples;
  for (int row = 0; row < 2; ++row) {
    const float logp[] = {-0.5f - 0.25f * row, -1.75f, -4.0f, -5.5f};
    for (int j = 0; j < h.topk + h.tail_samples; ++j) {
      c.rows.ids.push_back(j < h.topk ? 30 + j + row : 100 + j);
      c.rows.logp.push_back(logp[j]);
    }
    c.rows.target_logp.push_back(-2.0f - row);
  }
  return c;
}

// The signed body of a reference file (everything the signature covers); the signed file appends the
// signer's public key and signature.
inline std::string SampleReferenceFile(uint64_t n, int tail_samples, const SigningKey& key) {
  const reference::Header h = SampleReferenceHeader(n, tail_samples);
  std::vector<std::string> records(n);
  for (uint64_t i = 0; i < n; ++i) {
    if (!reference::EncodeChallenge(h, SampleReferenceChallenge(h, static_cast<int>(i)), &records[i]).ok()) return "";
  }
  std::string file;
  if (!reference::Assemble(h, records, key, &file).ok()) return "";
  return file;
}

inline manifest::Manifest SampleManifest(int shards, int tensors) {
  manifest::Manifest m;
  for (int s = 0; s < shards; ++s) {
    manifest::ShardEntry e;
    e.file = "model-0000" + std::to_string(s + 1) + "-of-0000" + std::to_string(shards) + ".gguf";
    e.size = 4096 + s;
    e.gguf_version = 3;
    e.n_kv = 20;
    e.metadata_sha256.fill(static_cast<uint8_t>(s + 1));
    if (s == 0) e.file_sha256 = std::string(64, 'f');
    m.shards.push_back(e);
  }
  for (int t = 0; t < tensors; ++t) {
    manifest::TensorEntry e;
    e.name = "blk." + std::to_string(t) + ".attn_q.weight";
    e.type = t % 2 == 0 ? 0 : 8;  // f32, q8_0
    e.shape = {32, 8 + t};
    e.nbytes = 32u * (8 + t) * (t % 2 == 0 ? 4 : 1);
    e.sha256.fill(static_cast<uint8_t>(0x40 + t));
    e.shard = static_cast<uint32_t>(t % shards);
    e.offset = 1024 + 256 * t;
    m.tensors.push_back(e);
  }
  manifest::ComputeRoots(&m);
  return m;
}

inline challenge::KeyFile SampleKeyFile() {
  challenge::KeyFile k;
  k.key = std::string(challenge::kKeyBytes, '\x5a');
  k.family = {"templates", "v1"};
  k.n_max = 512;
  k.commitment = challenge::Commit(k.key, k.family, k.n_max);
  return k;
}

}  // namespace pot::fuzz
