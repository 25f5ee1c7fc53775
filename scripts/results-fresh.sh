#!/usr/bin/env bash
# Fails when the code a committed result measured has changed since the
# commit stamped on it: every change to what is measured must come with
# fresh numbers. CI runs it; run it yourself before committing results.
#
#   scripts/results-fresh.sh
#
# Each results file names the command that rewrites it.
set -euo pipefail
cd "$(dirname "$0")/.."

# What each kind of result measured. The servers and the protocol crate
# are in all of them; Cargo.lock too (a new Tokio is new code).
servers=(01-single-thread/src 02-thread-pool/src 03-async-tokio/src 04-hybrid-blocking/src 05-event-loop/src
         common/src protocol/src Cargo.lock)
bench_paths=("${servers[@]}" loadtest/benches)
reliability_paths=("${servers[@]}" conformance/src scripts/reliability-results.sh)
anatomy_paths=(03-async-tokio/src 04-hybrid-blocking/src 05-event-loop/src common/src protocol/src
               anatomy/src Cargo.lock)

stale=0

# check FILE COMMIT REDO PATH...: COMMIT is the stamp read from FILE.
check() {
  local file="$1" commit="$2" redo="$3"
  shift 3
  if [ -z "$commit" ]; then
    echo "STALE $file: no commit stamp found in it (rerun: $redo)"
    stale=1
    return
  fi
  case "$commit" in
    *+dirty)
      echo "STALE $file: measured on a tree with uncommitted changes ($commit); commit, then rerun: $redo"
      stale=1
      return ;;
  esac
  if ! git cat-file -e "$commit^{commit}" 2>/dev/null; then
    if [ "$(git rev-parse --is-shallow-repository)" = true ]; then
      echo "skipped $file: commit $commit is not in this shallow clone"
      return
    fi
    echo "STALE $file: its commit $commit is not in this repository (rerun: $redo)"
    stale=1
    return
  fi
  # Against the working tree, so that an uncommitted change counts too.
  local changed
  changed="$(git diff --name-only "$commit" -- "$@")"
  if [ -n "$changed" ]; then
    echo "STALE $file: measured at $commit; since then these changed:"
    printf '    %s\n' $changed
    echo "  rerun: $redo"
    stale=1
  else
    echo "fresh $file (measured at $commit)"
  fi
}

# suite.json: each run carries its own stamp (a partial rerun leaves the
# others as they were), and the load tester checks each against its
# server's sources, the protocol's and its own.
echo "checking book/src/results/suite.json run by run (loadtest suite --check-fresh)"
if ! cargo run --release -q --bin loadtest -- suite --check-fresh; then
  stale=1
fi

# bench.txt, reliability.txt and bytes.md: first line "..., commit abc1234"
first_line_commit() { head -1 "$1" | grep -oE 'commit [0-9a-f]+(\+dirty)?' | cut -d' ' -f2 || true; }
check book/src/results/bench.txt "$(first_line_commit book/src/results/bench.txt)" \
  "scripts/bench-results.sh" "${bench_paths[@]}"
check book/src/results/reliability.txt "$(first_line_commit book/src/results/reliability.txt)" \
  "scripts/reliability-results.sh" "${reliability_paths[@]}"
check book/src/results/bytes.md "$(first_line_commit book/src/results/bytes.md)" \
  "cargo run --release -p anatomy -- --out book/src/results/bytes.md" "${anatomy_paths[@]}"

exit "$stale"
