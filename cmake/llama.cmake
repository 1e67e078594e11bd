# Imports the static llama.cpp libraries that scripts/deps.sh built into POT_LLAMA_DIR.
# We link the build tree directly: the same objects also make the llama-* tools pot is benchmarked against.
set(_llama_src "${POT_LLAMA_DIR}/src")
# Each accelerator backend has its own build tree beside the CPU one (scripts/deps.sh, POT_BACKEND).
if(POT_BACKEND STREQUAL "cpu")
  set(_llama_build "${POT_LLAMA_DIR}/build")
else()
  set(_llama_build "${POT_LLAMA_DIR}/build-${POT_BACKEND}")
endif()
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
# The RPC backend (scripts/deps.sh builds with GGML_RPC=ON): models larger than one host.
_pot_import_static(ggml_rpc "${_llama_build}/ggml/src/ggml-rpc/libggml-rpc.a")

# The accelerator backend (POT_BACKEND), built by scripts/deps.sh into its own build tree.
set(_backend_libs "")
if(POT_BACKEND STREQUAL "cuda")
  find_package(CUDAToolkit REQUIRED)
  _pot_import_static(ggml_accel "${_llama_build}/ggml/src/ggml-cuda/libggml-cuda.a")
  set(_backend_libs ggml_accel CUDA::cudart_static CUDA::cublas_static CUDA::cublasLt_static CUDA::cuda_driver)
elseif(POT_BACKEND STREQUAL "vulkan")
  find_package(Vulkan REQUIRED)
  _pot_import_static(ggml_accel "${_llama_build}/ggml/src/ggml-vulkan/libggml-vulkan.a")
  set(_backend_libs ggml_accel Vulkan::Vulkan)
elseif(POT_BACKEND STREQUAL "metal")
  _pot_import_static(ggml_accel "${_llama_build}/ggml/src/ggml-metal/libggml-metal.a")
  _pot_import_static(ggml_blas "${_llama_build}/ggml/src/ggml-blas/libggml-blas.a")
  set(_backend_libs ggml_accel ggml_blas "-framework Foundation" "-framework Metal" "-framework MetalKit" "-framework Accelerate")
elseif(NOT POT_BACKEND STREQUAL "cpu")
  message(FATAL_ERROR "POT_BACKEND is cpu, cuda, vulkan or metal, not '${POT_BACKEND}'")
endif()

add_library(llama_all INTERFACE)
target_include_directories(llama_all SYSTEM INTERFACE "${_llama_src}/include" "${_llama_src}/ggml/include")
target_compile_definitions(llama_all INTERFACE POT_BACKEND="${POT_BACKEND}")
# Order matters for static linking: users first, providers last.
target_link_libraries(llama_all INTERFACE llama_lib ggml_core ggml_rpc ${_backend_libs} ggml_cpu ggml_base
                      OpenMP::OpenMP_CXX Threads::Threads m dl)

set(POT_LLAMA_VOCAB_DIR "${_llama_src}/models")
execute_process(COMMAND git -C "${_llama_src}" rev-parse HEAD
                OUTPUT_VARIABLE POT_LLAMA_COMMIT OUTPUT_STRIP_TRAILING_WHITESPACE)
