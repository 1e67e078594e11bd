#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "gguf/model_info.h"
#include "text/text.h"

namespace pot::cli {
namespace {

int RunInfo(const Args& args) {
  if (args.positionals().size() != 1) return ReportError(Status::InvalidArgument("info needs exactly one MODEL.gguf"));
  gguf::ModelInfo info;
  Status s = gguf::GetModelInfo(Env::Default(), args.positionals()[0], &info);
  if (!s.ok()) return ReportError(s);
  if (args.Has("json")) {
    nlohmann::ordered_json j = {
        {"path", info.path}, {"file_size", info.file_size}, {"gguf_version", info.gguf_version},
        {"architecture", info.architecture}, {"name", info.name}, {"n_params", info.n_params},
        {"n_tensors", info.n_tensors}, {"tensors_by_type", info.tensors_by_type},
        {"tokenizer_model", info.tokenizer_model}, {"n_vocab", info.n_vocab}, {"vocab_sha256", info.vocab_sha256}};
    PrintJson(j);
    return kExitOk;
  }
  // The path and the model's own strings are the file's bytes: shown escaped (docs/cli.md).
  const auto shown = [](const std::string& s) { return text::EscapeForTerminal(s); };
  std::printf("file          %s (%llu bytes, GGUF v%u)\n", shown(info.path).c_str(),
              static_cast<unsigned long long>(info.file_size), info.gguf_version);
  std::printf("architecture  %s\n", shown(info.architecture).c_str());
  if (!info.name.empty()) std::printf("name          %s\n", shown(info.name).c_str());
  std::printf("parameters    %llu\n", static_cast<unsigned long long>(info.n_params));
  std::printf("tensors       %llu:", static_cast<unsigned long long>(info.n_tensors));
  for (const auto& [type, n] : info.tensors_by_type) std::printf(" %s=%llu", type.c_str(), static_cast<unsigned long long>(n));
  std::printf("\n");
  std::printf("tokenizer     %s, %llu tokens\n", info.tokenizer_model.empty() ? "(none)" : shown(info.tokenizer_model).c_str(),
              static_cast<unsigned long long>(info.n_vocab));
  std::printf("vocab sha256  %s\n", info.vocab_sha256.empty() ? "(no vocabulary)" : info.vocab_sha256.c_str());
  return kExitOk;
}

}  // namespace

CommandSpec InfoCommand() {
  return {"info", "describe a GGUF model: architecture, parameters, tensor types, tokenizer", "MODEL.gguf [--json]",
          {{"json", false, "print one JSON object"}}, RunInfo, 1};
}

}  // namespace pot::cli
