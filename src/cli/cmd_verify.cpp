#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <optional>
#include <nlohmann/json.hpp>

#include "challenge/challenge.h"
#include "cli/cli.h"
#include "cli/interrupt.h"
#include "cli/progress.h"
#include "cli/run_dir.h"
#include "crypto/ed25519.h"
#include "crypto/hmac.h"
#include "cli/endpoint_options.h"
#include "cli/placement_options.h"
#include "endpoint/endpoint.h"
#include "evidence/bundle.h"
#include "journal/journal.h"
#include "gguf/model_info.h"
#include "manifest/manifest.h"
#include "reference/reference.h"
#include "text/text.h"
#include "verify/verify.h"

namespace pot::cli {
namespace {

using json = nlohmann::ordered_json;

Status TestParams(const Args& args, stats::TestParams* p) {
  POT_RETURN_IF_ERROR(stats::Preset(args.Get("mode").value_or("audit"), p));
  POT_RETURN_IF_ERROR(args.GetReal("alpha", 0, 0.5, &p->alpha));
  POT_RETURN_IF_ERROR(args.GetReal("beta", 0, 0.5, &p->beta));
  POT_RETURN_IF_ERROR(args.GetReal("epsilon", 0, 1, &p->epsilon));
  POT_RETURN_IF_ERROR(args.GetU64("n-max", p->n_max, &p->n_max));
  if (p->n_max == 0) return Status::InvalidArgument("--n-max must be at least 1: a test of no challenges decides nothing");
  return Status::OK();
}

// The presets' values, for --help.
std::string PresetsHelp() {
  std::string text;
  for (const auto& name : stats::PresetNames()) {
    stats::TestParams p;
    if (!stats::Preset(name, &p).ok()) continue;
    char line[160];
    std::snprintf(line, sizeof line, "%s%s: alpha %g, beta %g, epsilon %g, n_max %llu", text.empty() ? "" : "; ",
                  name.c_str(), p.alpha, p.beta, p.epsilon, static_cast<unsigned long long>(p.n_max));
    text += line;
  }
  return text;
}

Status Options(const Args& args, verify::Options* o) {
  auto ref = args.Get("ref"), cand = args.Get("cand");
  if (args.Has("endpoint")) {
    if (cand || !ref || args.Has("reference")) {
      return Status::InvalidArgument("verify --endpoint URL needs --ref A.gguf, the claimed model, and no --cand or --reference");
    }
  } else if (!cand || ref.has_value() == args.Has("reference")) {
    return Status::InvalidArgument("verify needs --cand B.gguf (or --endpoint URL) and either --ref A.gguf or --reference REF.potref");
  }
  if (args.Has("reference") && !args.Has("key")) {
    return Status::InvalidArgument("verify --reference needs --key, the key file the reference file was built with");
  }
  o->reference.path = ref.value_or("");
  o->candidate.path = cand.value_or("");
  POT_RETURN_IF_ERROR(TestParams(args, &o->test));
  uint64_t tokens = 0, ubatch = 0;
  int threads = 0;
  POT_RETURN_IF_ERROR(args.GetU64("tokens", 0, &tokens));
  POT_RETURN_IF_ERROR(args.GetThreads("threads", 0, &threads));
  if (tokens > verify::kMaxContinuationTokens) {
    return Status::InvalidArgument("--tokens is at most " + std::to_string(verify::kMaxContinuationTokens));
  }
  o->continuation_tokens = static_cast<int>(tokens);
  for (auto* side : {&o->reference, &o->candidate}) side->context.n_threads = threads;
  POT_RETURN_IF_ERROR(PlacementFromArgs(args, &o->reference.placement));
  o->candidate.placement = o->reference.placement;
  if (args.Has("cand-gpu-layers")) {  // e.g. the reference on the CPU, the candidate on the accelerator
    uint64_t layers = 0;
    POT_RETURN_IF_ERROR(args.GetU64("cand-gpu-layers", 0, &layers));
    if (layers > 100000) return Status::InvalidArgument("--cand-gpu-layers is too large");
    o->candidate.placement.gpu_layers = static_cast<int>(layers);
  }
  POT_RETURN_IF_ERROR(args.GetU64("cand-ubatch", 512, &ubatch));
  if (ubatch == 0) return Status::InvalidArgument("--cand-ubatch must be at least 1");
  o->candidate.context.n_ubatch = static_cast<uint32_t>(ubatch);
  o->candidate.context.flash_attn = args.Has("cand-flash-attn");
  const std::string distance = args.Get("distance").value_or("tv");
  if (distance != "tv" && distance != "js") return Status::InvalidArgument("--distance is tv or js");
  o->distance = distance == "tv" ? verify::Distance::kTotalVariation : verify::Distance::kJensenShannon;
  return Status::OK();
}

// The model's files, digests and manifest roots for the transcript header, with a progress bar.
Status DescribeModel(Env* env, const std::string& path, bool quiet, evidence::ModelRef* out) {
  ProgressBar bar("hashing " + path, quiet);
  manifest::HashOptions options;
  options.progress = [&bar](uint64_t done, uint64_t total) { bar.Update(done, total); };
  return evidence::DescribeModel(env, path, options, out);
}

evidence::Header MakeHeader(const verify::Options& o, const challenge::KeyFile& key, const std::string& vocab_sha256) {
  evidence::Header h;
  h.pot_version = POT_VERSION;
  h.llama_commit = POT_LLAMA_COMMIT;
  h.vocab_sha256 = vocab_sha256;
  h.commitment = ToHex(key.commitment);
  h.family = key.family.name;
  h.family_params = key.family.params;
  h.n_max_committed = key.n_max;
  h.test = o.test;
  h.distance = o.distance;
  h.continuation_tokens = o.continuation_tokens;
  h.cand_ubatch = o.candidate.context.n_ubatch;
  h.cand_flash_attn = o.candidate.context.flash_attn;
  h.topk = o.topk;
  h.ref_placement = text::DumpJson(placement::Describe(o.reference.placement));
  h.cand_placement = text::DumpJson(placement::Describe(o.candidate.placement));
  return h;
}

evidence::Record MakeRecord(const verify::ChallengeRecord& r) {
  evidence::Record e;
  e.index = r.challenge.index;
  e.prompt = r.challenge.prompt;
  e.tag = ToHex(r.challenge.tag);
  e.prompt_tokens = r.prompt_tokens;
  e.continuation = r.continuation;
  e.topk_sha256 = r.topk_sha256;
  e.score = r.score;
  e.lower = r.lower;
  e.upper = r.upper;
  if (!r.request.empty()) e.exchange = evidence::Exchange{r.request, r.response, r.token_scores};
  return e;
}

// With --reference: reads the reference file, checks its signer (--trust) and that the candidate's
// vocabulary is the one it was built on. The key is checked against it once read.
Status OpenReferenceFile(Env* env, const Args& args, const std::string& cand, reference::File* file,
                         verify::Result* result) {
  const std::string path = *args.Get("reference");
  if (args.Get("distance").value_or("tv") != "tv") {
    return Status::InvalidArgument("a reference file supports the tv distance only (docs/verify.md)");
  }
  // A signature says who made the file, not what it was made from: a file built from one model can name
  // another. So its signer must be pinned, or the user must opt out by name (recorded in the evidence).
  const bool any_signer = args.Has("accept-any-reference-signer");
  if (args.Has("trust") == any_signer) {
    return Status::InvalidArgument(any_signer ? "give --trust or --accept-any-reference-signer, not both"
                                              : "verify --reference needs --trust REFSIGNER.pub, the key trusted to sign "
                                                "reference files (or --accept-any-reference-signer to skip that check)");
  }
  POT_RETURN_IF_ERROR(reference::ReadFile(env, path, file));
  if (auto trust = args.Get("trust")) {
    std::string trusted;
    POT_RETURN_IF_ERROR(ReadPublicKey(env, *trust, &trusted));
    if (trusted != file->signer) {
      return Status::Corruption(path + " is signed by key " + KeyId(file->signer) + ", not the trusted key " + KeyId(trusted));
    }
  } else {
    std::fprintf(stderr,
                 "WARNING: %s is signed by key %s, which nobody pinned (--accept-any-reference-signer): the verdict "
                 "says only that the candidate matches what that key's owner put in the file, not that the file "
                 "comes from the model it names. This is recorded in the result and the bundle.\n",
                 path.c_str(), KeyId(file->signer).c_str());
  }
  gguf::ModelInfo info;
  POT_RETURN_IF_ERROR(gguf::GetModelInfo(env, cand, &info));
  POT_RETURN_IF_ERROR(verify::CheckVocabularies(file->header.vocab_sha256, info.vocab_sha256, result));
  if (args.Has("tokens")) {
    uint64_t tokens = 0;
    POT_RETURN_IF_ERROR(args.GetU64("tokens", 0, &tokens));
    if (tokens != static_cast<uint64_t>(file->header.continuation_tokens)) {
      return Status::InvalidArgument("--tokens differs from the reference file's " +
                                     std::to_string(file->header.continuation_tokens));
    }
  }
  return Status::OK();
}

Status CheckKeyOpensReference(const challenge::KeyFile& key, const reference::Header& h) {
  if (ToHex(key.commitment) != h.commitment || key.family.name != h.family || key.family.params != h.family_params ||
      key.n_max != h.n_max_committed) {
    return Status::InvalidArgument("the key is not the one the reference file was built with (its commitment is " +
                                   h.commitment.substr(0, 16) + "...)");
  }
  return Status::OK();
}

// *view is left pointing at the scorer (owned by *out) for what it noticed along the way.
// With --parallel, the scorer requests ahead through gen, up to the budget n_max.
Status OpenEndpointScorer(const endpoint::Options& options, const challenge::Generator* gen, uint64_t n_max,
                          std::unique_ptr<verify::ChallengeScorer>* out, endpoint::Scorer** view) {
  std::unique_ptr<http::Client> client;
  POT_RETURN_IF_ERROR(http::NewClient(options.http, &client));
  std::unique_ptr<endpoint::Scorer> scorer;
  POT_RETURN_IF_ERROR(endpoint::Scorer::Open(options, std::move(client), &scorer));
  scorer->Lookahead(gen, n_max);
  *view = scorer.get();
  *out = std::move(scorer);
  return Status::OK();
}

// What an endpoint run's evidence proves, said wherever its verdict is.
std::string EndpointEvidenceNote(const evidence::EndpointRef& e) {
  std::string note = "the transcript holds what pot sent and received and what it computed from it, not what the provider ran";
  if (e.score == "logprobs") note += "; the logprobs score rests on numbers the endpoint reported, which it could forge";
  if (e.score == "text") {
    note += "; the text score tests the distribution the endpoint samples from, so a truncating sampler (top-k, top-p, "
            "min-p) or another temperature is DIFFERENT too; it never says SAME: a copy as uncertain as the reference "
            "at every position (a quantized copy) is not told apart";
  }
  return note;
}

int RunVerify(const Args& args) {
  Env* env = Env::Default();
  verify::Options options;
  Status s = Options(args, &options);
  if (s.ok() && args.Get("output") && args.Get("output")->empty()) s = Status::InvalidArgument("-o needs a run directory");
  if (!s.ok()) return ReportError(s);
  // Refuse incomparable models before any key is made or directory written.
  verify::Result result;
  std::optional<reference::File> ref_file;
  std::optional<endpoint::Options> ep;
  std::optional<evidence::EndpointRef> ep_ref;
  if (args.Has("endpoint")) {
    // The endpoint speaks the reference's vocabulary or fails its first challenge (endpoint/tokens.h).
    gguf::ModelInfo info;
    s = gguf::GetModelInfo(env, options.reference.path, &info);
    result.ref_vocab_sha256 = info.vocab_sha256;
    ep.emplace();
    ep_ref.emplace();
    if (s.ok()) s = EndpointRunFromArgs(args, env, &*ep, &*ep_ref, &options.test);
    ep->reference = options.reference;
    options.continuation_tokens = ep->tokens;
  } else if (args.Has("reference")) {
    ref_file.emplace();
    s = OpenReferenceFile(env, args, options.candidate.path, &*ref_file, &result);
  } else {
    s = verify::CheckSameVocabulary(env, options.reference.path, options.candidate.path, &result);
  }
  if (!s.ok()) return ReportError(s);
  std::optional<SigningKey> signer;
  if (auto path = args.Get("sign")) {
    signer.emplace();
    s = ReadSigningKey(env, *path, &*signer);
    if (!s.ok()) return ReportError(s);
  }
  // Every input (key file, corpus) is checked before the run directory is created or locked.
  challenge::KeyFile key;
  s = ReadOrMakeKey(args, env, options.test.n_max, &key);
  if (s.ok() && ref_file) s = CheckKeyOpensReference(key, ref_file->header);
  std::unique_ptr<challenge::Generator> gen;
  auto make_generator = [&] { return challenge::NewGenerator(env, key.key, key.family, args.Get("corpus").value_or(""), &gen); };
  if (s.ok()) s = make_generator();
  if (!s.ok()) return ReportError(s);
  std::string run_dir;
  std::unique_ptr<FileLock> run_lock;
  bool fresh_key = false;
  s = OpenRunDir(args, env, "pot-verify", &run_dir, &run_lock);
  auto transcript_commitment = [](const std::string& first_line, std::string* commitment) {
    evidence::Transcript started;
    POT_RETURN_IF_ERROR(evidence::ParseTranscript({first_line}, &started));
    *commitment = started.header.commitment;
    return Status::OK();
  };
  if (s.ok()) s = ResolveKey(args, env, run_dir, "transcript.jsonl", transcript_commitment, &key, &fresh_key);
  if (s.ok() && !fresh_key && !args.Has("key")) s = make_generator();  // the adopted run.key
  if (!s.ok()) return ReportError(s);
  const std::string transcript_path = run_dir + "/transcript.jsonl";
  // The commitment covers challenges 0..n_max-1 only; a reference file, its first n.
  options.test.n_max = std::min(options.test.n_max, key.n_max);
  if (ref_file && ref_file->header.n < options.test.n_max) {
    std::fprintf(stderr, "the reference file holds %llu challenges: the budget is %llu, not %llu\n",
                 static_cast<unsigned long long>(ref_file->header.n), static_cast<unsigned long long>(ref_file->header.n),
                 static_cast<unsigned long long>(options.test.n_max));
    options.test.n_max = ref_file->header.n;
  }
  // The transcript header names both models by their weight manifests.
  evidence::Header header = MakeHeader(options, key, result.ref_vocab_sha256);
  if (ref_file) {
    header.reference = ref_file->header.model;
    header.reference_file = evidence::ReferenceFileRef{
        std::filesystem::path(*args.Get("reference")).filename().string(), ref_file->sha256, HexOf(ref_file->signer),
        args.Has("trust") ? evidence::kSignerPinned : evidence::kSignerUnpinned};
    header.continuation_tokens = options.continuation_tokens = ref_file->header.continuation_tokens;
    header.topk = ref_file->header.topk;
  } else {
    s = DescribeModel(env, options.reference.path, args.Has("quiet"), &header.reference);
  }
  header.endpoint = ep_ref;
  if (ref_file) header.ref_placement = ref_file->header.placement;  // where the file's numbers were computed
  if (ep) header.cand_placement.clear();
  if (s.ok() && !ep) s = DescribeModel(env, options.candidate.path, args.Has("quiet"), &header.candidate);
  const std::string backend_note = placement::MixedBackendNote(header.ref_placement, header.cand_placement);
  if (!backend_note.empty()) std::fprintf(stderr, "WARNING: %s\n", backend_note.c_str());
  // The transcript is the run's journal: a rerun with the same models, key and parameters resumes after
  // its last complete record; anything else is refused.
  std::vector<std::string> lines = {evidence::HeaderLine(header)};
  std::vector<std::string> done;
  std::unique_ptr<journal::Journal> transcript;
  // The fresh key is written last, just before the transcript that commits to it (mode 0600, never over a file).
  if (s.ok() && fresh_key) {
    s = challenge::WriteKeyFile(env, run_dir + "/run.key", key);
    if (s.ok()) std::fprintf(stderr, "commitment %s (key in %s/run.key)\n", ToHex(key.commitment).c_str(), run_dir.c_str());
  }
  if (s.ok()) {
    s = journal::Journal::Open(env, transcript_path, lines[0],
                               [](const std::string& line) { return json::parse(line, nullptr, false).is_object(); },
                               &done, &transcript);
  }
  lines.insert(lines.end(), done.begin(), done.end());
  evidence::Transcript previous;
  if (s.ok()) s = evidence::ParseTranscript(lines, &previous).WithContext(transcript_path);
  std::vector<verify::PriorScore> prior_scores;
  for (size_t i = 0; s.ok() && i < previous.records.size(); ++i) {
    const evidence::Record& r = previous.records[i];
    if (r.index != i) s = Status::Corruption(transcript_path + ": records out of order");
    prior_scores.push_back({r.score.score, r.exchange ? r.exchange->token_scores : std::vector<double>{}});
  }
  if (!s.ok()) return ReportError(s);
  if (!prior_scores.empty()) ReportResuming(prior_scores.size(), options.test.n_max, "challenges", transcript_path);
  // A finished run's outcome line is re-derived below, not appended twice.
  if (previous.finished) lines.pop_back();

  engine::Init(args.Has("verbose"));
  const bool live = !args.Has("quiet") && ::isatty(2);
  const auto& p = options.test;
  endpoint::Scorer* ep_scorer = nullptr;  // owned by verify::Run: read only while it runs (on_record)
  int prompt_mismatches = 0;
  std::string last_mismatch;
  auto on_record = [&](const verify::ChallengeRecord& r) -> Status {
    if (ep_scorer && ep_scorer->prompt_mismatches() > prompt_mismatches) {
      prompt_mismatches = ep_scorer->prompt_mismatches();
      last_mismatch = std::to_string(ep_scorer->last_endpoint_prompt_tokens()) + " prompt tokens where the reference's template gives " +
                      std::to_string(ep_scorer->last_reference_prompt_tokens());
    }
    lines.push_back(evidence::RecordLine(MakeRecord(r), options.distance));
    POT_RETURN_IF_ERROR(transcript->Append(lines.back()));
    if (Interrupted()) return InterruptedStatus();  // after the record: it is on disk whole, the rerun resumes after it
    if (live) {
      std::fprintf(stderr, "\r[%llu/%llu] score %.4f  bounds [%.4f, %.4f]  epsilon %.3g   ",
                   static_cast<unsigned long long>(r.challenge.index + 1), static_cast<unsigned long long>(p.n_max),
                   r.score.score, r.lower, r.upper, p.epsilon);
    }
    return Status::OK();
  };
  auto open_scorer = [&](std::unique_ptr<verify::ChallengeScorer>* scorer) {
    if (ep) return OpenEndpointScorer(*ep, gen.get(), options.test.n_max, scorer, &ep_scorer);
    if (ref_file) return reference::FileScorer::Open(&*ref_file, options.candidate, scorer);
    return verify::ModelPairScorer::Open(options, scorer);
  };
  // A signal stops the run between challenges (cli/interrupt.h).
  StopOnSignals();
  s = verify::Run(options.test, header.feed(), *gen, prior_scores, open_scorer, on_record, &result);
  if (!s.ok() && Interrupted()) {
    if (live) std::fprintf(stderr, "\n");
    return ReportInterrupted(lines.size() - 1, p.n_max, "challenges");
  }
  // A chat API wraps the challenge: a verdict of DIFFERENT may come from the wrapper as well as the weights.
  std::string wrapper_note;
  if (ep && ep->api == endpoint::Api::kOpenAIChat) {
    wrapper_note = "through a chat API the endpoint's template and any system prompt are part of what is compared: a "
                   "DIFFERENT may come from a wrapper (a hidden system prompt, another template), not only the weights";
  }
  if (prompt_mismatches > 0) {
    wrapper_note += "; on " + std::to_string(prompt_mismatches) + " challenges the endpoint read " + last_mismatch +
                    ": the prompt is wrapped in something pot did not send";
  }
  if (live) std::fprintf(stderr, "\n");
  evidence::Claim claim;
  claim.header = header;
  claim.outcome = {result.decision, result.n_used, result.mean, result.lower, result.upper};
  const std::string outcome_line = evidence::OutcomeLine(claim.outcome);
  if (s.ok() && previous.finished && outcome_line != evidence::OutcomeLine(previous.outcome)) {
    s = Status::Corruption(transcript_path + ": its outcome is not what its records give");
  }
  if (s.ok() && !previous.finished) s = transcript->Append(outcome_line);
  lines.push_back(outcome_line);
  if (s.ok()) s = transcript->Close();
  claim.key_hex = HexOf(key.key);
  claim.transcript_root = evidence::TranscriptRoot(lines);
  claim.transcript_size = lines.size();
  std::string bundle;
  if (s.ok() && signer) s = evidence::MakeBundle(*signer, claim, lines, &bundle);
  if (s.ok() && signer) s = WriteFileAtomically(env, run_dir + "/bundle.json", bundle);
  // The same signed Statement for Sigstore's verifiers (docs/formats.md, "Sigstore bundle").
  if (s.ok() && signer) s = evidence::MakeSigstoreBundle(*signer, claim, &bundle);
  if (s.ok() && signer) s = WriteFileAtomically(env, run_dir + "/bundle.sigstore.json", bundle);
  if (!s.ok()) return ReportError(s);

  const double rate =
      result.scoring_seconds > 0 ? static_cast<double>(result.tokens_scored) / result.scoring_seconds : 0;
  json j = {{"decision", stats::DecisionName(result.decision)},
            {"n_used", result.n_used},
            {"mean_score", result.mean},
            {"lower", result.lower},
            {"upper", result.upper},
            {"params",
             {{"mode", args.Get("mode").value_or("audit")}, {"alpha", p.alpha}, {"beta", p.beta},
              {"epsilon", p.epsilon}, {"n_max", p.n_max}, {"bet", stats::BetName(p.bet)},
              {"distance", verify::DistanceName(options.distance)},
              {"continuation_tokens", options.continuation_tokens},
              {"cand_ubatch", options.candidate.context.n_ubatch},
              {"cand_flash_attn", options.candidate.context.flash_attn}}},
            {"placement", json::parse(evidence::HeaderLine(header)).at("placement")},
            {"backends_note", backend_note},
            {"reference", ref_file ? *args.Get("reference") : options.reference.path},
            {"reference_file", ref_file ? json{{"path", *args.Get("reference")},
                                               {"sha256", ref_file->sha256},
                                               {"signer", KeyId(ref_file->signer)},
                                               {"signer_trust", header.reference_file->signer_trust}}
                                        : json(nullptr)},
            {"candidate", ep ? ep_ref->url : options.candidate.path},
            {"endpoint", ep ? json{{"url", ep_ref->url}, {"api", ep_ref->api}, {"model_requested", ep_ref->model_requested},
                                   {"model_served", ep_ref->model_served}, {"fingerprint", ep_ref->fingerprint},
                                   {"score", ep_ref->score}, {"tau", ep_ref->tau}, {"top_logprobs", ep_ref->top_logprobs},
                                   {"parallel", ep->parallel},
                                   {"feed", verify::FeedName(header.feed())}, {"tokens_scored", result.scores_used},
                                   {"honest_floor", endpoint::CalibrationOf(ep->score.kind).floor},
                                   {"calibrated_on", endpoint::CalibrationOf(ep->score.kind).calibrated_on},
                                   {"evidence", EndpointEvidenceNote(*ep_ref)}, {"wrapper", wrapper_note}}
                            : json(nullptr)},
            {"vocab_sha256", result.ref_vocab_sha256},
            {"commitment", ToHex(key.commitment)},
            {"family", key.family.name},
            {"seconds", result.seconds},
            {"scoring_seconds", result.scoring_seconds},
            {"positions_scored", result.tokens_scored},
            {"positions_per_second", rate},
            {"transcript_root", claim.transcript_root},
            {"reference_manifest_root", header.reference.manifest_root},
            {"candidate_manifest_root", header.candidate.manifest_root},
            {"bundle", signer ? run_dir + "/bundle.json" : ""},
            {"run_dir", run_dir}};
  s = WriteFileAtomically(env, run_dir + "/result.json", text::DumpJson(j, 2) + "\n");
  if (!s.ok()) return ReportError(s);
  if (args.Has("json")) {
    PrintJson(j);
  } else {
    std::printf("decision    %s\n", stats::DecisionName(result.decision));
    std::printf("challenges  %llu of at most %llu\n", static_cast<unsigned long long>(result.n_used),
                static_cast<unsigned long long>(p.n_max));
    if (ep) {
      std::printf("tokens      %llu generated tokens scored (%s score, fed to the test one by one)\n",
                  static_cast<unsigned long long>(result.scores_used), ep_ref->score.c_str());
      std::printf("mean score  %.6f (%s)\n", result.mean, ep_ref->score.c_str());
      if (ep->score.kind == endpoint::ScoreKind::kText) {
        // Z = 1/2 + (surprisal - expected) / 2C: the same bounds read as nats of surprisal per token.
        auto nats = [](double z) { return (2 * z - 1) * endpoint::kTextClipNats; };
        std::printf("surprisal   %+.4f nats per token above the reference's own expectation, in [%+.4f, %+.4f]\n",
                    nats(result.mean), nats(result.lower), nats(result.upper));
      }
    } else {
      std::printf("mean score  %.6f (%s)\n", result.mean, verify::DistanceName(options.distance));
    }
    std::printf("bounds      [%.6f, %.6f]  lower at alpha %g, upper at beta %g; epsilon %g\n", result.lower,
                result.upper, p.alpha, p.beta, p.epsilon);
    std::printf("time        %.1f s, %.0f positions/s scored (%s)\n", result.seconds, rate,
                ep ? "endpoint generation and reference scoring" : ref_file ? "by the candidate, against the reference file" : "each by both models");
    if (ep) std::printf("evidence    %s\n", EndpointEvidenceNote(*ep_ref).c_str());
    if (!wrapper_note.empty()) std::printf("wrapper     %s\n", wrapper_note.c_str());
    if (!backend_note.empty()) std::printf("backends    %s\n", backend_note.c_str());
    if (ep && result.decision == stats::Decision::kSame) {
      // SAME bounds the scored tokens' average (docs/statistics.md, "What SAME says"): an endpoint that
      // switches models on some requests escapes every one of the n challenges with probability (1 - r)^n.
      const double n = static_cast<double>(result.n_used);
      std::printf("coverage    SAME covers the %llu challenges scored: an endpoint serving another model on 5%% "
                  "(20%%) of requests would have escaped all of them with probability %.2f (%.2f)\n",
                  static_cast<unsigned long long>(result.n_used), std::pow(0.95, n), std::pow(0.8, n));
    }
    if (ref_file) {
      std::printf("reference   %s signed by %s (%s)\n", args.Get("reference")->c_str(), KeyId(ref_file->signer).c_str(),
                  args.Has("trust") ? "pinned by --trust" : "NOT pinned: --accept-any-reference-signer");
    }
    std::printf("transcript  %s (root %s)\n", transcript_path.c_str(), claim.transcript_root.c_str());
    if (signer) {
      std::printf("bundle      %s/bundle.json (signed by %s), %s/bundle.sigstore.json\n", run_dir.c_str(),
                  KeyId(signer->public_raw).c_str(), run_dir.c_str());
    }
  }
  switch (result.decision) {
    case stats::Decision::kSame: return kExitOk;
    case stats::Decision::kDifferent: return kExitNegative;
    case stats::Decision::kUndecided: break;
  }
  return kExitUndecided;
}

}  // namespace

CommandSpec VerifyCommand() {
  return {"verify",
          "is the candidate the reference model? challenge both, score, and test sequentially until SAME/DIFFERENT",
          "--ref A.gguf --cand B.gguf [--mode quick|audit|strict] [--key KEYFILE] [--sign SIGNKEY] [-o RUNDIR] [--json]\n"
          "       pot verify --reference REF.potref --key KEYFILE --cand B.gguf --trust REFSIGNER.pub [...]\n"
          "       pot verify --ref A.gguf --endpoint URL [--score greedy|logprobs] [--model NAME] [--api-key-env NAME] [...]",
          WithPlacementOptions(WithEndpointOptions({{"ref", true, "the reference model (GGUF)", 0, "A.gguf"},
           {"reference", true, "a reference file (pot reference build) instead of --ref: only the candidate is loaded", 0, "REF.potref"},
           {"trust", true, "with --reference: the public key (REFSIGNER.pub) its signer must have (required)", 0, "REFSIGNER.pub"},
           {"accept-any-reference-signer", false,
            "with --reference: accept a file from any signer instead of --trust (insecure; recorded in the evidence)"},
           {"cand", true, "the candidate model (GGUF)", 0, "B.gguf"},
           {"endpoint", true, "instead of --cand: the base URL of an HTTP endpoint claimed to serve the --ref model", 0, "URL"},
           {"score", true, "with --endpoint: replay, greedy, logprobs or text (default: the strongest the endpoint supports)", 0, "SCORE"},
           {"parallel", true, "with --endpoint: requests kept in flight (default 1); the test still reads them in order", 0, "N"},
           {"tau", true, "with --endpoint: the margin that counts as a tie: greedy, nats below the argmax (default 0.05); replay, probability (default 0.001)", 0, "T"},
           {"top-logprobs", true, "with --endpoint, logprobs: how many top log-probabilities to ask for (default 8)", 0, "K"},
           {"mode", true, "preset of alpha, beta, epsilon, n_max (" + PresetsHelp() + ")", 0, "MODE", "audit"},
           {"key", true, "challenge key file from 'pot challenge commit' (default: a fresh key for this run)", 0, "KEYFILE"},
           {"family", true, "with a fresh key: challenge family (default templates)", 0, "F"},
           {"corpus", true, "corpus file for the corpus family", 0, "FILE"},
           {"output", true, "run directory for the key, transcript, result and bundle (default pot-verify-TIME-RANDOM)", 'o', "RUNDIR"},
           {"sign", true, "sign an evidence bundle with this Ed25519 key (pot keygen) into RUNDIR/bundle.json", 0, "SIGNKEY"},
           {"alpha", true, "override the preset's alpha (false DIFFERENT rate)", 0, "A"},
           {"beta", true, "override the preset's beta (false SAME rate)", 0, "B"},
           {"epsilon", true, "override the preset's tolerance on the mean score", 0, "E"},
           {"n-max", true, "override the preset's challenge budget", 0, "N"},
           {"tokens", true, "continuation tokens the reference generates per challenge (default 0: the challenge text only)", 0, "K"},
           {"distance", true, "tv (total variation, default) or js (normalized Jensen-Shannon)", 0, "D"},
           {"threads", true, "CPU threads per model (default: the free CPUs, probed at start)", 0, "N"},
           {"cand-ubatch", true, "candidate micro-batch size (numerics only; default 512)", 0, "N"},
           {"cand-flash-attn", false, "candidate uses flash attention (numerics only)"},
           {"cand-gpu-layers", true, "the candidate's layers on this build's accelerator, overriding --gpu-layers for it", 0, "N"},
           {"json", false, "print one JSON object"},
           {"quiet", false, "no live progress line"},
           {"verbose", false, "show llama.cpp's log"}})),
          RunVerify, 0};
}

}  // namespace pot::cli
