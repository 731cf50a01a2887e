"""Run ``skymist run`` as a real subprocess (so it can be SIGTERMed and kill -9ed)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

from skymist.config import Settings


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a daemon exactly these settings."""
    import json

    env = {k: v for k, v in os.environ.items() if not k.startswith("SKYMIST_")}
    plain = settings.model_dump(mode="json")
    for name in Settings.model_fields:
        value: Any = getattr(settings, name)
        if value is None:
            continue
        value = value.get_secret_value() if hasattr(value, "get_secret_value") else plain[name]
        if isinstance(value, list | dict):
            value = json.dumps(value)
        env[f"SKYMIST_{name.upper()}"] = str(value)
    return env


class DaemonProcess:
    def __init__(self, settings: Settings, log_path: Path, *extra_args: str) -> None:
        self.env = settings_env(settings)
        self.log_path = log_path
        self.args = [sys.executable, "-m", "skymist.cli.main", "run", *extra_args]
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(self.args, env=self.env, stdout=self._log, stderr=subprocess.STDOUT)
        self.starts += 1

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def terminate(self, timeout: float = 120.0) -> int:
        """SIGTERM and wait; a daemon still running after ``timeout`` fails with its log's tail."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            tail = "\n".join(self.log_text().splitlines()[-40:])
            message = f"daemon did not stop {timeout:.0f} s after SIGTERM; log tail:\n{tail}"
            raise AssertionError(message) from None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        if self._log is not None:
            self._log.close()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")
