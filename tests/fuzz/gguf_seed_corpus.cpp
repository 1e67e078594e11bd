// Writes the fuzzer's starting corpus: well-formed GGUF files (v2 and v3, default and custom alignment) made
// by the reader tests' builder, so mutation starts from inputs that reach every part of the reader.
#include <fstream>
#include <iostream>

#include "gguf/gguf_builder.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: gguf_seed_corpus DIR\n";
    return 2;
  }
  const std::string dir = argv[1];
  int n = 0;
  for (uint32_t version : {2u, 3u}) {
    for (uint64_t alignment : {32u, 64u}) {
      pot::test::GgufBuilder b = pot::test::SmallModel(alignment);
      b.version = version;
      std::ofstream(dir + "/seed" + std::to_string(n++) + ".gguf", std::ios::binary) << b.Build();
    }
  }
  return 0;
}
