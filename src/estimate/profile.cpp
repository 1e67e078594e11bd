// Hardware profiles: the built-in table, with a source for every figure, and the profile JSON format.
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "estimate/estimate.h"
#include "util/json.h"

namespace pot::estimate {
namespace {

using json = nlohmann::ordered_json;

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

// The published llama-bench table all built-in calibration rows come from. Its LLaMA 3 tables report
// llama-bench -p 512 -n 512 (columns "pp 512" and "tg 512"; the page has no tg128 column).
constexpr const char* kBenchTable =
    "https://github.com/XiongjieDai/GPU-Benchmarks-on-LLM-Inference README, section Benchmarks > LLaMA 3";
// Llama 3 70B: 70.6e9 parameters (Meta's model card: 70B); its Q4_K_M GGUF is 39.59 GB (the same
// README, "Total VRAM Requirements", 70B Q4_K_M).
constexpr double kLlama3_70bParams = 70.55e9;
constexpr double kLlama3_70bQ4KmBytes = 39.59e9;
constexpr const char* kLlama3Model = "Llama 3 70B Q4_K_M (70.55e9 parameters, 39.59 GB: the same README's VRAM table)";
// Its embeddings: 128,256 x 8,192 input and output (Meta's config.json: vocab_size, hidden_size; untied);
// the input embedding is Q4_K in a Q4_K_M file, 144 bytes per 256 elements.
constexpr double kLlama3_70bOutput = 128256.0 * 8192;
constexpr double kLlama3_70bInputBytes = kLlama3_70bOutput * 144 / 256;

Calibration Llama3_70bRow(double pp, double tg, const std::string& source) {
  return {kLlama3Model, kLlama3_70bParams, kLlama3_70bQ4KmBytes, kLlama3_70bOutput, kLlama3_70bOutput,
          kLlama3_70bInputBytes, pp, 512, tg, source};
}

constexpr const char* kAssumed = "assumption, not a published figure: ";

// The host side of a rented datacenter GPU, which the benchmark pages do not describe: file reads, hashing,
// pot's one-core loops and process start, all assumed.
void AssumeDatacenterHost(const std::string& host, Profile* p) {
  p->read_bytes_per_s = {2e9, std::string(kAssumed) + "2 GB/s from " + host};
  p->sha256_bytes_per_s = {24e9, std::string(kAssumed) + "16 host cores x 1.5 GB/s with SHA-NI"};
  p->dequant_elements_per_s = {1e9, std::string(kAssumed) + "one host core dequantizes and compares 1e9 elements/s"};
  p->vocab_entries_per_s = {5e8, std::string(kAssumed) + "one host core scores 5e8 vocabulary entries/s (log-softmax of two rows and a distance)"};
  p->startup_s = {2, std::string(kAssumed) + "2 s to start a process and a CUDA context"};
  p->process_start_s = {0.05, std::string(kAssumed) + "50 ms to start pot and read a GGUF header"};
}

std::vector<Profile> MakeBuiltins() {
  std::vector<Profile> out;
  {
    Profile p;
    p.name = "m1-max-64gb";
    p.description = "Apple M1 Max (32-core GPU), 64 GB unified memory, llama.cpp on Metal";
    const std::string apple =
        "Apple newsroom 2021-10-18, 'Introducing M1 Pro and M1 Max' (https://www.apple.com/newsroom/2021/10/"
        "introducing-m1-pro-and-m1-max-the-most-powerful-chips-apple-has-ever-built/)";
    p.peak_flops = {10.4e12, apple + ": M1 Max GPU up to 10.4 TFLOPS (FP32)"};
    p.memory_bandwidth = {400e9, apple + ": 400 GB/s memory bandwidth"};
    p.memory_bytes = {0.78 * 64 * kGiB,
                      "78% of 64 GiB: what Metal lets the GPU use (recommendedMaxWorkingSetSize), per the note in "
                      "https://github.com/XiongjieDai/GPU-Benchmarks-on-LLM-Inference README, Usage (citing Apple's "
                      "tech talk 10580)"};
    p.read_bytes_per_s = {5.797e9,
                          "Blackmagic read 5,797 MB/s of a 14-inch M1 Pro MacBook Pro, 1 TB (Macworld, as quoted in "
                          "https://macrumors.com/2023/01/24/new-macbook-pro-ssd-speeds); the M1 Max's SSD assumed alike"};
    p.sha256_bytes_per_s = {16e9, std::string(kAssumed) + "8 performance cores x 2 GB/s with the ARMv8 SHA-2 instructions"};
    p.dequant_elements_per_s = {1e9, std::string(kAssumed) + "one core dequantizes and compares 1e9 elements/s"};
    p.vocab_entries_per_s = {5e8, std::string(kAssumed) + "one core scores 5e8 vocabulary entries/s (log-softmax of two rows and a distance)"};
    p.startup_s = {2, std::string(kAssumed) + "2 s to start a process and a Metal context"};
    p.process_start_s = {0.05, std::string(kAssumed) + "50 ms to start pot and read a GGUF header"};
    p.calibration = Llama3_70bRow(34.96, 4.34,
                     std::string(kBenchTable) + ", table 'Apple Silicon', row 'M1 Max 32-Core GPU 64GB', 70B Q4_K_M: "
                                                "pp 512 = 34.96, tg 512 = 4.34 tokens/s (snapshot May 2024)");
    out.push_back(p);
  }
  const std::string nvidia_host = "the host's NVMe (RunPod machines: not published)";
  {
    Profile p;
    p.name = "a100-80gb";
    p.description = "NVIDIA A100 PCIe 80GB, llama.cpp on CUDA, all layers on the GPU";
    const std::string sheet =
        "NVIDIA A100 Tensor Core GPU datasheet (https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a100/"
        "pdf/nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf)";
    p.peak_flops = {312e12, sheet + ": FP16 Tensor Core 312 TFLOPS (dense)"};
    p.memory_bandwidth = {1935e9, sheet + ": A100 80GB PCIe, 1,935 GB/s"};
    p.memory_bytes = {80 * kGiB, sheet + ": 80GB HBM2e"};
    AssumeDatacenterHost(nvidia_host, &p);
    p.calibration = Llama3_70bRow(744.12, 22.31,
                     std::string(kBenchTable) + ", table 'NVIDIA Professional GPUs', row 'A100 PCIe 80GB', 70B Q4_K_M: "
                                                "pp 512 = 744.12, tg 512 = 22.31 tokens/s (snapshot May 2024)");
    out.push_back(p);
  }
  {
    Profile p;
    p.name = "h100-80gb";
    p.description = "NVIDIA H100 PCIe 80GB, llama.cpp on CUDA, all layers on the GPU";
    const std::string sheet =
        "NVIDIA H100 Tensor Core GPU datasheet (https://resources.nvidia.com/en-us-tensor-core/nvidia-tensor-core-gpu-datasheet)";
    p.peak_flops = {756e12, sheet + ": H100 PCIe FP16 Tensor Core 1,513 TFLOPS with sparsity, 756 dense"};
    p.memory_bandwidth = {2.0e12, sheet + ": H100 PCIe, 2 TB/s"};
    p.memory_bytes = {80 * kGiB, sheet + ": H100 PCIe, 80GB HBM2e"};
    AssumeDatacenterHost(nvidia_host, &p);
    p.calibration = Llama3_70bRow(1012.73, 25.03,
                     std::string(kBenchTable) + ", table 'NVIDIA Professional GPUs', row 'H100 PCIe 80GB', 70B Q4_K_M: "
                                                "pp 512 = 1012.73, tg 512 = 25.03 tokens/s (snapshot May 2024)");
    out.push_back(p);
  }
  return out;
}

// Limits on what a profile file may say: a figure outside them is a typo or an attack, not hardware.
constexpr double kMaxFigure = 1e30;
constexpr size_t kMaxText = 2000;

// The member key of object, or an error naming field.
const json& Need(const json& object, const char* key, const std::string& field) {
  if (!object.is_object() || !object.contains(key)) throw std::out_of_range("missing field " + field);
  return object.at(key);
}

std::string CheckedText(const json& object, const char* key, const std::string& field) {
  const json& v = Need(object, key, field);
  if (!v.is_string()) throw std::out_of_range(field + ": not a string");
  std::string s = v.get<std::string>();
  if (s.empty() || s.size() > kMaxText) throw std::out_of_range(field + ": empty or longer than 2000 bytes");
  return s;
}

double CheckedNumber(const json& v, const std::string& field, bool zero_ok) {
  if (!v.is_number()) throw std::out_of_range(field + ": not a number");
  const double d = v.get<double>();
  if (!std::isfinite(d) || d < 0 || (d == 0 && !zero_ok) || d > kMaxFigure) {
    throw std::out_of_range(field + ": not a finite number in " + (zero_ok ? "[0" : "(0") + ", 1e30]");
  }
  return d;
}

Figure CheckedFigure(const json& object, const char* key, bool zero_ok = false) {
  const json& f = Need(object, key, key);
  if (!f.is_object()) throw std::out_of_range(std::string(key) + ": not an object {value, source}");
  return {CheckedNumber(Need(f, "value", std::string(key) + ".value"), std::string(key) + ".value", zero_ok),
          CheckedText(f, "source", std::string(key) + ".source")};
}

json FigureJson(const Figure& f) { return {{"value", f.value}, {"source", f.source}}; }

}  // namespace

const std::vector<Profile>& BuiltinProfiles() {
  static const std::vector<Profile> profiles = MakeBuiltins();
  return profiles;
}

std::string ThisMachineProfilePath() {
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr && *home != 0 ? home : ".") + "/.cache/pot/this-machine.profile.json";
}

Status LoadProfile(Env* env, const std::string& name, Profile* out) {
  for (const Profile& p : BuiltinProfiles()) {
    if (p.name == name) {
      *out = p;
      return Status::OK();
    }
  }
  std::string path = name;
  if (name == "this-machine") {
    path = ThisMachineProfilePath();
    if (!env->FileExists(path)) {
      return Status::NotFound("profile this-machine: " + path + " does not exist; run bench/calibrate.sh to measure it");
    }
  } else if (name.find('/') == std::string::npos && name.find('.') == std::string::npos) {
    std::string names = "this-machine";
    for (const Profile& p : BuiltinProfiles()) names += ", " + p.name;
    return Status::InvalidArgument("unknown profile '" + name + "' (built in: " + names + "; or a profile JSON file)");
  }
  std::string text;
  POT_RETURN_IF_ERROR(ReadFileToString(env, path, &text));
  return ParseProfile(text, path, out);
}

Status ParseProfile(const std::string& text, const std::string& what, Profile* out) {
  const json j = ParseJson<json>(text);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("profile " + what + ": not a JSON object");
  if (!HasValue(j, "schema", kProfileSchema)) {
    return Status::Corruption("profile " + what + ": schema is not \"" + std::string(kProfileSchema) + "\"");
  }
  try {
    Profile p;
    p.name = CheckedText(j, "name", "name");
    p.description = CheckedText(j, "description", "description");
    p.peak_flops = CheckedFigure(j, "peak_flops");
    p.memory_bandwidth = CheckedFigure(j, "memory_bandwidth");
    p.memory_bytes = CheckedFigure(j, "memory_bytes");
    p.read_bytes_per_s = CheckedFigure(j, "read_bytes_per_s");
    p.sha256_bytes_per_s = CheckedFigure(j, "sha256_bytes_per_s");
    p.dequant_elements_per_s = CheckedFigure(j, "dequant_elements_per_s");
    p.vocab_entries_per_s = CheckedFigure(j, "vocab_entries_per_s");
    p.startup_s = CheckedFigure(j, "startup_s", /*zero_ok=*/true);
    p.process_start_s = CheckedFigure(j, "process_start_s", /*zero_ok=*/true);
    const json& c = Need(j, "calibration", "calibration");
    if (!c.is_object()) throw std::out_of_range("calibration: not an object");
    p.calibration.model = CheckedText(c, "model", "calibration.model");
    p.calibration.params = CheckedNumber(Need(c, "params", "calibration.params"), "calibration.params", false);
    p.calibration.bytes = CheckedNumber(Need(c, "bytes", "calibration.bytes"), "calibration.bytes", false);
    p.calibration.output_params = CheckedNumber(Need(c, "output_params", "calibration.output_params"), "calibration.output_params", true);
    p.calibration.input_embd_params = CheckedNumber(Need(c, "input_embd_params", "calibration.input_embd_params"), "calibration.input_embd_params", true);
    p.calibration.input_embd_bytes = CheckedNumber(Need(c, "input_embd_bytes", "calibration.input_embd_bytes"), "calibration.input_embd_bytes", true);
    if (p.calibration.input_embd_params + p.calibration.output_params >= p.calibration.params ||
        p.calibration.input_embd_bytes >= p.calibration.bytes) {
      throw std::out_of_range("calibration: the embeddings are not smaller than the model");
    }
    p.calibration.pp_tokens_per_s = CheckedNumber(Need(c, "pp_tokens_per_s", "calibration.pp_tokens_per_s"), "calibration.pp_tokens_per_s", false);
    p.calibration.pp_batch = CheckedNumber(Need(c, "pp_batch", "calibration.pp_batch"), "calibration.pp_batch", false);
    p.calibration.tg_tokens_per_s = CheckedNumber(Need(c, "tg_tokens_per_s", "calibration.tg_tokens_per_s"), "calibration.tg_tokens_per_s", false);
    p.calibration.source = CheckedText(c, "source", "calibration.source");
    *out = std::move(p);
    return Status::OK();
  } catch (const std::out_of_range& e) {
    return Status::Corruption("profile " + what + ": " + e.what());
  }
}

json ProfileJson(const Profile& p) {
  return {{"schema", kProfileSchema},
          {"name", p.name},
          {"description", p.description},
          {"peak_flops", FigureJson(p.peak_flops)},
          {"memory_bandwidth", FigureJson(p.memory_bandwidth)},
          {"memory_bytes", FigureJson(p.memory_bytes)},
          {"read_bytes_per_s", FigureJson(p.read_bytes_per_s)},
          {"sha256_bytes_per_s", FigureJson(p.sha256_bytes_per_s)},
          {"dequant_elements_per_s", FigureJson(p.dequant_elements_per_s)},
          {"vocab_entries_per_s", FigureJson(p.vocab_entries_per_s)},
          {"startup_s", FigureJson(p.startup_s)},
          {"process_start_s", FigureJson(p.process_start_s)},
          {"calibration",
           {{"model", p.calibration.model},
            {"params", p.calibration.params},
            {"bytes", p.calibration.bytes},
            {"output_params", p.calibration.output_params},
            {"input_embd_params", p.calibration.input_embd_params},
            {"input_embd_bytes", p.calibration.input_embd_bytes},
            {"pp_tokens_per_s", p.calibration.pp_tokens_per_s},
            {"pp_batch", p.calibration.pp_batch},
            {"tg_tokens_per_s", p.calibration.tg_tokens_per_s},
            {"source", p.calibration.source}}}};
}

}  // namespace pot::estimate
