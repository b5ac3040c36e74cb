"""The scale-out run's short version (tools/scale-test --quick): three real replicas on one repository,
real nginx (stream) in front, real Prometheus scraping them; kill -9 under load through nginx and under the
client's own balancing. The script does the checks; this test runs it bounded in time and reports them."""
import json
import os
import subprocess
import sys

from conftest import REPO, SERVER


def test_scale_out_quick(tmp_path):
    results = tmp_path / "scale.json"
    run = subprocess.run([sys.executable, os.path.join(REPO, "tools", "scale-test"), "--quick", "--bin-dir",
                          os.path.dirname(SERVER), "--json", str(results)],
                         capture_output=True, text=True, timeout=240)
    print(run.stderr)
    assert results.exists(), f"tools/scale-test wrote no results (exit {run.returncode}): {run.stderr[-2000:]}"
    summary = json.loads(results.read_text())
    failed = [c for c in summary["checks"] if not c["ok"]]
    assert run.returncode == 0 and not failed, failed or run.stderr[-2000:]
    assert len(summary["checks"]) == 7  # every check ran (a setup failure stops early)
