"""Starts the real modelwire-server (port 0, temporary repository) for the tests.

The binary: $MODELWIRE_SERVER_BIN, else <repo>/.build/debug/modelwire-server (what tools/test builds).
"""
import os
import signal
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # the package from the source tree (generates its code on import)

import modelwire  # noqa: E402
from modelwire import pb  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
DATA = os.path.join(REPO, "data")
PROTO = os.path.join(REPO, "proto")
SERVER = os.environ.get("MODELWIRE_SERVER_BIN") or os.path.join(REPO, ".build", "debug", "modelwire-server")


class ServerProcess:
    """A modelwire-server process; `host`/`port` from the first stdout line."""

    def __init__(self, repository, *args, token=None, tls=None):
        if not os.access(SERVER, os.X_OK):
            pytest.fail(f"no modelwire-server at {SERVER}: build it or set MODELWIRE_SERVER_BIN")
        self.repository = repository
        self.token = token  # for the readiness check of a server with --auth-file
        self.tls = tls  # the readiness check's TLS context, for a server with --tls-cert
        self.process = subprocess.Popen([SERVER, "--port", "0", "--repository", repository, "--log-level", "error",
                                         "--grace-period-ms", "2000", *args],
                                        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        line = self.process.stdout.readline().decode()
        if not line.startswith("modelwire-server listening on "):
            self.process.kill()
            raise RuntimeError(f"modelwire-server did not start: {line!r}")
        address = line.split()[-1]
        self.host, port = address.rsplit(":", 1)
        self.port = int(port)
        self.wait_until_ready()

    def client(self, **kwargs):
        return modelwire.Client(self.host, self.port, **kwargs)

    def wait_until_ready(self):
        with self.client(bearer_token=self.token, tls=self.tls) as client:
            for _ in range(500):
                if client.health().ready:
                    return
                time.sleep(0.01)
        raise RuntimeError("server never became ready")

    def terminate(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()
        return self.process.returncode

    def kill9(self):
        self.process.kill()
        self.process.wait()
        self.process.stdout.close()


@pytest.fixture
def start_server(tmp_path):
    """start_server(*extra_args, repository=None, token=None, tls=None) -> ServerProcess; all are stopped after the test.

    `token`, `tls`: the token and TLS context the readiness check uses (a server with --auth-file, --tls-cert)."""
    started = []

    def start(*args, repository=None, token=None, tls=None):
        repo = repository or str(tmp_path / f"repo-{len(started)}")
        os.makedirs(repo, exist_ok=True)
        server = ServerProcess(repo, *args, token=token, tls=tls)
        started.append(server)
        return server

    yield start
    for server in started:
        if server.process.returncode is None:
            server.terminate()


@pytest.fixture
def server(start_server):
    return start_server()


@pytest.fixture
def client(server):
    with server.client() as c:
        yield c


_datasets = {}


def dataset(name):
    if name not in _datasets:
        _datasets[name] = modelwire.read_csv(os.path.join(DATA, f"{name}.csv"))
    return _datasets[name]


def options(epochs=20, seed=7, learning_rate=0.05):
    """Adam at `learning_rate`, seed 7: as the Swift e2e fixtures."""
    return pb.TrainingOptions(optimizer=pb.Optimizer(kind=pb.OPTIMIZER_KIND_ADAM, learning_rate=learning_rate),
                              epochs=epochs, seed=seed)


def train(client, model, data, spec="logistic", epochs=20):
    """Trains to the end: (result, events)."""
    stream = client.train(model, data, spec, options(epochs))
    result = stream.wait()
    assert result is not None, "the train stream ended without a result"
    return result, stream.events
