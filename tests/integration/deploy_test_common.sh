# Sourced by the deploy/local.sh tests (deploy_local_test.sh, deploy_local_cluster_test.sh),
# after they set `root` and RUN_DIR: fail() with the logs, and the teardown on exit.

# The reason goes last as well: ctest's output is cut from the middle, and the logs are long.
fail() {
  echo "FAIL: $*" >&2
  for f in "$RUN_DIR"/*.log; do echo "--- $f" >&2; tail -20 "$f" >&2; done
  echo "FAIL: $*" >&2
  exit 1
}
cleanup() { "$root/deploy/local.sh" stop >/dev/null 2>&1 || true; rm -rf "$RUN_DIR"; }
trap cleanup EXIT
