"""Bearer tokens and roles (PROTOCOL.md §3.1) from the Python client against the real server with --auth-file."""
import hashlib
import json
import os
import signal
import subprocess
import time

import pytest

import modelwire
from modelwire import pb
from conftest import SERVER, dataset, train

TOKENS = {"predict": "py-predict-token", "train": "py-train-token", "admin": "py-admin-token"}


def write_auth_file(path, tokens):
    entries = [{"name": role, "role": role, "sha256": hashlib.sha256(token.encode()).hexdigest()}
               for role, token in tokens.items()]
    with open(path + ".tmp", "w") as f:
        json.dump({"tokens": entries}, f)
    os.replace(path + ".tmp", path)


@pytest.fixture
def auth_server(start_server, tmp_path):
    path = str(tmp_path / "auth.json")
    write_auth_file(path, TOKENS)
    server = start_server("--auth-file", path, token=TOKENS["admin"])
    server.auth_file = path
    return server


def test_each_role_calls_what_it_may(auth_server):
    iris = dataset("iris")
    with auth_server.client(bearer_token=TOKENS["train"]) as trainer:
        assert trainer.role == pb.ROLE_TRAIN
        train(trainer, "iris", iris, epochs=5)
        with pytest.raises(modelwire.PermissionDenied) as denied:
            trainer.delete_model("iris")
        assert str(denied.value) == ("PERMISSION_DENIED (7): DeleteModel needs role admin; "
                                     "this connection's token has role train")
        assert trainer.health().live  # the connection stays up
    with auth_server.client(bearer_token=TOKENS["predict"]) as app:
        assert app.role == pb.ROLE_PREDICT
        assert len(app.predict("iris", [iris.features.values[:4]]).class_ids) == 1
        with pytest.raises(modelwire.PermissionDenied):
            app.train("iris", iris, "logistic").wait()
    with auth_server.client(bearer_token=TOKENS["admin"]) as ops:
        assert ops.role == pb.ROLE_ADMIN
        ops.delete_model("iris")


def test_no_token_is_role_none_and_a_wrong_token_is_refused(auth_server):
    with auth_server.client(bearer_token=None) as anonymous:
        assert anonymous.role == pb.ROLE_NONE
        with pytest.raises(modelwire.Unauthenticated) as error:
            anonymous.health()
        assert "Health needs a token with role predict" in str(error.value)
    with pytest.raises(modelwire.Unauthenticated) as refused:
        auth_server.client(bearer_token="py-admin-tokem")
    assert str(refused.value) == "UNAUTHENTICATED (16): the bearer token is not valid"


def test_the_token_comes_from_MODELWIRE_TOKEN(auth_server, monkeypatch):
    monkeypatch.setenv("MODELWIRE_TOKEN", TOKENS["predict"])
    with auth_server.client() as client:
        assert client.role == pb.ROLE_PREDICT
        assert client.list_models() == []


def test_health_without_auth(start_server, tmp_path):
    path = str(tmp_path / "auth.json")
    write_auth_file(path, TOKENS)
    server = start_server("--auth-file", path, "--health-without-auth")  # readiness: Health without a token
    with server.client(bearer_token=None) as probe:
        assert probe.health().live
        with pytest.raises(modelwire.Unauthenticated):
            probe.list_models()


def test_a_revoked_token_gets_goaway_on_sighup(auth_server):
    kept = auth_server.client(bearer_token=TOKENS["predict"])
    revoked = modelwire.Connection(auth_server.host, auth_server.port, bearer_token=TOKENS["train"])
    write_auth_file(auth_server.auth_file, {"predict": TOKENS["predict"], "admin": TOKENS["admin"]})
    auth_server.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while revoked.goaway is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert revoked.goaway is not None and revoked.goaway.reason == "the connection's token was revoked"
    assert kept.list_models() == []  # same connection, still served
    with pytest.raises(modelwire.Unauthenticated):
        modelwire.Client(auth_server.host, auth_server.port, bearer_token=TOKENS["train"])
    kept.close()
    revoked.close()


def test_hash_token_matches_hashlib():
    run = subprocess.run([SERVER, "hash-token"], input="s3cret\n", capture_output=True, text=True, timeout=30)
    assert run.returncode == 0
    assert run.stdout.strip() == hashlib.sha256(b"s3cret").hexdigest()
