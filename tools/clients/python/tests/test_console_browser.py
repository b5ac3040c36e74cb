"""Issue 13: the web console at `/` of `--http-port`, rendered by a real browser: Debian's
`chromium` (tools/install-deps installs it) loads the pages of a server that trained a small
model, `--dump-dom` gives the DOM after parsing, and `--screenshot` must write a real PNG.

Chromium exits 0 even when it fails to load a page, so the checks are on what it produced: the
DOM's content and the PNG's signature and size. Every chromium run is bounded by a timeout."""
import re
import shutil
import struct
import subprocess

import pytest

from conftest import dataset, train
import modelwire

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (tools/install-deps)")
TIMEOUT = 60  # seconds per chromium run; a page load here takes about 1-3 s


def chromium(tmp_path, *args):
    """Runs headless chromium (`--no-sandbox`: the tests may run as root) with its own profile."""
    profile = tmp_path / "chromium-profile"
    command = [CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
               "--disable-dev-shm-usage", f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, timeout=TIMEOUT, check=False)


def dump_dom(tmp_path, url):
    result = chromium(tmp_path, "--dump-dom", url)
    dom = result.stdout.decode()
    assert "<html" in dom, f"chromium gave no DOM for {url}: {result.stderr.decode()[-2000:]}"
    return dom


@pytest.fixture
def console(start_server):
    """A server with --http-port 0 that trained `iris` (a dense net, 8 epochs, validation split)."""
    server = start_server("--http-port", "0")
    line = server.process.stdout.readline().decode()
    assert line.startswith("modelwire-server http listening on "), line
    server.base = "http://" + line.split()[-1]
    with server.client() as client:
        result, _ = train(client, "iris", dataset("iris"), spec="dense", epochs=8)
    server.version = result.version
    return server


def test_model_page_in_a_browser(console, tmp_path):
    page = f"{console.base}/models/iris/versions/{console.version}"
    dom = dump_dom(tmp_path, page)
    assert "iris v1" in dom
    polylines = re.findall(r'<polyline[^>]*points="([^"]+)"', dom)
    assert polylines, "no curve: no SVG polyline in the model page"
    assert all(len(points.split()) == 8 for points in polylines), polylines  # one point per epoch
    cells = re.findall(r'<td class="cm[^"]*"[^>]*>(\d+)</td>', dom)
    assert len(cells) == 9, "a 3-class confusion matrix has 9 cells"
    assert sum(map(int, cells)) == len(dataset("iris").class_ids)  # every row the job was given
    for name in dataset("iris").class_names:
        assert f">{name}</th>" in dom

    shot = tmp_path / "model.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,900", page)
    assert shot.exists(), "chromium wrote no screenshot"
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (1200, 900)
    assert len(png) > 20_000, f"a {len(png)}-byte screenshot is too small to show the page"


def test_front_page_and_job_page_in_a_browser(console, tmp_path):
    dom = dump_dom(tmp_path, console.base + "/")
    assert 'href="/models/iris/versions/1"' in dom
    job = re.search(r'<a href="/jobs/([^"]+)">', dom)
    assert job, "the front page lists no job"
    assert "succeeded" in dom
    job_dom = dump_dom(tmp_path, f"{console.base}/jobs/{job.group(1)}")
    assert "succeeded" in job_dom and "<polyline" in job_dom


def test_user_strings_stay_text_in_a_browser(start_server, tmp_path):
    """A class named like markup is shown as text: the browser builds no element from it."""
    server = start_server("--http-port", "0")
    base = "http://" + server.process.stdout.readline().decode().split()[-1]
    rows = [[0.0, 0.1], [0.1, 0.0], [1.0, 0.9], [0.9, 1.0]] * 5
    labels = ["<img src=x>", "<b>bold</b>"] * 10
    with server.client() as client:
        client.train("marked", modelwire.dataset(rows, labels=labels), "logistic").wait()
    dom = dump_dom(tmp_path, f"{base}/models/marked/versions/1")
    assert "&lt;b&gt;bold&lt;/b&gt;" in dom and "&lt;img src=x&gt;" in dom
    assert "<b>" not in dom and "<img" not in dom
