#!/usr/bin/env bash
# Builds the examples three ways against this build of lenet and runs each on a picture (CTest
# "examples"): find_package against an install of the build tree, pkg-config, and FetchContent (which
# must build only the libraries the examples link). Also checks that a consumer of lenet::lenet compiles
# without OpenMP, HTTP or JSON flags and headers.
# Usage: examples/test/run.sh SOURCE_DIR BUILD_DIR WORK_DIR
set -euo pipefail
src=$1 build=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix
fail() {
  echo "examples/test/run.sh: FAILED: $*" >&2
  exit 1
}

cmake --install "$build" --prefix "$prefix" >"$work/install.log"
model=$prefix/share/lenet/models/lenet5.bin
[[ -f $model ]] || fail "the install has no $model"
if [[ -x $prefix/bin/lenet ]]; then  # the installed CLI finds the installed model, from anywhere
  out=$(cd / && env -u LENET_MODEL "$prefix/bin/lenet" predict "$src/docs/examples/digit-photo.jpg") ||
    fail "the installed lenet predict (no --model) failed: $out"
  [[ $out == *": 4 "* ]] || fail "the installed lenet predict printed '$out', expected the digit 4"
fi
libdir=$(dirname "$(find "$prefix" -name lenet.pc)")/..
export LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}  # a shared build's libraries

# Runs the two examples built in $1 (classify_digit, read_number) and checks their answers.
check_answers() {
  local out
  out=$("$1/classify_digit" "$model" "$src/examples/digit.pgm") || fail "$1/classify_digit exited $?"
  [[ $out == "4 "* ]] || fail "$1/classify_digit printed '$out', expected the digit 4"
  out=$("$1/read_number" "$model" "$src/docs/examples/number-photo.jpg") || fail "$1/read_number exited $?"
  [[ $(head -n 1 <<<"$out") == 2026 ]] || fail "$1/read_number printed '$out', expected 2026"
  if "$1/classify_digit" "$model" "$src/examples/CMakeLists.txt" 2>/dev/null; then
    fail "$1/classify_digit accepted a text file as a picture"
  fi
  echo "examples/test/run.sh: $1: classify_digit and read_number answered right"
}

echo "== find_package(lenet 0.2) against the installed prefix"
cmake -S "$src/examples" -B "$work/find_package" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >"$work/find_package.log"
cmake --build "$work/find_package" >>"$work/find_package.log"
check_answers "$work/find_package"
# The consumer of lenet::lenet: none of the private dependencies' flags or headers.
flags=$(grep '"command"' "$work/find_package/compile_commands.json" | grep classify_digit.cpp)
for private in -fopenmp CPPHTTPLIB nlohmann libpng16; do
  [[ $flags != *"$private"* ]] || fail "classify_digit.cpp compiles with '$private': $flags"
done
if grep -l 'nlohmann\|httplib\|omp\.h' "$work/find_package/CMakeFiles/classify_digit.dir/classify_digit.cpp.o.d"; then
  fail "classify_digit.cpp includes a JSON, HTTP or OpenMP header"
fi

echo "== pkg-config --cflags --libs lenet / lenet-vision"
export PKG_CONFIG_PATH=$libdir/pkgconfig
[[ $(pkg-config --modversion lenet) == 0.2.* ]] || fail "pkg-config lenet: version $(pkg-config --modversion lenet)"
mkdir -p "$work/pkg-config"
# shellcheck disable=SC2046 # the flags are words
c++ -std=c++20 -O2 "$src/examples/classify_digit.cpp" -o "$work/pkg-config/classify_digit" \
  $(pkg-config --cflags --libs lenet)
# shellcheck disable=SC2046
c++ -std=c++20 -O2 "$src/examples/read_number.cpp" -o "$work/pkg-config/read_number" \
  $(pkg-config --cflags --libs lenet-vision)
check_answers "$work/pkg-config"

echo "== FetchContent (the source tree as FETCHCONTENT_SOURCE_DIR_LENET)"
cmake -S "$src/examples" -B "$work/fetchcontent" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLENET_FROM=fetchcontent \
  -DFETCHCONTENT_SOURCE_DIR_LENET="$src" >"$work/fetchcontent.log"
cmake --build "$work/fetchcontent" >>"$work/fetchcontent.log"
check_answers "$work/fetchcontent"
deps=$work/fetchcontent/_deps/lenet-build
for unwanted in lenet tests bench liblenet_internal.a liblenet_server.a; do
  [[ ! -e $deps/$unwanted ]] || fail "FetchContent built $deps/$unwanted, which the examples do not use"
done
echo "examples/test/run.sh: all three ways passed"
