#!/usr/bin/env bash
# Prints, for each round of a benchmark output (one `go test -count 1` run,
# starting at its goos: line), every benchmark's rate as a ratio of the
# baseline's rate in the same round at the same GOMAXPROCS (the -N suffix of
# a name; none is 1, as with -cpu 1,2), then the median ratio.
# usage: bench-ratios.sh FILE BASELINE-NAME UNIT [cost]   (e.g. spans/s, items/s)
# With "cost" the unit is a cost (cpu-ns/span: lower is better) and the ratio
# is the baseline's cost over the benchmark's, so that here too 1.00 is the
# baseline and a higher figure is better.
set -euo pipefail
file=$1 base=$2 unit=$3 cost=${4:-}
awk -v base="$base" -v unit="$unit" -v cost="$cost" '
  /^goos:/ { round++ }
  /^Benchmark/ {
    name=$1; procs=1
    if (match(name, /-[0-9]+$/)) { procs=substr(name, RSTART+1); name=substr(name, 1, RSTART-1) }
    v=""
    for (i = 2; i <= NF; i++) if ($i == unit) v = $(i-1)
    if (v == "") next
    if (name == base) b[round, procs] = v
    rate[round, name, procs] = v; names[name, procs] = 1
  }
  END {
    for (k in names) {
      split(k, kp, SUBSEP); n = kp[1]; p = kp[2]
      if (n == base) continue
      cnt = 0; line = ""
      for (r = 1; r <= round; r++) if (((r, n, p) in rate) && ((r, p) in b) && b[r, p] > 0 && rate[r, n, p] > 0) {
        x = (cost == "cost") ? b[r, p] / rate[r, n, p] : rate[r, n, p] / b[r, p]; vals[++cnt] = x; line = line sprintf(" %.2f", x)
      }
      if (cnt == 0) continue
      # median
      for (i = 1; i <= cnt; i++) for (j = i + 1; j <= cnt; j++) if (vals[j] < vals[i]) { t = vals[i]; vals[i] = vals[j]; vals[j] = t }
      med = (cnt % 2) ? vals[(cnt + 1) / 2] : (vals[cnt / 2] + vals[cnt / 2 + 1]) / 2
      sfx = (p == 1) ? "" : "-" p
      printf "%-70s median %.2f  rounds:%s\n", n sfx " / " base sfx, med, line
    }
  }' "$file" | sort
