#!/usr/bin/env bash
# Runs every fuzz target (or those named) for FUZZ_SECONDS each, under nice, and prints one
# summary line per target from libFuzzer's final stats: executions, corpus entries and size,
# time. The corpus grows in fuzz/corpus/<target> (not in git); fuzz/seeds/<target>, where
# present, is read as an extra corpus. A crash stops the run with libFuzzer's report; the
# input is kept in fuzz/artifacts/<target>/ (`cargo +nightly fuzz run <target> <file>`
# replays it).
set -euo pipefail
cd "$(dirname "$0")"
seconds="${FUZZ_SECONDS:-60}"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo +nightly fuzz list)
fi
cargo +nightly fuzz build -O
mkdir -p logs
summary=()
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    seeds=()
    [ -d "seeds/$t" ] && seeds=("seeds/$t")
    echo "== $t (${seconds}s)"
    if ! nice cargo +nightly fuzz run -O "$t" "corpus/$t" "${seeds[@]}" -- \
        -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        >"logs/$t.log" 2>&1; then
        tail -n 60 "logs/$t.log"
        echo "fuzz target $t FAILED (log: fuzz/logs/$t.log)" >&2
        exit 1
    fi
    execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "logs/$t.log" | awk '{print $2}')
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "logs/$t.log" | tail -n 1)
    corp=$(echo "$done_line" | grep -o 'corp: [0-9]*/[0-9a-zA-Z]*' | awk '{print $2}')
    cov=$(echo "$done_line" | grep -o 'cov: [0-9]*' | awk '{print $2}')
    line="$t: ${execs} executions, corpus ${corp} (entries/bytes), coverage ${cov}, ${seconds}s"
    echo "$line"
    summary+=("$line")
done
echo
echo "== summary"
printf '%s\n' "${summary[@]}"
