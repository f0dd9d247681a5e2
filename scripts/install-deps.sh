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
  # the websocket engine's tests: a Python client (tests/integration/python/ws_client_test.py)
  python3-websockets
  # the VPIN tests' independent reference (tests/reference/vpin_reference.py): numpy, and mpmath
  # for the Student-t CDF (python3-scipy cannot be installed: via pythran it wants Boost 1.74)
  python3-numpy python3-mpmath
  # the anchor of `nautilus bench backtest`: the same moving-average strategy vectorized in
  # pandas and numpy (bench/backtest/ma_pandas.py)
  python3-pandas
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
  # the backtest tearsheet's page test (tests/web/report_page_test.mjs): headless Chromium, driven
  # by playwright-core (below), and a font for its screenshot. Tests only; the page itself needs
  # no browser to be built.
  chromium fonts-dejavu-core
)

# `--docker` (make test-docker) adds what building and running the images takes: the Docker
# engine and docker-compose 1.29 from Debian, and debootstrap, which makes the debian:12 base
# image where no image registry is reachable.
for arg in "$@"; do
  case "$arg" in
    --docker) packages+=(docker.io docker-compose debootstrap) ;;
    *) echo "install-deps: unknown option $arg (known: --docker)" >&2; exit 2 ;;
  esac
done

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

# uPlot, the charting library of the backtest tearsheet (web/report/): the build inlines its
# dist files into the page (cmake/EmbedAssets.cmake), so a report opens with no network; nothing
# of it is committed. playwright-core (no dependencies of its own) drives Chromium in the page
# test; its tarball is unpacked as node_modules/playwright-core, which is all `npm install` of it
# would write (it has no install scripts).
uplot_version=1.6.32
uplot_sha256=4b8a8191e425658e3ea8c8c1314b0fc679c861ee3a1af2b20c7b16ba50b5133d
uplot_dir=/opt/nautilus-deps/uplot-$uplot_version
need_uplot=0
[ -f "$uplot_dir/package/dist/uPlot.iife.min.js" ] && [ -f "$uplot_dir/package/dist/uPlot.min.css" ] ||
  need_uplot=1
playwright_version=1.65.1
playwright_sha256=6f5a60be62a4fddfbe7d10c448d8fbd54547da3358f2f8a04211440471ee863e
playwright_dir=/opt/nautilus-deps/playwright-core-$playwright_version
need_playwright=0
[ -f "$playwright_dir/node_modules/playwright-core/index.js" ] || need_playwright=1
# Node's `ws` (no dependencies of its own): the anchor server of `nautilus bench websocket`.
ws_version=8.18.0
ws_sha256=a08221f2851472c944ca0178d89a9888c7f43fbd9998afc8a7ec6fe417c4ca20
ws_dir=/opt/nautilus-deps/ws-$ws_version
need_ws=0
[ -f "$ws_dir/node_modules/ws/index.js" ] || need_ws=1

# npm, when needed, is Debian's, which brings node; node alone runs the page test.
if [ $((need_talib + need_uplot + need_playwright + need_ws)) -gt 0 ] && ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
elif ! command -v node >/dev/null; then
  missing+=(nodejs)
fi

if [ ${#missing[@]} -eq 0 ] && [ $need_msgpack -eq 0 ] && [ $need_talib -eq 0 ] &&
  [ $need_python -eq 0 ] && [ $need_uplot -eq 0 ] && [ $need_playwright -eq 0 ] &&
  [ $need_ws -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
if [ ${#missing[@]} -gt 0 ] || [ $need_msgpack -eq 1 ] || [ $need_python -eq 1 ]; then
  $sudo apt-get update -qq
fi
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
# An npm package's tarball, checked against the SHA-256 this project was checked against, and
# unpacked into a directory: npm_fetch NAME VERSION SHA256 DEST [TAR MEMBERS...]
npm_fetch() {
  local name=$1 version=$2 sha=$3 dest=$4 tmp
  shift 4
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$name@$version" >/dev/null)
  echo "$sha  $tmp/$name-$version.tgz" | sha256sum --check --quiet - || {
    echo "install-deps: $name-$version.tgz does not have the expected SHA-256" >&2
    rm -rf "$tmp"
    exit 1
  }
  $sudo mkdir -p "$dest"
  $sudo tar -xzf "$tmp/$name-$version.tgz" -C "$dest" "$@"
  rm -rf "$tmp"
}
if [ $need_talib -eq 1 ]; then
  echo "install-deps: fetching talib@$talib_version (TA-Lib's C source) into $talib_dir"
  npm_fetch talib "$talib_version" "$talib_sha256" "$talib_dir" package/src/lib/include \
    package/src/lib/src/ta_common package/src/lib/src/ta_func package/COPYING
fi
if [ $need_uplot -eq 1 ]; then
  echo "install-deps: fetching uplot@$uplot_version (the tearsheet's charts) into $uplot_dir"
  npm_fetch uplot "$uplot_version" "$uplot_sha256" "$uplot_dir" package/dist package/LICENSE \
    package/package.json
fi
if [ $need_playwright -eq 1 ]; then
  echo "install-deps: fetching playwright-core@$playwright_version (the page test) into $playwright_dir"
  npm_fetch playwright-core "$playwright_version" "$playwright_sha256" \
    "$playwright_dir/node_modules" --transform 's,^package,playwright-core,'
fi
if [ $need_ws -eq 1 ]; then
  echo "install-deps: fetching ws@$ws_version (the websocket benchmark's anchor) into $ws_dir"
  npm_fetch ws "$ws_version" "$ws_sha256" "$ws_dir/node_modules" --transform 's,^package,ws,'
fi
