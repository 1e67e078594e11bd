#include "cli/run_dir.h"

#include <ctime>

#include "crypto/hmac.h"
#include "crypto/sha256.h"

namespace pot::cli {

Status ReadOrMakeKey(const Args& args, Env* env, uint64_t n_max, challenge::KeyFile* key) {
  if (auto path = args.Get("key")) return challenge::ReadKeyFile(env, *path, key);
  POT_RETURN_IF_ERROR(challenge::ResolveFamily(env, args.Get("family").value_or("templates"),
                                               args.Get("corpus").value_or(""), "", &key->family));
  POT_RETURN_IF_ERROR(RandomBytes(challenge::kKeyBytes, &key->key));
  key->n_max = n_max;
  key->commitment = challenge::Commit(key->key, key->family, key->n_max);
  return Status::OK();
}

namespace {

// PREFIX-TIME-RANDOM, created exclusively: two runs started in the same second never share it.
Status CreateDefaultRunDir(Env* env, const std::string& prefix, std::string* run_dir) {
  char stamp[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::gmtime(&now));
  std::string suffix;
  POT_RETURN_IF_ERROR(RandomBytes(4, &suffix));
  *run_dir = prefix + "-" + stamp + "-" + HexOf(suffix);
  return env->CreateDir(*run_dir);
}

}  // namespace

Status OpenRunDir(const Args& args, Env* env, const std::string& prefix, std::string* run_dir,
                  std::unique_ptr<FileLock>* lock) {
  if (auto o = args.Get("output")) {
    *run_dir = *o;
    POT_RETURN_IF_ERROR(env->CreateDirs(*run_dir));
  } else {
    POT_RETURN_IF_ERROR(CreateDefaultRunDir(env, prefix, run_dir));
  }
  return env->LockFile(*run_dir + "/run.lock", lock).WithContext(*run_dir);
}

Status ResolveKey(const Args& args, Env* env, const std::string& run_dir, const std::string& journal,
                  const CommitmentOf& commitment_of, challenge::KeyFile* key, bool* fresh) {
  *fresh = false;
  if (args.Has("key")) return Status::OK();
  const std::string key_path = run_dir + "/run.key", journal_path = run_dir + "/" + journal;
  const bool has_key = env->FileExists(key_path), has_journal = env->FileExists(journal_path);
  if (!has_key && !has_journal) {
    *fresh = true;
    return Status::OK();
  }
  if (!has_key) {
    return Status::InvalidArgument(journal_path + " was made with a key that is not in " + run_dir +
                                   ": pass that --key, or use another -o");
  }
  if (!has_journal) {
    return Status::InvalidArgument(key_path + " was not made by a pot run in " + run_dir + " (no " + journal +
                                   " commits to it): pass --key, or remove it");
  }
  challenge::KeyFile stored;
  std::string text, commitment;
  POT_RETURN_IF_ERROR(challenge::ReadKeyFile(env, key_path, &stored));
  POT_RETURN_IF_ERROR(ReadFileToString(env, journal_path, &text));
  POT_RETURN_IF_ERROR(commitment_of(text.substr(0, text.find('\n')), &commitment).WithContext(journal_path));
  if (commitment != ToHex(stored.commitment)) {
    return Status::InvalidArgument(key_path + " is not the key " + journal_path +
                                   " commits to: pass the run's --key, or use another -o");
  }
  *key = std::move(stored);
  return Status::OK();
}

}  // namespace pot::cli
