#!/usr/bin/env python3
"""tools/bench/ab.py: two builds of modelwire-server side by side in one sitting, alternating
(A B A B ...) so that a busy machine's drift hits both alike. Each round and build: a fresh
server with the reference net, then rows 1 at c=1 (a fixed number of calls: p50 and the
server's CPU time per call) and at c=64 (throughput), driven by the same modelwire-load; and,
when given, the SwiftNIO echo at c=1 (the floor a Modelwire call is compared with).

Usage: tools/bench/ab.py --a BIN_DIR --b BIN_DIR --load LOAD_BIN [--nio-echo DIR] [--rounds 3]
                         [--a-args ARGS] [--b-args ARGS]
  BIN_DIR holds modelwire-server; LOAD_BIN is one modelwire-load for both; DIR holds
  nio-echo-server and nio-echo-load (tools/bench/nio-echo, release). Prints a markdown table of
  medians over the rounds and the ratios B/A.
  --a-args / --b-args: extra server arguments of one side (one shell-quoted string), so that one
  build can be compared with itself under two settings. `--b-args '--auth-file FILE'` with
  `--token T` (T an admin token of FILE, given to every modelwire-load run of both sides; a
  server without --auth-file ignores it) measures authentication on (B) against off (A).
"""
import argparse, json, os, shlex, signal, statistics, subprocess, tempfile

HEADER = 20  # frame header bytes (PROTOCOL.md §2)


def start(argv):
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    line = proc.stdout.readline()
    if "listening on" not in line:
        raise RuntimeError(f"{argv[0]} did not start: {line!r}")
    return proc, line.split()[-1]


def stop(proc):
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)


def load(a, address, pid, extra):
    out = subprocess.run([a.load, "--server", address, "--rows", "1", "--compression", "off", "--connections", "1",
                          "--cpu-pid", str(pid), "--json", *token_args(a), *extra], check=True, capture_output=True, text=True).stdout
    return json.loads(out)["steps"][0]


def token_args(a):
    return ["--token", a.token] if a.token else []


def modelwire(a, bin_dir, server_args):
    repository = tempfile.mkdtemp(prefix="mw-ab-")
    proc, address = start([os.path.join(bin_dir, "modelwire-server"), "--port", "0", "--repository", repository,
                           "--log-level", "error", *shlex.split(server_args or "")])
    try:
        subprocess.run([a.load, "--server", address, "--train-reference", "--calls", "10", "--concurrency", "1",
                        "--warmup", "0", *token_args(a)], check=True, capture_output=True)
        one = load(a, address, proc.pid, ["--concurrency", "1", "--calls", str(a.calls), "--warmup", "1"])
        many = load(a, address, proc.pid, ["--concurrency", "64", "--duration", str(a.duration), "--warmup", "1"])
        return {"p50 c=1 (ms)": one["latency"]["p50Ms"],
                "server CPU per call c=1 (µs)": one["cpuSeconds"][f"pid {proc.pid}"] / one["calls"] * 1e6,
                "calls/s c=64": many["throughput"],
                "server CPU per call c=64 (µs)": many["cpuSeconds"][f"pid {proc.pid}"] / many["calls"] * 1e6}
    finally:
        stop(proc)


def nio_echo(a, request_bytes, response_bytes):
    proc, address = start([os.path.join(a.nio_echo, "nio-echo-server"), "0", str(response_bytes + HEADER)])
    try:
        out = subprocess.run([os.path.join(a.nio_echo, "nio-echo-load"), address, str(request_bytes + HEADER), "1", "1",
                              str(a.duration), str(proc.pid)], check=True, capture_output=True, text=True).stdout
        return {"p50 c=1 (ms)": json.loads(out)["p50Ms"]}
    finally:
        stop(proc)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--a", required=True)
    p.add_argument("--b", required=True)
    p.add_argument("--load", required=True)
    p.add_argument("--nio-echo")
    p.add_argument("--a-args", help="extra modelwire-server arguments of A")
    p.add_argument("--b-args", help="extra modelwire-server arguments of B")
    p.add_argument("--token", help="bearer token for modelwire-load (both sides)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--calls", type=int, default=30000)
    p.add_argument("--duration", type=float, default=5)
    a = p.parse_args()
    results = {"A": [], "B": [], "echo": []}
    for round in range(a.rounds):
        for name, bin_dir, server_args in (("A", a.a, a.a_args), ("B", a.b, a.b_args)):
            results[name].append(modelwire(a, bin_dir, server_args))
            print(f"round {round + 1} {name}: {results[name][-1]}", flush=True)
        if a.nio_echo:
            results["echo"].append(nio_echo(a, 421, 106))  # the reference net's rows-1 request and response sizes
            print(f"round {round + 1} SwiftNIO echo: {results['echo'][-1]}", flush=True)
    print(f"\n| metric (median of {a.rounds} rounds) | A | B | B/A |")
    print("|---|---:|---:|---:|")
    for key in results["A"][0]:
        ma = statistics.median(r[key] for r in results["A"])
        mb = statistics.median(r[key] for r in results["B"])
        print(f"| {key} | {ma:.3f} | {mb:.3f} | {mb / ma:.3f} |")
    if results["echo"]:
        echo = statistics.median(r["p50 c=1 (ms)"] for r in results["echo"])
        for name in ("A", "B"):
            mine = statistics.median(r["p50 c=1 (ms)"] for r in results[name])
            print(f"| p50 c=1 {name} / SwiftNIO echo ({echo:.3f} ms) | | | {mine / echo:.2f} |")


if __name__ == "__main__":
    main()
