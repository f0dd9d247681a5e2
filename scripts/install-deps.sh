#!/usr/bin/env bash
# Installs, with apt-get, exactly the Debian 12 packages that building, testing and
# benchmarking Nautilus need. Idempotent: packages already installed are skipped, and when
# nothing is missing it does not touch apt at all (so `make test` stays fast on a warm machine).
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git
  # clang 19 for the libFuzzer targets (`make fuzz`) and for `make lint`: older clangs cannot
  # compile libstdc++ 12's <expected>, which the code uses everywhere
  clang-19 libclang-rt-19-dev clang-format-19 clang-tidy-19
  # libraries
  libfmt-dev libmsgpack-cxx-dev libcli11-dev libhiredis-dev libtomlplusplus-dev
  # the Redis Streams transport's tests: a real redis-server, and Python interop (Debian's
  # /usr/bin/python3 with redis and msgpack)
  redis-server python3 python3-redis python3-msgpack
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
