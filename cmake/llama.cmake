# Imports the static llama.cpp libraries that scripts/deps.sh built into POT_LLAMA_DIR.
# We link the build tree directly: the same objects also make the llama-* tools pot is benchmarked against.
set(_llama_src "${POT_LLAMA_DIR}/src")
set(_llama_build "${POT_LLAMA_DIR}/build")
if(NOT EXISTS "${_llama_build}/src/libllama.a")
  message(FATAL_ERROR "llama.cpp not found in ${POT_LLAMA_DIR}: run scripts/deps.sh first")
endif()

find_package(OpenMP REQUIRED)

function(_pot_import_static name path)
  add_library(${name} STATIC IMPORTED GLOBAL)
  set_target_properties(${name} PROPERTIES IMPORTED_LOCATION "${path}")
endfunction()

_pot_import_static(ggml_base "${_llama_build}/ggml/src/libggml-base.a")
_pot_import_static(ggml_cpu  "${_llama_build}/ggml/src/libggml-cpu.a")
_pot_import_static(ggml_core "${_llama_build}/ggml/src/libggml.a")
_pot_import_static(llama_lib "${_llama_build}/src/libllama.a")

add_library(llama_all INTERFACE)
target_include_directories(llama_all SYSTEM INTERFACE "${_llama_src}/include" "${_llama_src}/ggml/include")
# Order matters for static linking: users first, providers last.
target_link_libraries(llama_all INTERFACE llama_lib ggml_core ggml_cpu ggml_base OpenMP::OpenMP_CXX Threads::Threads m dl)

set(POT_LLAMA_VOCAB_DIR "${_llama_src}/models")
execute_process(COMMAND git -C "${_llama_src}" rev-parse HEAD
                OUTPUT_VARIABLE POT_LLAMA_COMMIT OUTPUT_STRIP_TRAILING_WHITESPACE)
