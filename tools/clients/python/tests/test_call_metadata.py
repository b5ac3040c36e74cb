"""CallMetadata (PROTOCOL.md §4.1) from the Python client: the server logs the caller's W3C trace id."""
import json
import os
import subprocess

import modelwire
from conftest import SERVER

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_call_metadata_reaches_the_servers_call_log(tmp_path):
    log = open(tmp_path / "server.log", "w")
    process = subprocess.Popen([SERVER, "--port", "0", "--repository", str(tmp_path / "repo"), "--log-format", "json",
                                "--log-level", "debug"], stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL)
    try:
        host, port = process.stdout.readline().decode().split()[-1].rsplit(":", 1)
        with modelwire.Client(host, int(port)) as client:
            with modelwire.call_metadata(traceparent=TRACEPARENT):
                assert client.health().live
            client.list_models()  # outside the block: no trace
    finally:
        process.terminate()
        process.wait(15)
        process.stdout.close()
        log.close()
    calls = [json.loads(line) for line in open(tmp_path / "server.log") if '"message":"call"' in line]
    by_method = {c["modelwire.method"]: c for c in calls}
    assert by_method["Health"]["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    assert by_method["Health"]["modelwire.parent_span_id"] == "b7ad6b7169203331"
    assert "trace_id" not in by_method["ListModels"]
