#!/usr/bin/env python3
"""Runs a command and writes the CPU-seconds (user + system) of that process alone, from
os.wait4, to a file; forwards SIGTERM and SIGINT to it (so scripts/run-until.sh can stop a
collector through it) and exits with its status.

  python3 scripts/cpu-of.py OUT_FILE COMMAND [ARG...]
"""
import os
import signal
import subprocess
import sys

out, cmd = sys.argv[1], sys.argv[2:]
child = subprocess.Popen(cmd)
for sig in (signal.SIGTERM, signal.SIGINT):
    signal.signal(sig, lambda s, _f: child.send_signal(s))
while True:
    try:
        _, status, usage = os.wait4(child.pid, 0)
        break
    except InterruptedError:
        continue
with open(out, "w") as f:
    f.write(f"{usage.ru_utime + usage.ru_stime:.3f}\n")
sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
