#!/usr/bin/env python3
"""tools/bench/callgrind.py: server instructions per rows-1 predict, one build under two settings,
counted by valgrind's callgrind (exact counts: a busy machine cannot move them).

The reference net is trained once, without valgrind, into a repository both settings share. Then,
for each setting, the server runs under callgrind twice on that repository, serving N and then
N + CALLS rows-1 predicts from one modelwire-load connection at c=1; the difference of the two
runs' instruction totals, divided by CALLS, is the cost of one predict with start-up, loading and
shutdown cancelled out.

Usage: tools/bench/callgrind.py --bin BIN_DIR [--a-args ARGS] [--b-args ARGS] [--token T]
                                [--calls 10000] [--base 1000]
  BIN_DIR holds modelwire-server and modelwire-load (release). `--b-args '--auth-file FILE'
  --token T` measures authentication on (B) against off (A); the token is sent by both sides.

Debian 12's valgrind 3.19 needs two workarounds, both applied here: the server runs from a
stripped copy (valgrind cannot read Swift 6.3's DWARF 5), and with valgrind-sigsuspend.c
preloaded (valgrind dies in libdispatch's sigsuspend otherwise; the file says why).
"""
import argparse, os, re, shlex, shutil, subprocess, tempfile

from ab import start, stop  # this directory's A/B runner: start a server, read its address; stop it


def prepare(work, a):
    """A stripped copy of the server and the sigsuspend shim, in `work`: (server, shim)."""
    server = os.path.join(work, "modelwire-server")
    subprocess.run(["strip", "--strip-debug", "-o", server, os.path.join(a.bin, "modelwire-server")], check=True)
    shim = os.path.join(work, "libsigsuspend.so")
    here = os.path.dirname(os.path.abspath(__file__))
    subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", shim, os.path.join(here, "valgrind-sigsuspend.c")],
                   check=True)
    return server, shim


def instructions(a, server, shim, repository, server_args, calls):
    out = tempfile.mktemp(prefix="callgrind-", suffix=".out")
    os.environ["LD_PRELOAD"] = shim  # inherited by valgrind and the server it runs; unset after the start
    try:
        proc, address = start(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--log-file=/dev/null",
                               server, "--port", "0", "--repository", repository,
                               "--event-loop-threads", "1", "--memory-return-interval-ms", "0", "--log-level",
                               "error", *shlex.split(server_args or "")])
    finally:
        del os.environ["LD_PRELOAD"]
    try:
        subprocess.run([os.path.join(a.bin, "modelwire-load"), "--server", address, "--model", "reference",
                        "--rows", "1", "--compression", "off", "--connections", "1", "--concurrency", "1",
                        "--calls", str(calls), "--warmup", "0", "--timeout", "60", *token(a)],
                       check=True, capture_output=True)
    finally:
        stop(proc)
    with open(out) as f:
        text = f.read()
    totals = re.search(r"^totals:\s+(\d+)", text, re.M) or re.search(r"^summary:\s+(\d+)", text, re.M)
    os.remove(out)
    return int(totals.group(1))


def token(a):
    return ["--token", a.token] if a.token else []


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", required=True)
    p.add_argument("--a-args", help="extra modelwire-server arguments of A")
    p.add_argument("--b-args", help="extra modelwire-server arguments of B")
    p.add_argument("--token", help="bearer token for modelwire-load (both sides)")
    p.add_argument("--calls", type=int, default=10000)
    p.add_argument("--base", type=int, default=1000)
    a = p.parse_args()
    repository = tempfile.mkdtemp(prefix="mw-callgrind-")
    proc, address = start([os.path.join(a.bin, "modelwire-server"), "--port", "0", "--repository", repository,
                           "--log-level", "error", *shlex.split(a.b_args or "")])
    try:
        subprocess.run([os.path.join(a.bin, "modelwire-load"), "--server", address, "--train-reference",
                        "--calls", "1", "--concurrency", "1", "--warmup", "0", *token(a)], check=True, capture_output=True)
    finally:
        stop(proc)
    work = tempfile.mkdtemp(prefix="mw-callgrind-bin-")
    server, shim = prepare(work, a)
    per_call = {}
    for name, args in (("A", a.a_args), ("B", a.b_args)):
        low = instructions(a, server, shim, repository, args, a.base)
        high = instructions(a, server, shim, repository, args, a.base + a.calls)
        per_call[name] = (high - low) / a.calls
        print(f"{name} ({args or 'no extra arguments'}): {low} and {high} instructions; "
              f"{per_call[name]:.0f} per predict", flush=True)
    shutil.rmtree(work)
    print(f"\n| server instructions per rows-1 predict ({a.calls} calls) | A | B | B/A |\n|---|---:|---:|---:|")
    print(f"| callgrind | {per_call['A']:.0f} | {per_call['B']:.0f} | {per_call['B'] / per_call['A']:.4f} |")


if __name__ == "__main__":
    main()
