"""TLS and mutual TLS (docs/security.md) from the Python client (stdlib ssl) against the real server,
with a throw-away PKI made at test time by tools/tls/make-test-certs."""
import os
import subprocess
import time

import pytest

import modelwire
from conftest import REPO, dataset, train


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    directory = tmp_path_factory.mktemp("pki")
    subprocess.run([os.path.join(REPO, "tools", "tls", "make-test-certs"), str(directory)], check=True)
    return lambda name: str(directory / name)


def tls_args(pki, client_ca=False):
    args = ["--tls-cert", pki("server.pem"), "--tls-key", pki("server.key")]
    return args + (["--tls-client-ca", pki("ca.pem")] if client_ca else [])


def test_train_and_predict_over_tls(start_server, pki):
    context = modelwire.tls_context(ca=pki("ca.pem"))
    server = start_server(*tls_args(pki), tls=context)
    iris = dataset("iris")
    with server.client(tls=context) as client:
        train(client, "iris", iris, epochs=5)
        result = client.predict("iris", modelwire.first_rows(iris, 3))
        assert len(result.class_ids) == 3
    # The certificate names localhost too.
    with modelwire.Client("localhost", server.port, tls=context) as client:
        assert client.health().ready


def test_mutual_tls_needs_a_certificate_from_the_client_ca(start_server, pki):
    with_cert = modelwire.tls_context(ca=pki("ca.pem"), cert=pki("client.pem"), key=pki("client.key"))
    server = start_server(*tls_args(pki, client_ca=True), tls=with_cert)
    with server.client(tls=with_cert) as client:
        assert client.health().ready
    start = time.monotonic()
    with pytest.raises((modelwire.FailedPrecondition, modelwire.Unavailable)) as refused:
        server.client(tls=modelwire.tls_context(ca=pki("ca.pem")), connect_timeout=30).health()
    assert time.monotonic() - start < 10
    assert "certificate" in str(refused.value).lower()
    other = modelwire.tls_context(ca=pki("ca.pem"), cert=pki("other-client.pem"), key=pki("other-client.key"))
    with pytest.raises((modelwire.FailedPrecondition, modelwire.Unavailable)):
        server.client(tls=other, connect_timeout=30).health()


def test_plaintext_client_on_a_tls_port_is_told_at_once(start_server, pki):
    server = start_server(*tls_args(pki), tls=modelwire.tls_context(ca=pki("ca.pem")))
    start = time.monotonic()
    with pytest.raises(modelwire.FailedPrecondition) as refused:
        server.client(connect_timeout=30)
    assert time.monotonic() - start < 10  # not the 30 s connect timeout, nor the server's handshake timeout
    assert "speaks TLS" in str(refused.value)


def test_tls_client_on_a_plaintext_port_is_told_at_once(start_server, pki):
    server = start_server()
    start = time.monotonic()
    with pytest.raises(modelwire.FailedPrecondition) as refused:
        server.client(tls=modelwire.tls_context(ca=pki("ca.pem")), connect_timeout=30)
    assert time.monotonic() - start < 10
    assert "did not answer in TLS" in str(refused.value)


def test_untrusted_or_misnamed_certificate_is_refused(start_server, pki):
    server = start_server(*tls_args(pki), tls=modelwire.tls_context(ca=pki("ca.pem")))
    with pytest.raises(modelwire.FailedPrecondition) as untrusted:
        server.client(tls=modelwire.tls_context(ca=pki("other-ca.pem")))
    assert "cannot be trusted" in str(untrusted.value)
    with pytest.raises(modelwire.FailedPrecondition):
        server.client(tls=modelwire.tls_context(ca=pki("ca.pem")), server_name="not-the-server.example")


def test_client_certificate_without_key_is_refused_locally(pki):
    with pytest.raises(ValueError):
        modelwire.tls_context(ca=pki("ca.pem"), cert=pki("client.pem"))


def test_http_port_speaks_https_with_the_same_certificates_and_tokens(start_server, pki, tmp_path):
    import hashlib
    import json
    import ssl
    import urllib.error
    import urllib.request
    token = "py-https-admin"
    auth = tmp_path / "auth.json"
    auth.write_text(json.dumps({"tokens": [{"name": "ops", "role": "admin",
                                            "sha256": hashlib.sha256(token.encode()).hexdigest()}]}))
    context = modelwire.tls_context(ca=pki("ca.pem"))
    server = start_server(*tls_args(pki), "--http-port", "0", "--auth-file", str(auth), tls=context, token=token)
    line = server.process.stdout.readline().decode()
    assert line.startswith("modelwire-server http listening on "), line
    address = line.split()[-1]
    https = ssl.create_default_context(cafile=pki("ca.pem"))

    def get(path, token=None):
        request = urllib.request.Request(f"https://{address}{path}")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, context=https, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    assert get("/v2/health/ready")[0] == 200  # probes need no token
    status, body = get("/v2")
    assert status == 401 and "error" in body
    status, body = get("/v2", token)
    assert status == 200 and body["name"]
    # Plain HTTP on the HTTPS port gets no answer it could read as HTTP.
    with pytest.raises(Exception):
        urllib.request.urlopen(f"http://{address}/v2/health/ready", timeout=5).read()
