#!/usr/bin/env bash
# The procedure benchmarks, for a person: switchovers and failovers under
# the light benchmark writer, then switchovers under sysbench
# oltp_write_only (4 threads) at 100 tps and at full speed beside a writer
# that retries failed inserts. Each prints one line per run and a summary
# (write-blocked p50/max as the writer saw it, wall time, lost and
# duplicated rows, switchovers refused before any change). Figures depend
# on the machine's load: note `uptime` beside them.
#   bash scripts/bench.sh [RUNS]     (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
bash scripts/install-deps.sh
uptime
go test -run '^$' -bench 'Procedures|Sysbench' -benchtime "${runs}x" -timeout 30m ./tests/ |
  grep -E '^(switchover|failover|writer)|^Benchmark|^ok|FAIL'
uptime
