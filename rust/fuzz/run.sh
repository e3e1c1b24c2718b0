#!/usr/bin/env bash
# Run every cargo-fuzz target for FUZZ_SECONDS (default 180) each, seeded from
# the golden corpus, and print one summary line per target: executions,
# coverage, corpus size and crashes. Not part of CI (`make fuzz`).
set -u
cd "$(dirname "$0")"
secs="${FUZZ_SECONDS:-180}"
root="../../tests/golden"
declare -A seeds=(
  [fuzz_csv]=csv [fuzz_nvidia_smi]=nvidia_smi [fuzz_dmon]=dmon [fuzz_zeus]=zeus
  [fuzz_prometheus_text]=prometheus [fuzz_prometheus_json]=prometheus_json [fuzz_rapl]=rapl
  [fuzz_codecarbon]=codecarbon [fuzz_sniff]="*" [fuzz_integrate]="" [fuzz_attribute]="" [fuzz_ecb]="" [fuzz_series]="" [fuzz_partial_codec]=""
  [fuzz_requests_csv]=requests [fuzz_requests_vllm]=requests [fuzz_requests_sglang]=requests
  [fuzz_requests_aiperf]=requests [fuzz_requests_ollama]=requests [fuzz_token_counters]=prometheus
)
targets="${FUZZ_TARGETS:-$(cargo fuzz list --fuzz-dir "$PWD" 2>/dev/null)}"
# Leak detection is off: LeakSanitizer reports std's thread-local channel
# contexts of the reader's worker threads, which safe Rust frees at thread exit.
# cargo-fuzz needs nightly flags; the one toolchain here is stable, which accepts them with RUSTC_BOOTSTRAP.
export RUSTC_BOOTSTRAP=1
mkdir -p logs
failed=0
for t in $targets; do
  mkdir -p "corpus/$t"
  if [ -n "${seeds[$t]:-}" ]; then
    for f in $root/${seeds[$t]}/*; do
      case "$f" in *.expected.json) ;; *) [ -f "$f" ] && cp -n "$f" "corpus/$t/" ;; esac
    done
  fi
  cargo fuzz run --fuzz-dir "$PWD" "$t" "corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=512 -timeout=5 -detect_leaks=0 \
    -max_len=65536 > "logs/$t.log" 2>&1
  rc=$?
  stats=$(grep -E "^#[0-9]+.*(DONE|pulse|NEW|REDUCE)" "logs/$t.log" | tail -1)
  crashes=$(ls artifacts/"$t" 2>/dev/null | wc -l)
  echo "$t: rc=$rc crashes=$crashes corpus=$(ls "corpus/$t" | wc -l) :: $stats"
  [ "$rc" -ne 0 ] && failed=1
done
exit $failed
