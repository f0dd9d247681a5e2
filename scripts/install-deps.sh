#!/usr/bin/env bash
# Installs, with apt-get, exactly the Debian 12 packages that building, testing and
# benchmarking Nautilus need. Idempotent: packages already installed are skipped, and when
# nothing is missing it does not touch apt at all (so `make test` stays fast on a warm machine).
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git
  # LLVM's linker: links the test binaries several times faster than GNU ld
  lld
  # clang 19 for the libFuzzer targets (`make fuzz`) and for `make lint`: older clangs cannot
  # compile libstdc++ 12's <expected>, which the code uses everywhere
  clang-19 libclang-rt-19-dev clang-format-19 clang-tidy-19
  # libraries
  libfmt-dev libcli11-dev libhiredis-dev libtomlplusplus-dev
  # Boost 1.81: Asio and Beast (header-only) for HTTP, Boost.JSON; OpenSSL for the HTTPS adapters
  libboost1.81-dev libboost-json1.81-dev libssl-dev
  # gzip-compressed sample data and CSV files
  zlib1g-dev
  # the toraniko factor model's linear algebra (header-only)
  libeigen3-dev
  # the Redis Streams transport's tests: a real redis-server, and Python interop (Debian's
  # /usr/bin/python3 with redis and msgpack)
  redis-server python3 python3-redis python3-msgpack
  # the VPIN tests' independent reference (tests/reference/vpin_reference.py): numpy, and mpmath
  # for the Student-t CDF (python3-scipy cannot be installed: via pythran it wants Boost 1.74)
  python3-numpy python3-mpmath
  # Debian's OpenBLAS, which numpy then runs on (the anchors of `nautilus bench models`); without
  # it numpy falls back to the slow reference BLAS
  libopenblas0-pthread
  # scikit-learn, the ml engine's reference, is unpacked (below); these are what its and
  # SciPy's compiled parts and pure-Python dependencies need
  liblbfgsb0 libgfortran5 liblapack3 python3-decorator python3-joblib python3-threadpoolctl
  # XGBoost's C API: the ml engine scores gradient-boosted models trained offline
  libxgboost-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # `nautilus bench http`: wrk drives the load, Debian's nginx is the anchor; curl runs the
  # documented checks in the deployment test
  wrk nginx-light curl
  # the HTTPS client test runs `openssl s_server` with a certificate it makes; real sources
  # are verified against the system CAs
  openssl ca-certificates
  # R's TTR: the second, independent reference for the indicators TA-Lib does not have
  r-cran-ttr
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# msgpack-cxx (header-only) is taken from Debian's libmsgpack-cxx-dev package but unpacked, not
# installed: the package depends on libboost-dev (Boost 1.74), which conflicts with Boost 1.81.
# The codec builds with MSGPACK_NO_BOOST, so any Boost is fine for it.
msgpack_dir=/opt/nautilus-deps/msgpack-cxx
need_msgpack=0
[ -f "$msgpack_dir/usr/include/msgpack.hpp" ] || need_msgpack=1

# scikit-learn, SciPy and Python's xgboost (the ml engine's references,
# tests/reference/ml_reference.py and xgb_reference.py) are
# unpacked, not installed, for the same reason: python3-scipy depends on python3-pythran, which
# wants libboost-dev (1.74). Their files go under $python_dir, which the tests put on PYTHONPATH
# for /usr/bin/python3; the shared libraries they load are installed above.
python_dir=/opt/nautilus-deps/python
python_debs=(python3-scipy python3-sklearn python3-sklearn-lib python3-xgboost)
python_site=$python_dir/usr/lib/python3/dist-packages
need_python=0
[ -f "$python_site/sklearn/__init__.py" ] && [ -e "$python_site/xgboost/lib/libxgboost.so" ] ||
  need_python=1

# TA-Lib's C source, the features engine's reference and the signals benchmark's anchor, comes
# from npm's `talib` package (it bundles TA-Lib 0.4's C source); CMake compiles its .c files
# (cmake/TaLib.cmake). The package's own node-gyp build is not used. npm itself: Debian's
# `npm` package, unless a Node.js with npm is already installed.
talib_version=2.0.5
talib_sha256=b73e2a382d0937e7a9e889c6e1285d811747b3a78365f325493889cb7b302cde
talib_dir=/opt/nautilus-deps/talib-$talib_version
need_talib=0
[ -f "$talib_dir/package/src/lib/include/ta_func.h" ] || need_talib=1
if [ $need_talib -eq 1 ] && ! command -v npm >/dev/null; then missing+=(nodejs npm); fi

if [ ${#missing[@]} -eq 0 ] && [ $need_msgpack -eq 0 ] && [ $need_talib -eq 0 ] &&
  [ $need_python -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [ $need_msgpack -eq 1 ]; then
  echo "install-deps: unpacking libmsgpack-cxx-dev into $msgpack_dir"
  tmp=$(mktemp -d)
  chmod 755 "$tmp"  # apt downloads as the _apt user
  (cd "$tmp" && apt-get download libmsgpack-cxx-dev >/dev/null)
  $sudo mkdir -p "$msgpack_dir"
  $sudo dpkg-deb -x "$tmp"/libmsgpack-cxx-dev_*.deb "$msgpack_dir"
  rm -rf "$tmp"
fi
if [ $need_python -eq 1 ]; then
  echo "install-deps: unpacking ${python_debs[*]} into $python_dir"
  tmp=$(mktemp -d)
  chmod 755 "$tmp"
  (cd "$tmp" && apt-get download "${python_debs[@]}" >/dev/null)
  $sudo mkdir -p "$python_dir"
  for deb in "$tmp"/*.deb; do $sudo dpkg-deb -x "$deb" "$python_dir"; done
  rm -rf "$tmp"
  # Python's xgboost looks for libxgboost.so beside itself: Debian's, installed above.
  $sudo mkdir -p "$python_site/xgboost/lib"
  $sudo ln -sf "$(readlink -f /usr/lib/x86_64-linux-gnu/libxgboost.so)" \
    "$python_site/xgboost/lib/libxgboost.so"
fi
if [ $need_talib -eq 1 ]; then
  echo "install-deps: fetching talib@$talib_version (TA-Lib's C source) into $talib_dir"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "talib@$talib_version" >/dev/null)
  # The tarball this project was checked against, and no other.
  echo "$talib_sha256  $tmp/talib-$talib_version.tgz" | sha256sum --check --quiet - || {
    echo "install-deps: talib-$talib_version.tgz does not have the expected SHA-256" >&2
    exit 1
  }
  $sudo mkdir -p "$talib_dir"
  $sudo tar -xzf "$tmp/talib-$talib_version.tgz" -C "$talib_dir" package/src/lib/include \
    package/src/lib/src/ta_common package/src/lib/src/ta_func package/COPYING
  rm -rf "$tmp"
fi
