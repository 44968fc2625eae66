#!/usr/bin/env bash
# `make web`: the web demo as a static folder — the page of `lenet serve` (apps/lenet/web), the library's
# inference and picture preprocessing compiled to WebAssembly with Debian's emscripten, and the model —
# that any static file server serves, offline. Usage: wasm/build.sh [OUT_DIR] [MODEL]
#   (default build-web/site and models/lenet5.bin). Objects are kept in build-web/obj and rebuilt when
#   their source or a header is newer.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/build-web/site}"
model="${2:-$root/models/lenet5.bin}"
obj="$root/build-web/obj"
shim="$root/build-web/include"
mkdir -p "$out" "$obj" "$shim"

command -v em++ >/dev/null || { echo "wasm/build.sh: em++ not found (Debian: apt-get install emscripten)" >&2; exit 1; }
# emscripten's JS optimiser needs acorn: Debian's node-acorn, found by a node that is not Debian's too.
export NODE_PATH="/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}"

# The headers of the libraries the sources include, and nothing else of /usr/include (glibc's would clash
# with emscripten's libc): nlohmann-json (header-only), zlib's declarations (crc32 is wasm/crc32.cpp).
ln -sfn /usr/include/nlohmann "$shim/nlohmann"
ln -sf /usr/include/zlib.h "$shim/zlib.h"
ln -sf /usr/include/zconf.h "$shim/zconf.h"

# Inference, the model file, picture preprocessing, number reading: what the page's API needs. Not training
# (OpenMP threads), the idx reader (gzip), the HTTP server, nor picture file decoding (Debian's libpng,
# libjpeg...): the browser decodes pictures itself and hands the pixels over (wasm/local.js).
sources=(activation conv2d gemm linear maxpool subsample rbf loss lenet5 model_file output_file lenet5_io resample page ink
         normalise
         classify segment)
# -msimd128: the kernels' 4-wide vectors (simd.h's portable level) become WebAssembly SIMD instructions.
flags=(-O2 -msimd128 -std=c++20 -fexceptions -DNDEBUG -include "$root/wasm/compat.h" -I "$root/include"
       -isystem "$shim" -Wall -Wextra -Wno-unused-command-line-argument -Wno-unknown-attributes)
newest_header="$(ls -t "$root"/include/lenet/*.h "$root"/src/*.h "$root/wasm/compat.h" | head -1)"
objects=()
for s in "${sources[@]}"; do
  src="$root/src/$s.cpp"
  [[ -f "$src" ]] || { echo "wasm/build.sh: $src is missing: update the source list in wasm/build.sh" >&2; exit 1; }
  o="$obj/$s.o"
  if [[ ! -f "$o" || "$src" -nt "$o" || "$newest_header" -nt "$o" ]]; then
    echo "em++ $s.cpp"
    em++ "${flags[@]}" -c "$src" -o "$o"
  fi
  objects+=("$o")
done
echo "em++ -> $out/lenet.wasm"
em++ "${flags[@]}" "${objects[@]}" "$root/wasm/lenet_wasm.cpp" "$root/wasm/crc32.cpp" -o "$out/lenet.js" \
  -sMODULARIZE=1 -sEXPORT_NAME=createLenetModule -sALLOW_MEMORY_GROWTH=1 -sENVIRONMENT=web \
  -sEXPORTED_FUNCTIONS=_malloc,_free,_lenet_wasm_load,_lenet_wasm_request,_lenet_wasm_inference_ms,_lenet_wasm_preprocess_ms \
  -sEXPORTED_RUNTIME_METHODS=UTF8ToString,stringToUTF8,lengthBytesUTF8

# The page: lenet serve's files, with wasm/local.js loaded first to answer its API calls in the page.
web="$root/apps/lenet/web"
cp "$web/app.js" "$web/style.css" "$root/wasm/local.js" "$out/"
sed 's|<script src="app.js" defer></script>|<script src="lenet.js"></script>\n  <script src="local.js"></script>\n  <script src="app.js" defer></script>|' \
  "$web/index.html" > "$out/index.html"
grep -q 'src="local.js"' "$out/index.html" || { echo "wasm/build.sh: could not add local.js to index.html" >&2; exit 1; }
cp "$model" "$out/lenet5.bin"
echo "wrote $out: $(ls "$out" | tr '\n' ' ')"
