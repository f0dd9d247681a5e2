#!/usr/bin/env bash
# The live dashboard over HTTPS and wss:// in headless Chromium: certificates made here (a test
# CA and a server certificate for localhost and 127.0.0.1), then dashboard_page_test.mjs with
# --tls. Node trusts the test CA (NODE_EXTRA_CA_CERTS); Chromium trusts only this server key,
# by its SPKI hash.
#
#   tests/web/dashboard_https_test.sh NODE PLAYWRIGHT_CORE_DIR OUT_DIR NAUTILUS_BINARY
set -euo pipefail
node="$1" pw="$2" out="$3" bin="$4"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
certs="$(mktemp -d /tmp/nautilus-dashboard-tls.XXXXXX)"
trap 'rm -rf "$certs"' EXIT
key="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
(
  cd "$certs"
  # shellcheck disable=SC2086 # $key is several arguments
  openssl req -x509 $key -keyout ca.key -out ca.pem -days 2 -subj /CN=nautilus-test-ca
  # shellcheck disable=SC2086
  openssl req $key -keyout server.key -out server.csr -subj /CN=localhost
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >server.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
    -days 2 -extfile server.ext
) >"$certs/openssl.log" 2>&1 || { cat "$certs/openssl.log" >&2; exit 1; }
spki=$(openssl x509 -in "$certs/server.pem" -pubkey -noout | openssl pkey -pubin -outform der |
       openssl dgst -sha256 -binary | base64)
NODE_EXTRA_CA_CERTS="$certs/ca.pem" "$node" "$here/dashboard_page_test.mjs" "$pw" "$out" "$bin" \
  --tls "$certs/server.pem" "$certs/server.key" "$spki"
