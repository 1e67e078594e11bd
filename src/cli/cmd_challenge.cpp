#include <cstdio>
#include <nlohmann/json.hpp>

#include "challenge/challenge.h"
#include "cli/cli.h"
#include "cli/output.h"
#include "crypto/hmac.h"
#include "text/text.h"

namespace pot::cli {
namespace {

using json = nlohmann::ordered_json;

// The key and family a command works on: from a key file (which also fixes n_max), or from --key-hex
// with --family and its parameters.
struct Selection {
  std::string key;
  challenge::Family family;
  uint64_t n_max = 0;  // 0: not bound by a key file
  std::string corpus;
};

Status Select(const Args& args, Selection* sel) {
  Env* env = Env::Default();
  sel->corpus = args.Get("corpus").value_or("");
  if (auto path = args.Get("key")) {
    if (args.Has("key-hex")) return Status::InvalidArgument("give --key or --key-hex, not both");
    challenge::KeyFile k;
    POT_RETURN_IF_ERROR(challenge::ReadKeyFile(env, *path, &k));
    if (auto f = args.Get("family"); f && *f != k.family.name) {
      return Status::InvalidArgument(*path + " was committed for family '" + k.family.name + "', not '" + *f + "'");
    }
    if (auto r = args.Get("run-id"); r && k.family.name == "legacy" && *r != k.family.params) {
      return Status::InvalidArgument(*path + " was committed for run id '" + k.family.params + "'");
    }
    sel->key = k.key;
    sel->family = k.family;
    sel->n_max = k.n_max;
    return Status::OK();
  }
  if (!args.Has("key-hex")) return Status::InvalidArgument("give the key: --key KEYFILE or --key-hex HEX");
  POT_RETURN_IF_ERROR(args.GetHex("key-hex", challenge::kKeyBytes, &sel->key));
  auto family = args.Get("family");
  if (!family) return Status::InvalidArgument("--family is required with --key-hex");
  return challenge::ResolveFamily(env, *family, sel->corpus, args.Get("run-id").value_or(""), &sel->family);
}

int Commit(const Args& args) {
  auto family_name = args.Get("family");
  auto out = args.Get("output");
  if (!family_name || !out || !args.Has("n")) {
    return ReportError(Status::InvalidArgument("commit needs --family F -n N_MAX -o KEYFILE"));
  }
  Env* env = Env::Default();
  challenge::KeyFile k;
  Status s = args.GetU64("n", 0, &k.n_max);
  if (s.ok() && k.n_max == 0) s = Status::InvalidArgument("-n must be at least 1");
  if (s.ok()) s = CheckOutputPath(env, *out, InputsOf(args, {"corpus"}), args.Has("force"));
  if (s.ok()) s = challenge::ResolveFamily(env, *family_name, args.Get("corpus").value_or(""),
                                           args.Get("run-id").value_or(""), &k.family);
  if (s.ok()) s = RandomBytes(challenge::kKeyBytes, &k.key);
  if (!s.ok()) return ReportError(s);
  k.commitment = challenge::Commit(k.key, k.family, k.n_max);
  s = challenge::WriteKeyFile(env, *out, k, args.Has("force"));
  if (!s.ok()) return ReportError(s);
  if (args.Has("json")) {
    json j = {{"commitment", ToHex(k.commitment)}, {"family", k.family.name}, {"params", k.family.params},
              {"n_max", k.n_max}, {"key_file", *out}};
    PrintJson(j);
  } else {
    std::printf("commitment %s\n", ToHex(k.commitment).c_str());
    std::fprintf(stderr, "secret key written to %s (mode 0600); publish the commitment, keep the key until reveal\n",
                 out->c_str());
  }
  return kExitOk;
}

int Reveal(const Args& args) {
  if (args.positionals().size() != 2) return ReportError(Status::InvalidArgument("reveal needs KEYFILE"));
  challenge::KeyFile k;
  Status s = challenge::ReadKeyFile(Env::Default(), args.positionals()[1], &k);
  if (!s.ok()) return ReportError(s);
  json j = {{"key_hex", HexOf(k.key)}, {"family", k.family.name}, {"params", k.family.params}, {"n_max", k.n_max},
            {"commitment", ToHex(k.commitment)}};
  PrintJson(j);
  return kExitOk;
}

int Verify(const Args& args) {
  if (!args.Has("commitment")) return ReportError(Status::InvalidArgument("verify needs --commitment HEX"));
  // Hex is compared as the bytes it spells: an uppercase copy of the right commitment matches.
  std::string claimed;
  Status s = args.GetHex("commitment", Digest{}.size(), &claimed);
  Selection sel;
  if (s.ok()) s = Select(args, &sel);
  uint64_t n = sel.n_max;
  if (s.ok() && sel.n_max == 0) {
    if (!args.Has("n")) s = Status::InvalidArgument("verify with --key-hex needs -n N_MAX");
    else s = args.GetU64("n", 0, &n);
    if (s.ok() && n == 0) s = Status::InvalidArgument("-n must be at least 1");
  }
  if (!s.ok()) return ReportError(s);
  const Digest actual = challenge::Commit(sel.key, sel.family, n);
  const bool match = HexOf(claimed) == ToHex(actual);
  const std::string checked = args.Get("key").value_or("commitment");
  if (args.Has("json")) {
    json j = {{"file", checked}, {"match", match}, {"commitment", ToHex(actual)}, {"family", sel.family.name},
              {"params", sel.family.params}, {"n_max", n}};
    PrintJson(j);
  } else if (!args.Has("status")) {
    std::printf("%s: %s%s\n", text::EscapeForTerminal(checked).c_str(), CheckWord(match),
                match ? "" : (" (the key commits to " + ToHex(actual) + ")").c_str());
  }
  return match ? kExitOk : kExitNegative;
}

int List(const Args& args) {
  Selection sel;
  Status s = Select(args, &sel);
  uint64_t n = 0;
  if (s.ok()) s = args.GetU64("n", sel.n_max, &n);
  if (s.ok() && n == 0) s = Status::InvalidArgument("list needs -n N");
  if (s.ok() && sel.n_max != 0 && n > sel.n_max) {
    s = Status::InvalidArgument("-n " + std::to_string(n) + " exceeds the committed n_max " + std::to_string(sel.n_max));
  }
  std::unique_ptr<challenge::Generator> gen;
  if (s.ok()) s = challenge::NewGenerator(Env::Default(), sel.key, sel.family, sel.corpus, &gen);
  if (!s.ok()) return ReportError(s);
  json items = json::array();
  for (uint64_t i = 0; i < n; ++i) {
    challenge::Challenge c;
    s = gen->Generate(i, &c);
    if (!s.ok()) return ReportError(s);
    if (args.Has("json")) {
      items.push_back({{"index", c.index}, {"prompt", c.prompt}, {"tag", ToHex(c.tag)}});
    } else {
      std::printf("%llu\t%s\t%s\n", static_cast<unsigned long long>(c.index), ToHex(c.tag).substr(0, 16).c_str(),
                  text::EscapeForTerminal(c.prompt).c_str());
    }
  }
  if (args.Has("json")) {
    json j = {{"family", sel.family.name}, {"params", sel.family.params}, {"n", n}, {"challenges", items}};
    if (sel.family.name == "legacy") {
      j["legacy_commitment"] = challenge::LegacyCommitment(HexOf(sel.key), sel.family.params, n);
    }
    PrintJson(j);
  }
  return kExitOk;
}

int RunChallenge(const Args& args) {
  const auto& pos = args.positionals();
  const std::string action = pos.empty() ? "" : pos[0];
  if (action == "commit" && pos.size() == 1) return Commit(args);
  if (action == "reveal") return Reveal(args);
  if (action == "verify" && pos.size() == 1) return Verify(args);
  if (action == "list" && pos.size() == 1) return List(args);
  return ReportError(Status::InvalidArgument("challenge needs one of: commit, reveal, verify, list"));
}

}  // namespace

CommandSpec ChallengeCommand() {
  return {"challenge",
          "commit to secret-key challenges, reveal the key, check a commitment, list the challenges",
          "commit --family F -n N_MAX -o KEYFILE [--corpus FILE | --run-id ID] [--force]\n"
          "       pot challenge reveal KEYFILE\n"
          "       pot challenge verify --commitment HEX (--key KEYFILE | --key-hex HEX --family F -n N_MAX) [--status]\n"
          "       pot challenge list (--key KEYFILE | --key-hex HEX --family F) [-n N] [--json]",
          {{"family", true, "templates | corpus | legacy", 0, "F"},
           {"n", true, "number of challenges (commit: the most a run may use)", 'n', "N"},
           {"output", true, "key file to create (commit)", 'o', "KEYFILE"},
           ForceOption(),
           {"key", true, "key file made by commit", 0, "KEYFILE"},
           {"key-hex", true, "the revealed key as 64 hex digits (either case)", 0, "HEX"},
           {"corpus", true, "prompt file for the corpus family (one per line, or .jsonl with \"prompt\")", 0, "FILE"},
           {"run-id", true, "run id for the legacy family", 0, "ID"},
           {"commitment", true, "published commitment to check (verify; 64 hex digits, either case)", 0, "HEX"},
           {"status", false, "verify: print nothing, the exit code says it"},
           {"json", false, "print one JSON object"}},
          RunChallenge, 2};
}

}  // namespace pot::cli
