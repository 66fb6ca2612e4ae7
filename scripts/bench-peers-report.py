#!/usr/bin/env python3
"""Report of scripts/bench-peers.sh: reads its raw measurements (BP_OUT) and the BP_* facts of
the run from the environment, prints the BENCHMARKS.md section and, unless BP_UPDATE=0, puts it
between <!-- bench-peers:start --> and <!-- bench-peers:end --> of BP_MD, regenerated from
nothing (created before "## Replay throughput" if the markers are missing).

  python3 scripts/bench-peers-report.py --splice FROM TO
copies the section between the markers of file FROM into file TO the same way (to apply a
generated section to another version of BENCHMARKS.md).
"""
import csv
import os
import random
import re
import statistics
import sys

START, END = "<!-- bench-peers:start -->", "<!-- bench-peers:end -->"
ANCHOR = "## Replay throughput"


def splice(doc, section):
    """doc with section (which includes both markers) in place of the old one."""
    if START in doc and END in doc:
        a = doc.index(START)
        b = doc.index(END) + len(END)
        return doc[:a] + section + doc[b:]
    if ANCHOR in doc:
        a = doc.index(ANCHOR)
        return doc[:a] + section + "\n\n" + doc[a:]
    return doc.rstrip("\n") + "\n\n" + section + "\n"


def extract(doc):
    return doc[doc.index(START):doc.index(END) + len(END)]


if len(sys.argv) == 4 and sys.argv[1] == "--splice":
    with open(sys.argv[2]) as f:
        section = extract(f.read())
    with open(sys.argv[3]) as f:
        doc = f.read()
    with open(sys.argv[3], "w") as f:
        f.write(splice(doc, section))
    sys.exit(0)

E = os.environ
rows = list(csv.DictReader(open(E["BP_OUT"]), delimiter="\t"))
runs = {}
for r in rows:
    for k in ("cpu_s", "s3_server_cpu_s", "wall_s", "machine_busy_cores"):
        r[k] = float(r[k])
    for k in ("items", "accepted", "failed", "peak_rss_kib", "bytes", "files"):
        r[k] = int(r[k])
    r["cpu_per_m"] = r["cpu_s"] / r["items"] * 1e6 if r["items"] else float("nan")
    runs[(int(r["round"]), r["variant"])] = r
rounds = sorted({k[0] for k in runs})
VARIANTS = ["peer/debug", "peer/file", "peer/s3", "ours/debug", "ours/fs", "ours/s3"]
BASE = {"peer/file": "peer/debug", "peer/s3": "peer/debug", "ours/fs": "ours/debug", "ours/s3": "ours/debug"}
NAMES = {
    "peer/debug": "otelcol-peer, `debug` (baseline)",
    "peer/file": "otelcol-peer, `file` (proto + zstd)",
    "peer/s3": "otelcol-peer, `awss3` (otlp_proto + gzip, versitygw)",
    "ours/debug": "otelcol-recordreplay, `debug` (baseline)",
    "ours/fs": "otelcol-recordreplay, `session_capture` filesystem",
    "ours/s3": "otelcol-recordreplay, `session_capture` S3 (versitygw)",
}


def marginal(rd, v):
    return runs[(rd, v)]["cpu_per_m"] - runs[(rd, BASE[v])]["cpu_per_m"]


def bpi(rd, v):
    r = runs[(rd, v)]
    return r["bytes"] / r["items"] if r["items"] else float("nan")


def med(xs):
    xs = [x for x in xs if x == x]
    return statistics.median(xs) if xs else float("nan")


def fmt(x, d=2):
    return "n/a" if x != x else f"{x:.{d}f}"


def series(f, d=2):
    vals = [f(rd) for rd in rounds]
    return vals, f"**{fmt(med(vals), d)}** ({' '.join(fmt(v, d) for v in vals)})"


def spread(vals):
    """How far the median of vals may be off, as a fraction of it (see bootstrap)."""
    xs = [x for x in vals if x == x]
    return bootstrap(xs, statistics.median) if len(xs) > 1 else float("nan")


def bootstrap(items, stat):
    """How far stat(items) may be off, as a fraction of it: the larger distance from it to the
    ends of the middle 90 % of stat over 2000 resamples of items (drawn with replacement; a
    fixed seed, so one file always gives one answer)."""
    est = stat(items)
    if not est or est != est:
        return float("nan")
    rng = random.Random(21)
    boot = sorted(stat(rng.choices(items, k=len(items))) for _ in range(2000))
    lo, hi = boot[int(0.05 * len(boot))], boot[int(0.95 * len(boot)) - 1]
    return max(est - lo, hi - est) / abs(est)


def pooled(v, peer, rds):
    """The marginal CPU of v over all rounds rds, as a ratio to the peer's: the sum of v's
    marginal CPU-s per M items over the sum of the peer's. Each round's ratio divides by one
    noisy difference of two runs; pooled, the rounds' noise averages out before the division."""
    a = sum(marginal(rd, v) for rd in rds)
    b = sum(marginal(rd, peer) for rd in rds)
    return a / b if b > 0 else float("nan")


def pct(x):
    return "n/a" if x != x else f"±{100 * x:.0f} %"


def ratio(a, b):
    return a / b if b > 0 and a == a else float("nan")


# The pairs the targets are about: session_capture on each store against fileexporter.
TARGETS = [("ours/fs", "peer/file"), ("ours/s3", "peer/file")]

if len(sys.argv) == 2 and sys.argv[1] == "--spread":
    # the largest spread of the targets' figures (pooled marginal CPU, median peak RSS) so far
    worst = 0.0
    for v, peer in TARGETS:
        rds = [rd for rd in rounds if (rd, v) in runs and (rd, peer) in runs]
        rss = [ratio(runs[(rd, v)]["peak_rss_kib"], runs[(rd, peer)]["peak_rss_kib"]) for rd in rds]
        cpu = bootstrap(rds, lambda rs: pooled(v, peer, rs)) if len(rds) > 1 else float("nan")
        for x in (cpu, spread(rss)):
            worst = max(worst, x if x == x and x != float("inf") else 9.999)
    print(f"{worst:.3f}")
    sys.exit(0)


out = []
w = out.append
w(START)
w("## Peer comparison: `session_capture` vs contrib's `fileexporter` and `awss3exporter`, whole collector")
w("")
w(f"Generated by `make bench-peers` (= `scripts/bench-peers.sh`, which rewrites everything between")
w(f"this section's markers) on {E['BP_DATE']} at commit `{E['BP_COMMIT']}`"
  + (" (with uncommitted changes to the distribution's sources)" if E["BP_DIRTY"] != "0" else "")
  + f", on {E['BP_CPU']}, {E['BP_CORES']} cores, Linux {E['BP_KERNEL']}, {E['BP_GO']}. Absolute")
w("figures drift with whatever else runs on the machine; compare the ratios within a round.")
w("")
w("```sh")
w("make bench-peers   # = scripts/build-peer.sh (bin/otelcol-peer), then scripts/bench-peers.sh")
w(f"                   #   {E.get('BP_ROUNDS_ASKED', '')} ({E['BP_ROUNDS']} rounds this run) DURATION={E['BP_DURATION']} BATCH_SIZE={E.get('BP_BATCH', '100')} "
  f"TRACES_RATE={E['BP_RATES'].split()[0]} METRICS_RATE={E['BP_RATES'].split()[1]} LOGS_RATE={E['BP_RATES'].split()[2]}")
w("```")
w("")
w("- **Versions**: ours = `bin/otelcol-recordreplay` (`make build`, collector core "
  f"{E['BP_V_OURS_CORE']}); the peer = `bin/otelcol-peer`, built by the same ocb from "
  "`testbed/peer-builder-config.yaml`: core `otlp` receiver, `batch` processor and `debug` exporter "
  f"{E['BP_V_CORE']} (stable modules {E['BP_V_STABLE']}), contrib `fileexporter` {E['BP_V_FILE']} "
  "(its test-only dependency `otlpencodingextension` v0.165.1 is refused by the module proxy; a "
  f"`replaces:` to v0.161.0 lets the build resolve) and `awss3exporter` {E.get('BP_V_S3', 'n/a')} "
  "(the latest the module proxy serves). Load: telemetrygen "
  f"{E['BP_V_TG']}; S3 server: versitygw {E['BP_V_VGW']} (posix backend, 127.0.0.1).")
rates = E["BP_RATES"].split()
w(f"- **Load**, the same for every collector: three telemetrygen processes at once for "
  f"{E['BP_DURATION']} s, OTLP/gRPC on loopback, `{E['BP_TRACES']}` ({rates[0]} spans/s), "
  f"`{E['BP_METRICS']}` ({rates[1]} data points/s), `{E['BP_LOGS']}` ({rates[2]} log records/s); "
  f"telemetrygen sends {E.get('BP_BATCH', '100')} items per request (the OpenTelemetry SDKs' export batch).")
w("- **Collectors**: every pipeline is `otlp` → `batch` (defaults) → one exporter, in all three "
  "signals; exporters at their defaults except `file` with `format: proto, compression: zstd`, "
  "`awss3` with `marshaler: otlp_proto, compression: gzip` and `session_capture`'s store. Per round the six collectors run one after another (the order "
  "reversed every other round).")
w("- **Measured** per collector: CPU-seconds of the whole collector process (utime + stime from "
  "`/proc/PID/stat`) from just before the load starts until every accepted item has been exported; "
  "items delivered (the exporter's `otelcol_exporter_sent_*`, checked against the receiver's "
  "accepted counts); peak RSS (`VmHWM`, read before shutdown); bytes of every file stored "
  "(after shutdown; for S3 the objects under the run's prefix in the server's directory). "
  "**Marginal CPU** = CPU-seconds per million items minus that of the same binary's `debug` run "
  "in the same round: what the exporter costs on top of receiving and batching.")
w("")
busy = [r["machine_busy_cores"] for r in runs.values()]
w(f"While the collectors ran, the machine's {E['BP_CORES']} cores were busy {min(busy):.2f} to "
  f"{max(busy):.2f} cores on average (median {med(busy):.2f}; the collector, telemetrygen and "
  f"anything else running; from `/proc/stat`). The raw figures of every run are in `{os.path.basename(E['BP_OUT'])}`.")
w("")
lost = [f"{k[1]} round {k[0]}: accepted {r['accepted']}, delivered {r['items']}, failed/refused {r['failed']}"
        for k, r in sorted(runs.items()) if r["items"] != r["accepted"] or r["failed"]]

w("### Per collector (median of the rounds, then each round)")
w("")
w("| collector | items delivered per run | CPU-s per M items | marginal CPU-s per M items | peak RSS (MiB) | bytes stored per item |")
w("| --- | ---: | --- | --- | --- | --- |")
for v in VARIANTS:
    if not any((rd, v) in runs for rd in rounds):
        continue
    items = med([runs[(rd, v)]["items"] for rd in rounds])
    _, cpu = series(lambda rd: runs[(rd, v)]["cpu_per_m"])
    _, mcpu = series(lambda rd: marginal(rd, v)) if v in BASE else (None, "–")
    _, rss = series(lambda rd: runs[(rd, v)]["peak_rss_kib"] / 1024, 1)
    _, b = series(lambda rd: bpi(rd, v)) if v in BASE else (None, "–")
    w(f"| {NAMES[v]} | {items:,.0f} | {cpu} | {mcpu} | {rss} | {b} |")
w("")
s3cpu = [runs[(rd, 'ours/s3')]["s3_server_cpu_s"] / runs[(rd, 'ours/s3')]["items"] * 1e6
         for rd in rounds if (rd, "ours/s3") in runs]
if s3cpu:
    w(f"The S3 server (versitygw, a separate process) used another **{fmt(med(s3cpu))}** CPU-s per M items "
      f"({' '.join(fmt(x) for x in s3cpu)}) while `session_capture` wrote to it; it is not in the "
      "collector's figures above.")
    w("")

w("### Ratios to the peers (the target figure with its spread, then the median and each round)")
w("")
w("**Marginal CPU**, pooled: the exporter's marginal CPU-s per M items summed over the rounds, over "
  "the peer's, summed the same way (each round's own ratio divides by one noisy difference of two "
  "runs; pooled, the noise averages out before the division). **Peak RSS**: the median of the "
  "rounds' ratios. The spread says how far a figure may be off: the larger distance from it to the "
  "ends of the middle 90 % of the same figure over 2000 bootstrap resamples of the rounds.")
w("")
w("| exporter | against | marginal CPU per item, pooled | spread | median of the rounds (each round) | peak RSS | spread | bytes stored per item |")
w("| --- | --- | --- | --- | --- | --- | --- | --- |")
verdict = {}
pairs = [("ours/fs", "peer/file"), ("ours/s3", "peer/file"), ("ours/s3", "peer/s3")]
for v, peer in pairs:
    rds = [rd for rd in rounds if (rd, v) in runs and (rd, peer) in runs]
    if len(rds) != len(rounds):
        continue
    cp = pooled(v, peer, rds)
    cspr = bootstrap(rds, lambda rs: pooled(v, peer, rs)) if len(rds) > 1 else float("nan")
    c, cs = series(lambda rd: ratio(marginal(rd, v), marginal(rd, peer)))
    m, ms = series(lambda rd: ratio(runs[(rd, v)]["peak_rss_kib"], runs[(rd, peer)]["peak_rss_kib"]))
    b, bs = series(lambda rd: ratio(bpi(rd, v), bpi(rd, peer)))
    verdict[(v, peer)] = (cp, cspr, med(m), spread(m))
    w(f"| {NAMES[v].split(', ', 1)[1]} | {NAMES[peer].split(', ', 1)[1]} | **{fmt(cp)}** | {pct(cspr)} | {cs}, spread {pct(spread(c))} | {ms} | {pct(spread(m))} | {bs} |")
c, cs = series(lambda rd: ratio(runs[(rd, "ours/debug")]["cpu_per_m"], runs[(rd, "peer/debug")]["cpu_per_m"]))
m, ms = series(lambda rd: ratio(runs[(rd, "ours/debug")]["peak_rss_kib"], runs[(rd, "peer/debug")]["peak_rss_kib"]))
w("")
w(f"The two baselines (whole collector with `debug`, ours / the peer's): CPU-s per M items {cs} "
  f"(spread {pct(spread(c))}), peak RSS {ms}.")
w("")
status = sorted({runs[(rd, v)]["session_status"] for rd in rounds for v in ("ours/fs", "ours/s3") if (rd, v) in runs})
w(f"Sessions stored by `session_capture` after shutdown: {', '.join(s.replace('×', ' × ') for s in status)} (per run).")
if lost:
    w("Runs where delivered ≠ accepted, or items failed: " + "; ".join(lost) + ".")
else:
    w("Every run delivered exactly the items its receiver accepted; none failed or were refused.")
w("")


def verdict_line(v, peer, cpu_goal):
    if (v, peer) not in verdict:
        return ""
    cm, cspr, mm, mspr = verdict[(v, peer)]
    return (f"{NAMES[v].split(', ', 1)[1]} against {NAMES[peer].split(', ', 1)[1]}: marginal CPU "
            f"{fmt(cm)}× ({pct(cspr)}; goal ≤ {cpu_goal}) — **{'met' if cm <= cpu_goal else 'not met'}**; "
            f"peak RSS {fmt(mm)}× ({pct(mspr)}; goal ≤ 1.0) — **{'met' if mm <= 1.0 else 'not met'}**; "
            f"spreads under ±10 %: **{'yes' if max(cspr, mspr) < 0.10 else 'no'}**.")


lines = [verdict_line(v, peer, goal) for (v, peer), goal in zip(TARGETS, (0.8, 1.0))]
if any(lines):
    w("**Targets** (issue 21): pooled marginal CPU, median peak RSS:")
    w("")
    for line in lines:
        if line:
            w(f"- {line}")
    w("")

w("### Contrib peers the module proxy does not serve")
w("")
w("Contrib's `awss3receiver` (the peer of `session_replay` reading S3), `otlpjsonfilereceiver` and "
  "`filereceiver` (of `session_replay` reading files) have no rows here because the Go module proxy "
  "serves none of them at any recent version, so no distribution can be built with them on this "
  "machine (`awss3exporter` is served at v0.165.0, not v0.165.1: the peer has that). Asked by this run "
  "(`go list -m -versions MODULE` and `go mod download -json MODULE@v0.165.1`, through the "
  "environment's `GOPROXY`, the Go module proxy):")
w("")
for line in open(E["BP_UNSERVED"]):
    m, lst, dl = line.rstrip("\n").split("\t")
    # the proxy's answers quote its address: not written into the repository
    lst, dl = (re.sub(r"https?://\S+?(?=:|\s|$)", "(the Go module proxy)", x) for x in (lst, dl))
    w(f"- `{m}`: list → `{lst}`; v0.165.1 → `{dl}`")
w(END)

section = "\n".join(out)
print(section)
if E.get("BP_UPDATE", "1") != "0":
    path = E["BP_MD"]
    doc = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    with open(path, "w") as f:
        f.write(splice(doc, section))
    print(f"bench-peers: wrote the section into {path}", file=sys.stderr)
