"""``skyscan serve`` as a real subprocess on a free loopback port, for the tests that drive it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scanner_client import SkyDriverClient
from tests.support.pixel_gate import GATE_DIR_ENV, PixelGate
from tests.waiting import scaled

USER_TOKEN = "contract-user-token"
SYSTEM_TOKEN = "contract-system-token"
#: tokens the local OAuth2 endpoint hands out, in order (the service accepts them as `user`)
OAUTH_TOKENS = ("oauth-token-1", "oauth-token-2", "oauth-token-3", "oauth-token-4")
#: seconds of the dummy reco per pixel, so that lifecycles can be watched
DUMMY_DELAY_S = 0.05


def skyscan_command() -> list[str]:
    """The installed ``skyscan`` console script; ``python -m skyscan.server`` (same ``serve``) without it."""
    script = Path(sys.executable).with_name("skyscan")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "skyscan.server"]


@dataclass
class Service:
    """``skyscan serve`` running in a subprocess."""

    database_url: str
    env: dict[str, str]
    extra_args: list[str] = field(default_factory=list)
    process: subprocess.Popen[str] | None = None
    url: str = ""
    log: list[str] = field(default_factory=list)

    def start(self, timeout_s: float = 60.0) -> Service:
        command = [
            *skyscan_command(),
            "serve",
            "--port",
            "0",
            "--database-url",
            self.database_url,
            *self.extra_args,
        ]
        self.process = subprocess.Popen(
            command, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        threading.Thread(target=self._drain, daemon=True).start()
        assert self.process.stdout is not None
        deadline = time.monotonic() + scaled(timeout_s)
        line = ""
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if line.startswith("skyscan serving on "):
                self.url = line.split()[-1]
                return self
            if not line and self.process.poll() is not None:
                break
        self.stop()
        raise RuntimeError(f"skyscan serve did not start: {line!r}\n" + "\n".join(self.log[-20:]))

    def _drain(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line.rstrip())

    def kill(self) -> None:
        """SIGKILL: a crash, nothing is released."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(45)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    @property
    def gate(self) -> PixelGate:
        """The dummy reco's gate of this service (started with ``service_env(DUMMY_GATE_DIR=...)``)."""
        directory = self.env.get(GATE_DIR_ENV)
        if not directory:
            raise RuntimeError("this service has no gate: start it with service_env(DUMMY_GATE_DIR=path)")
        return PixelGate(Path(directory))

    def client(self, **kwargs: Any) -> SkyDriverClient:
        kwargs.setdefault("token", USER_TOKEN)
        return SkyDriverClient(self.url, **kwargs)


def service_env(**settings: Any) -> dict[str, str]:
    env = dict(os.environ)
    values: dict[str, Any] = {
        "USER_TOKENS": [USER_TOKEN, *OAUTH_TOKENS],
        "SYSTEM_TOKENS": [SYSTEM_TOKEN],
        "WORKERS": 1,
        "MAX_CONCURRENT_SCANS": 1,
        "PROGRESS_INTERVAL_S": 0.2,
        "RESULT_INTERVAL_S": 0.4,
        "BACKLOG_POLL_S": 0.2,
        "HEARTBEAT_S": 0.5,
        "STALE_AFTER_S": 2,
        "RECO_OPTIONS": {"dummy": {"delay_s": DUMMY_DELAY_S}},
        **settings,
    }
    for key, value in values.items():
        env[f"SKYSCAN_{key}"] = json.dumps(value) if isinstance(value, list | dict) else str(value)
    return env


def launch_body(**change: Any) -> dict[str, Any]:
    """A small valid ``POST /scan`` body (dummy reco, one nside-1 pass), with ``change`` applied."""
    return {
        "docker_tag": "latest",
        "cluster": {"local": 1},
        "reco_algo": "dummy",
        "event_i3live_json": {"run_id": 1, "event_id": 2},
        "nsides": {"1": 0},
        "real_or_simulated_event": "real",
        "max_pixel_reco_time": 30,
        **change,
    }
