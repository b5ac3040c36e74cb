"""The C client (tools/clients/c) against the real server: handshake, a compressed predict, a failing call.

tools/clients/run-tests builds it and sets MODELWIRE_C_CLIENT; without that variable the test
uses tools/clients/c/build/modelwire-c when it exists and is skipped otherwise.
"""
import os
import subprocess

import pytest

from conftest import REPO, dataset, train

C_CLIENT = os.environ.get("MODELWIRE_C_CLIENT") or os.path.join(REPO, "tools", "clients", "c", "build", "modelwire-c")


def test_c_client_predicts_with_a_compressed_request_and_reports_a_failing_call(server, client):
    if not os.access(C_CLIENT, os.X_OK):
        if os.environ.get("MODELWIRE_C_CLIENT"):
            pytest.fail(f"MODELWIRE_C_CLIENT={C_CLIENT} is not executable")
        pytest.skip("the C client is not built (make -C tools/clients/c)")
    iris = dataset("iris")
    train(client, "iris", iris, epochs=20)
    values = [repr(v) for v in iris.features.values[:8]]  # rows 0 and 1
    expected = list(client.predict("iris", [iris.features.values[:4], iris.features.values[4:8]]).class_ids)
    run = subprocess.run([C_CLIENT, server.host, str(server.port), "iris", "4", *values],
                         capture_output=True, text=True, timeout=30)
    print(run.stdout, run.stderr)
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert "handshake: modelwire-server" in out
    assert "sent compressed" in out
    assert "predict: model iris version 1, 2 rows" in out
    for r, class_id in enumerate(expected):
        assert f"row {r}: class {class_id} ({iris.class_names[class_id]})" in out
    assert "failing call: status 5 NOT_FOUND:" in out
    assert out.rstrip().endswith("ok")


def test_c_client_fails_when_the_model_is_missing(server):
    if not os.access(C_CLIENT, os.X_OK):
        pytest.skip("the C client is not built")
    run = subprocess.run([C_CLIENT, server.host, str(server.port), "iris", "4", "1", "2", "3", "4"],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 1
    assert "predict: status 5 NOT_FOUND" in run.stdout


def test_c_client_inflates_a_compressed_response(server, client):
    if not os.access(C_CLIENT, os.X_OK):
        pytest.skip("the C client is not built")
    from modelwire import pb
    iris = dataset("iris")
    # A shallow tree's probabilities are its leaves' class frequencies, mostly exactly 0 and 1: the
    # server compresses such scores (random-looking ones it sends plain, as zlib would barely shrink them).
    client.train("iris", iris, pb.ModelSpec(tree=pb.DecisionTreeSpec(max_depth=2))).wait()
    expected = list(client.predict("iris", iris.features).class_ids)
    run = subprocess.run([C_CLIENT, server.host, str(server.port), "iris", "4", *map(repr, iris.features.values)],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "150 rows (response was compressed)" in run.stdout  # 150 x 3 scores: past the 1024-byte threshold
    for r in (0, 75, 149):
        assert f"row {r}: class {expected[r]} " in run.stdout


def test_c_client_prints_regression_values(server, client):
    if not os.access(C_CLIENT, os.X_OK):
        pytest.skip("the C client is not built")
    import modelwire
    from modelwire import pb
    v = list(dataset("iris").features.values)
    features = [v[i:i + 3] for i in range(0, len(v), 4)]
    targets = [v[i + 3] for i in range(0, len(v), 4)]
    spec = pb.ModelSpec(task=pb.TASK_REGRESSION, tree=pb.DecisionTreeSpec(max_depth=3, criterion=pb.TREE_CRITERION_MSE))
    client.train("petal", modelwire.dataset(features, targets=targets), spec).wait()
    expected = client.predict("petal", features[:2]).values
    run = subprocess.run([C_CLIENT, server.host, str(server.port), "petal", "3", *map(repr, features[0] + features[1])],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "predict: model petal version 1, 2 rows" in run.stdout
    assert f"row 1: value {expected[1]:g}" in run.stdout


def test_c_client_sends_MODELWIRE_TOKEN(start_server, tmp_path):
    if not os.access(C_CLIENT, os.X_OK):
        pytest.skip("the C client is not built")
    from test_auth import TOKENS, write_auth_file
    path = str(tmp_path / "auth.json")
    write_auth_file(path, TOKENS)
    server = start_server("--auth-file", path, token=TOKENS["admin"])
    iris = dataset("iris")
    with server.client(bearer_token=TOKENS["train"]) as trainer:
        train(trainer, "iris", iris, epochs=5)
    argv = [C_CLIENT, server.host, str(server.port), "iris", "4", *map(repr, iris.features.values[:4])]
    env = {k: v for k, v in os.environ.items() if k != "MODELWIRE_TOKEN"}
    refused = subprocess.run(argv, capture_output=True, text=True, timeout=30, env=env)
    assert refused.returncode == 1
    assert "status 16 UNAUTHENTICATED" in refused.stdout + refused.stderr
    served = subprocess.run(argv, capture_output=True, text=True, timeout=30,
                            env={**env, "MODELWIRE_TOKEN": TOKENS["predict"]})
    assert "predict: model iris version 1, 1 rows" in served.stdout, served.stdout + served.stderr
