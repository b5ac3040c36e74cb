#!/usr/bin/env python3
"""tools/bench/tls.py: what TLS costs per predict, TLS against plaintext in one sitting.

Each round starts a plaintext server and a TLS server (one build, the reference net, a throw-away
PKI from tools/tls/make-test-certs), alternating which goes first, and drives each with the same
modelwire-load: rows 1 and 32, at c=1 (a fixed number of calls: p50 and the server's CPU time per
call) and at c=64 (throughput over a fixed duration). Prints a markdown table of the medians over
the rounds and the ratios TLS/plain.

Usage: tools/bench/tls.py [--bin .build/release] [--rounds 3] [--calls 20000] [--duration 5]
  --bin holds modelwire-server and modelwire-load (build them with
  `swift build -c release --product modelwire-server --product modelwire-load`).
"""
import argparse, json, os, statistics, subprocess, tempfile

from ab import start, stop  # this directory's A/B runner: start a server, read its address; stop it

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def measure(a, pki, tls):
    server_tls = ["--tls-cert", f"{pki}/server.pem", "--tls-key", f"{pki}/server.key"] if tls else []
    client_tls = ["--tls", "--ca", f"{pki}/ca.pem"] if tls else []
    load = os.path.join(a.bin, "modelwire-load")
    proc, address = start([os.path.join(a.bin, "modelwire-server"), "--port", "0", "--log-level", "error",
                           "--repository", tempfile.mkdtemp(prefix="mw-tls-"), *server_tls])
    try:
        subprocess.run([load, "--server", address, "--train-reference", "--calls", "10", "--concurrency", "1",
                        "--warmup", "0", *client_tls], check=True, capture_output=True)
        results = {}
        for rows in (1, 32):
            def step(extra):
                out = subprocess.run([load, "--server", address, "--rows", str(rows), "--compression", "off",
                                      "--connections", "1", "--cpu-pid", str(proc.pid), "--json", *client_tls, *extra],
                                     check=True, capture_output=True, text=True).stdout
                return json.loads(out)["steps"][0]
            one = step(["--concurrency", "1", "--calls", str(a.calls), "--warmup", "2"])
            many = step(["--concurrency", "64", "--duration", str(a.duration), "--warmup", "2"])
            results[f"rows {rows}: p50 c=1 (ms)"] = one["latency"]["p50Ms"]
            results[f"rows {rows}: server CPU per call c=1 (µs)"] = one["cpuSeconds"][f"pid {proc.pid}"] / one["calls"] * 1e6
            results[f"rows {rows}: calls/s c=64"] = many["throughput"]
            results[f"rows {rows}: server CPU per call c=64 (µs)"] = (
                many["cpuSeconds"][f"pid {proc.pid}"] / many["calls"] * 1e6)
        return results
    finally:
        stop(proc)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=os.path.join(ROOT, ".build", "release"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--duration", type=float, default=5)
    a = parser.parse_args()
    pki = tempfile.mkdtemp(prefix="mw-tls-pki-")
    subprocess.run([os.path.join(ROOT, "tools", "tls", "make-test-certs"), pki], check=True)
    runs = {False: [], True: []}
    for round_ in range(a.rounds):
        for tls in ((False, True) if round_ % 2 == 0 else (True, False)):
            runs[tls].append(measure(a, pki, tls))
            print(f"round {round_ + 1}: {'TLS' if tls else 'plain'} done", flush=True)
    print(f"\n| {a.rounds} rounds, medians | plain | TLS | TLS / plain |\n|---|---|---|---|")
    for key in runs[False][0]:
        plain = statistics.median(r[key] for r in runs[False])
        tls = statistics.median(r[key] for r in runs[True])
        print(f"| {key} | {plain:.3f} | {tls:.3f} | {tls / plain:.2f}× |")


if __name__ == "__main__":
    main()
