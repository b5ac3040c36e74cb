"""tools/bench orchestrator: runs the same predict workload on Modelwire and its peers, one
system at a time, and prints a markdown table with ratios Modelwire/peer. Started by tools/bench/run,
which builds everything first; see docs/performance.md for what each column means."""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FRAME_HEADER = 20  # Modelwire's frame header; the echo ceiling moves the same bytes per call.


def load1():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def wait_for_quiet(limit, patience):
    """Waits up to `patience` seconds for the 1-minute load to drop below `limit`; returns the load."""
    deadline = time.time() + patience
    load = load1()
    while load > limit and time.time() < deadline:
        time.sleep(2)
        load = load1()
    return load


def cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return 0.0
    fields = text[text.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu(root):
    """CPU seconds of a process and all its descendants (gunicorn's master and workers)."""
    children = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    text = f.read()
                ppid = int(text[text.rindex(")") + 2:].split()[1])
                children.setdefault(ppid, []).append(int(name))
            except (OSError, ValueError):
                pass
    total, stack = 0.0, [root]
    while stack:
        pid = stack.pop()
        total += cpu_seconds(pid)
        stack.extend(children.get(pid, []))
    return total


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listening on port {port}")


class Server:
    """A server process; `address` comes from its first stdout line ('... listening on HOST:PORT')
    or from a port chosen beforehand."""

    def __init__(self, name, argv, cwd=None, port=None, env=None):
        self.name = name
        self.proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE if port is None else subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, env=env, start_new_session=True, text=True)
        if port is None:
            line = self.proc.stdout.readline()
            if "listening on" not in line:
                raise RuntimeError(f"{name} did not start: {line!r}")
            self.address = line.split()[-1]
        else:
            wait_for_port(port)
            self.address = f"127.0.0.1:{port}"
        self.pid = self.proc.pid

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def run_json(argv, env=None):
    out = subprocess.run(argv, check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout)


def modelwire_case(a, server, rows, c, compression, api):
    doc = run_json([a.modelwire_load, "--server", server.address, "--rows", str(rows), "--concurrency", str(c),
                    "--compression", compression, "--api", api, "--connections", str(CONNECTIONS),
                    "--warmup", str(a.warmup), "--duration", str(a.duration), "--cpu-pid", str(server.pid), "--json"])
    step, conf = doc["steps"][0], doc["configuration"]
    return dict(throughput=step["throughput"], p50=step["latency"]["p50Ms"], p99=step["latency"]["p99Ms"],
                calls=step["calls"], errors=sum(step["errors"].values()),
                cpu_server=step["cpuSeconds"].get(f"pid {server.pid}", 0), cpu_client=step["cpuSeconds"].get("self", 0),
                request_bytes=int(conf["requestBytes"]), response_bytes=int(conf["responseBytes"]), server_timings=step.get("server"))


def simple_case(argv):
    r = run_json(argv)
    return dict(throughput=r["throughput"], p50=r["p50Ms"], p99=r["p99Ms"], calls=r["calls"], errors=r.get("errors", 0),
                cpu_server=r["cpuOther"], cpu_client=r["cpuSelf"])


def wrk_case(a, server, rows, c, body_file, tree=False):
    url = f"http://{server.address}/predict"
    env = dict(os.environ, BENCH_BODY_FILE=body_file)
    script = os.path.join(HERE, "python", "wrk_post.lua")
    subprocess.run(["wrk", "-t1", f"-c{c}", f"-d{max(1, int(a.warmup))}s", "-s", script, url], check=True,
                   capture_output=True, env=env)
    before = tree_cpu(server.pid) if tree else cpu_seconds(server.pid)
    proc = subprocess.Popen(["wrk", "-t1", f"-c{c}", f"-d{int(a.duration)}s", "--latency", "-s", script, url],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    out = proc.stdout.read()
    after = tree_cpu(server.pid) if tree else cpu_seconds(server.pid)
    result = dict(cpu_server=after - before, cpu_client=usage.ru_utime + usage.ru_stime, errors=0)
    for line in out.splitlines():
        parts = line.split()
        if line.startswith("Requests/sec:"):
            result["throughput"] = float(parts[1])
        elif len(parts) == 2 and parts[0] in ("50%", "99%"):
            result["p50" if parts[0] == "50%" else "p99"] = ms(parts[1])
        elif "requests in" in line:
            result["calls"] = int(parts[0])
        elif line.strip().startswith("Non-2xx") or line.strip().startswith("Socket errors"):
            result["errors"] += sum(int(x.rstrip(",")) for x in parts if x.rstrip(",").isdigit())
    return result


def ms(text):
    for unit, factor in (("us", 1e-3), ("ms", 1.0), ("s", 1e3)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    return float(text)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--modelwire-server", required=True)
    p.add_argument("--modelwire-load", required=True)
    p.add_argument("--grpc-server", required=True)
    p.add_argument("--grpc-load", required=True)
    p.add_argument("--echo-server", required=True)
    p.add_argument("--echo-load", required=True)
    p.add_argument("--nio-echo-server", required=True)
    p.add_argument("--nio-echo-load", required=True)
    p.add_argument("--python", required=True)
    p.add_argument("--grpc-python-gen", required=True)
    p.add_argument("--systems", default="modelwire,modelwire-async,modelwire-zlib,echo,echo-nio,grpc-swift,grpc-python,flask,gunicorn")
    p.add_argument("--rows", default="1,32")
    p.add_argument("--concurrency", default="1,16,64")
    p.add_argument("--warmup", type=float, default=3)
    p.add_argument("--duration", type=float, default=10)
    p.add_argument("--load-limit", type=float, default=1.0, help="wait for the 1-minute load to drop below this")
    p.add_argument("--load-patience", type=float, default=30, help="seconds to wait for it")
    p.add_argument("--json", help="write every result here")
    p.add_argument("--previous", help="results of an earlier run (its --json) to merge into the table, e.g. other systems")
    a = p.parse_args()
    systems = a.systems.split(",")
    rows_list = [int(x) for x in a.rows.split(",")]
    conc_list = [int(x) for x in a.concurrency.split(",")]
    results = {}  # (system, rows, c) -> dict
    sizes = {}
    shown = list(systems)
    if a.previous:
        with open(a.previous) as f:
            previous = json.load(f)
        for key, value in previous.get("results", {}).items():
            s, r, c = key.split("/")
            results[(s, int(r), int(c))] = value
        sizes = {int(k): tuple(v) for k, v in previous.get("sizes", {}).items()}
        shown = list(dict.fromkeys(systems + previous.get("systems", [])))  # the report shows both; only `systems` run
    py = os.path.join(HERE, "python")
    work = tempfile.mkdtemp(prefix="modelwire-bench-")

    def case(system, rows, c, fn):
        load = wait_for_quiet(a.load_limit, a.load_patience)
        try:
            r = fn()
        except Exception as e:  # a failed case is a row with its error, not a failed run
            r = dict(error=str(e)[:200])
        r["load"] = load
        results[(system, rows, c)] = r
        summary = {k: round(v, 4) if isinstance(v, float) else v for k, v in r.items() if k != "server_timings"}
        print(f"bench: {system} rows={rows} c={c}: {summary}", file=sys.stderr, flush=True)

    if any(system in systems for system, _, _ in MODELWIRE_VARIANTS) or "echo" in systems or "echo-nio" in systems:
        server = Server("modelwire", [a.modelwire_server, "--port", "0", "--repository", os.path.join(work, "repo"),
                                      "--log-level", "error"])
        try:
            subprocess.run([a.modelwire_load, "--server", server.address, "--train-reference", "--calls", "10",
                            "--concurrency", "1", "--warmup", "0"], check=True, capture_output=True)
            for rows in rows_list:
                # One short call just for the sizes (the echo ceiling needs them even without the Modelwire rows).
                doc = run_json([a.modelwire_load, "--server", server.address, "--rows", str(rows), "--calls", "1",
                                "--concurrency", "1", "--warmup", "0", "--json"])
                sizes[rows] = (int(doc["configuration"]["requestBytes"]), int(doc["configuration"]["responseBytes"]))
                for c in conc_list:
                    for system, compression, api in MODELWIRE_VARIANTS:
                        if system in systems:
                            case(system, rows, c, lambda: modelwire_case(a, server, rows, c, compression, api))
        finally:
            server.stop()

    for system in ("echo", "echo-nio"):
        if system not in systems:
            continue
        for rows in rows_list:
            request_bytes, response_bytes = sizes[rows]
            echo_server = a.echo_server if system == "echo" else a.nio_echo_server
            server = Server(system, [echo_server, "0", str(response_bytes + FRAME_HEADER)])
            try:
                for c in conc_list:
                    if system == "echo":
                        argv = [a.echo_load, server.address, str(request_bytes + FRAME_HEADER), str(c), str(CONNECTIONS),
                                str(a.warmup), str(a.duration), str(server.pid)]
                    else:  # one connection, like CONNECTIONS
                        argv = [a.nio_echo_load, server.address, str(request_bytes + FRAME_HEADER), str(c),
                                str(a.warmup), str(a.duration), str(server.pid)]
                    case(system, rows, c, lambda: simple_case(argv))
            finally:
                server.stop()

    for system, argv in (("grpc-swift", [a.grpc_server, "--port", "0"]),
                         ("grpc-python", [a.python, os.path.join(py, "grpc_server.py"), a.grpc_python_gen, "0"])):
        if system not in systems:
            continue
        server = Server(system, argv, cwd=py)
        try:
            for rows in rows_list:
                for c in conc_list:
                    case(system, rows, c, lambda: simple_case(
                        [a.grpc_load, "--server", server.address, "--rows", str(rows), "--concurrency", str(c),
                         "--warmup", str(a.warmup), "--duration", str(a.duration), "--cpu-pid", str(server.pid)]))
        finally:
            server.stop()

    bodies = {}
    for rows in rows_list:
        path = os.path.join(work, f"body-{rows}.json")
        import random
        rng = random.Random(rows)
        with open(path, "w") as f:
            json.dump({"instances": [[round(rng.gauss(0, 1), 6) for _ in range(100)] for _ in range(rows)]}, f)
        bodies[rows] = path
    gunicorn = os.path.join(os.path.dirname(a.python), "gunicorn")
    for system in ("flask", "gunicorn"):
        if system not in systems:
            continue
        port = free_port()
        argv = ([a.python, "flask_app.py", str(port)] if system == "flask"
                else [gunicorn, "-w", "2", "-b", f"127.0.0.1:{port}", "--log-level", "error", "flask_app:app"])
        server = Server(system, argv, cwd=py, port=port)
        try:
            for rows in rows_list:
                for c in conc_list:
                    case(system, rows, c, lambda: wrk_case(a, server, rows, c, bodies[rows], tree=system == "gunicorn"))
        finally:
            server.stop()

    order = [s for s in NAMES if s in shown]
    print(report(results, order, rows_list, conc_list, sizes, a))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"systems": order, "sizes": sizes,
                       "results": {f"{s}/{r}/{c}": v for (s, r, c), v in results.items()}}, f, indent=1, default=str)


# (system, modelwire-load --compression, --api)
MODELWIRE_VARIANTS = (("modelwire", "off", "event-loop"), ("modelwire-async", "off", "async"),
                      ("modelwire-zlib", "on", "event-loop"))
# Connections of the Modelwire and echo load generators (gRPC-Swift's client uses one HTTP/2 connection too).
CONNECTIONS = 1

NAMES = {"modelwire": "Modelwire", "modelwire-async": "Modelwire, async API", "modelwire-zlib": "Modelwire, zlib on (client default)",
         "echo": "echo ceiling (C)", "echo-nio": "echo, SwiftNIO both ends", "grpc-swift": "gRPC-Swift 2",
         "grpc-python": "grpcio (Python)", "flask": "Flask app.run", "gunicorn": "Flask + gunicorn -w 2"}


def report(results, systems, rows_list, conc_list, sizes, a):
    lines = [f"Each case: {a.warmup:g} s warm-up, then {a.duration:g} s measured; closed loop. "
             "CPU = seconds of CPU over the measured window (server / load generator). "
             "Ratios are Modelwire/peer: throughput ×(higher is better), p50 and p99 ×(lower is better). "
             "Modelwire = release build, default server, modelwire-load with one connection, compression off, "
             "--api event-loop (ModelwireClient.predictOnEventLoop; 'async API' rows: the async predict from Swift tasks); "
             "echo = the same byte sizes, one connection; "
             "gRPC-Swift 2 = release build, default configuration (one HTTP/2 connection); "
             "all load generators are closed loops (wrk for Flask).", ""]
    lines.append("| system | rows | c | calls/s | p50 ms | p99 ms | CPU srv/load s | load | MW/peer calls/s | MW/peer p50 | MW/peer p99 |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for rows in rows_list:
        for c in conc_list:
            mw = results.get(("modelwire", rows, c), {})
            for s in systems:
                r = results.get((s, rows, c))
                if r is None:
                    continue
                if "error" in r:
                    lines.append(f"| {NAMES[s]} | {rows} | {c} | failed: {r['error'][:80]} | | | | {r['load']:.2f} | | | |")
                    continue
                ratio = lambda key: (f"{mw[key] / r[key]:.2f}" if s != "modelwire" and key in mw and r.get(key) else "")
                errors = f" ({r['errors']} errors)" if r.get("errors") else ""
                lines.append(f"| {NAMES[s]} | {rows} | {c} | {r['throughput']:.0f}{errors} | {r['p50']:.3f} | {r['p99']:.3f} | "
                             f"{r['cpu_server']:.1f}/{r['cpu_client']:.1f} | {r['load']:.2f} | {ratio('throughput')} | "
                             f"{ratio('p50')} | {ratio('p99')} |")
    lines += ["", "Goals (issue 5):", ""]
    g = lambda s, r, c, k: results.get((s, r, c), {}).get(k)

    def goal(text, value, want, higher=True):
        if value is None:
            lines.append(f"- {text}: not measured")
        else:
            ok = value >= want if higher else value <= want
            lines.append(f"- {text}: {value:.2f} ({'met' if ok else 'MISSED'}, goal {'≥' if higher else '≤'} {want:g})")

    def ratio(s1, s2, r, c, k):
        x, y = g(s1, r, c, k), g(s2, r, c, k)
        return x / y if x and y else None

    goal("rows 1, c=64: Modelwire / echo throughput", ratio("modelwire", "echo", 1, 64, "throughput"), 0.4)
    goal("rows 1, c=64: Modelwire / gRPC-Swift throughput", ratio("modelwire", "grpc-swift", 1, 64, "throughput"), 10)
    goal("rows 1, c=64: Modelwire / gRPC-Swift p99", ratio("modelwire", "grpc-swift", 1, 64, "p99"), 0.1, higher=False)
    goal("rows 1, c=1: Modelwire / echo p50", ratio("modelwire", "echo", 1, 1, "p50"), 2, higher=False)
    goal("rows 1, c=1: Modelwire / gRPC-Swift p50", ratio("modelwire", "grpc-swift", 1, 1, "p50"), 0.25, higher=False)
    goal("rows 32, c=64: Modelwire / gRPC-Swift throughput", ratio("modelwire", "grpc-swift", 32, 64, "throughput"), 10)
    goal("rows 1, c=64: Modelwire / Flask app.run throughput", ratio("modelwire", "flask", 1, 64, "throughput"), 50)
    goal("rows 1, c=64: Modelwire / gunicorn throughput", ratio("modelwire", "gunicorn", 1, 64, "throughput"), 15)
    goal("rows 1, c=1: Modelwire / gunicorn p50", ratio("modelwire", "gunicorn", 1, 1, "p50"), 0.5, higher=False)
    lines += ["", "For reference (no goal): where the time over the C echo goes.", ""]
    for text, s1, s2, r, c, k in (("rows 1, c=1: SwiftNIO echo / C echo p50", "echo-nio", "echo", 1, 1, "p50"),
                                  ("rows 1, c=1: Modelwire / SwiftNIO echo p50", "modelwire", "echo-nio", 1, 1, "p50"),
                                  ("rows 1, c=64: Modelwire / SwiftNIO echo throughput", "modelwire", "echo-nio", 1, 64, "throughput"),
                                  ("rows 1, c=64: Modelwire async API / event-loop API throughput", "modelwire-async", "modelwire", 1, 64, "throughput")):
        value = ratio(s1, s2, r, c, k)
        lines.append(f"- {text}: {value:.2f}" if value is not None else f"- {text}: not measured")
    if sizes:
        lines += ["", "Bytes per call (protobuf payload + 20-byte frame header; the echo moves the same): "
                  + ", ".join(f"rows {r}: request {q + FRAME_HEADER}, response {s + FRAME_HEADER}" for r, (q, s) in sizes.items())]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
