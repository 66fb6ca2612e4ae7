#!/usr/bin/env bash
# Prints, for each round of a benchmark output (one `go test -count 1` run,
# starting at its goos: line), every benchmark's rate as a ratio of the
# baseline's rate in the same round, then the median ratio.
# usage: bench-ratios.sh FILE BASELINE-NAME UNIT   (e.g. spans/s, items/s)
set -euo pipefail
file=$1 base=$2 unit=$3
awk -v base="$base" -v unit="$unit" '
  /^goos:/ { round++ }
  /^Benchmark/ {
    name=$1; sub(/-[0-9]+$/, "", name)
    for (i = 2; i <= NF; i++) if ($i == unit) v = $(i-1)
    if (name == base) b[round] = v
    rate[round, name] = v; names[name] = 1
  }
  END {
    for (n in names) {
      if (n == base) continue
      cnt = 0; line = ""
      for (r = 1; r <= round; r++) if (((r, n) in rate) && (r in b) && b[r] > 0) {
        x = rate[r, n] / b[r]; vals[++cnt] = x; line = line sprintf(" %.2f", x)
      }
      if (cnt == 0) continue
      # median
      for (i = 1; i <= cnt; i++) for (j = i + 1; j <= cnt; j++) if (vals[j] < vals[i]) { t = vals[i]; vals[i] = vals[j]; vals[j] = t }
      med = (cnt % 2) ? vals[(cnt + 1) / 2] : (vals[cnt / 2] + vals[cnt / 2 + 1]) / 2
      printf "%-60s median %.2f  rounds:%s\n", n " / " base, med, line
    }
  }' "$file" | sort
