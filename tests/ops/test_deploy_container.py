"""The container: its HEALTHCHECK, run as Docker would run it, against a real daemon's /readyz
(healthy when ready, unhealthy on a 503 and when nothing answers), and a .dockerignore that keeps
the working copy's environments, history and data out of the build context but none of the sources
the image is built from."""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import MockKafka, make_settings
from tests.ops.test_metrics import free_port, get
from tests.support.daemon import DaemonProcess
from tests.waiting import scaled, wait_for

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
IMAGE_PORT = "9465"


def healthcheck_command() -> list[str]:
    """The HEALTHCHECK's exec-form command, as Docker reads it (a JSON array)."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    found = re.search(r"^HEALTHCHECK .*?\bCMD (\[.*\])$", text, re.M)
    assert found, "the Dockerfile has no HEALTHCHECK with an exec-form CMD"
    command: list[str] = json.loads(found[1])
    return command


def probe(port: int) -> subprocess.CompletedProcess[str]:
    """The HEALTHCHECK as the container runs it, aimed at ``port`` instead of the image's."""
    program, *args = healthcheck_command()
    assert program == "python" and args[0] == "-c" and f"127.0.0.1:{IMAGE_PORT}/readyz" in args[1]
    code = args[1].replace(f"127.0.0.1:{IMAGE_PORT}", f"127.0.0.1:{port}")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=scaled(30))


def test_the_image_probes_the_port_its_daemon_serves() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(rf'^CMD \["skymist", "run", .*"--(http|metrics)-port", "{IMAGE_PORT}"', text, re.M)
    assert "/readyz" in " ".join(healthcheck_command())


def test_the_healthcheck_follows_readyz(database_url: str, kafka: MockKafka, tmp_path: Path) -> None:
    ready_port, unready_port = free_port(), free_port()
    ready = DaemonProcess(
        make_settings(database_url, kafka), tmp_path / "ready.log", "--metrics-port", str(ready_port)
    )
    # a broker that is not there: the daemon runs, /readyz answers 503
    unready = DaemonProcess(
        make_settings(database_url, None, readyz_timeout_s=0.5),
        tmp_path / "unready.log",
        "--metrics-port",
        str(unready_port),
        "--jobs",
        "metrics",
    )
    try:
        ready.start()
        unready.start()
        wait_for(
            lambda: probe(ready_port).returncode == 0,
            scaled(60),
            "healthy",
            every_s=0.3,
            describe=ready.log_text,
        )
        wait_for(
            lambda: get(f"http://127.0.0.1:{unready_port}/healthz")[0] == 200,
            scaled(60),
            "the daemon without a broker answering /healthz",
            tolerate=(OSError,),
            describe=unready.log_text,
        )
        assert get(f"http://127.0.0.1:{unready_port}/readyz")[0] == 503
        answer = probe(unready_port)
        assert answer.returncode == 1 and "not ready: HTTP Error 503" in answer.stderr, answer
        assert ready.terminate() == 0
        gone = probe(ready_port)
        assert gone.returncode == 1 and "not ready:" in gone.stderr and "refused" in gone.stderr, gone
    finally:
        ready.close()
        unready.close()


def _ignored(path: str, patterns: list[str]) -> bool:
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(fnmatch.fnmatch(prefix, pattern) for pattern in patterns for prefix in prefixes)


def test_dockerignore_keeps_the_sources_and_leaves_out_the_rest() -> None:
    patterns = [
        line.strip().lstrip("/")
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for left_out in (".venv", ".git", ".venv-wheel", "skymist.egg-info", ".mypy_cache", "skymist-demo",
                     "skymist/__pycache__/config.cpython-311.pyc", "x.sqlite", "build"):  # fmt: skip
        assert _ignored(left_out, patterns), f".dockerignore does not leave out {left_out}"
    copied = [
        source
        for line in DOCKERFILE.read_text().splitlines()
        if line.startswith("COPY ") and "--from" not in line
        for source in line.split()[1:-1]
    ]
    assert "skymist" in copied and "README.md" in copied
    tracked = subprocess.run(
        ["git", "ls-files", *copied], capture_output=True, text=True, cwd=REPO, check=True
    )
    files = tracked.stdout.splitlines()
    assert len(files) > 100
    sent = [f for f in files if not _ignored(f, patterns)]
    assert sent == files, f"the build needs these, .dockerignore leaves them out: {set(files) - set(sent)}"
