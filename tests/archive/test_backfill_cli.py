"""``skymist archive backfill`` for alerts made before the archive existed; CLI mistakes are one line
on stderr and exit 2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from skymist.archive.verify import verify_record
from skymist.cli.main import main
from tests.archive.support import drain, settings_for
from tests.refine.support import record_alert


def test_backfill_writes_records_of_alerts_made_before_the_archive(
    app_factory: Any,
    database_url: str,
    shared_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = app_factory(**settings_for(tmp_path), archive_enabled=False)
    record_alert(app, shared_dir)
    assert drain(app) == 2  # notice and VOEvent
    folder = app.settings.archive_root / "IceCube-220524A"
    assert not folder.exists()
    monkeypatch.setenv("SKYMIST_DATA_DIR", str(app.settings.data_dir))
    cli = ["--database-url", database_url]
    assert main([*cli, "archive", "verify"]) == 1
    assert f"{folder}: no record" in capsys.readouterr().out

    assert main([*cli, "archive", "backfill"]) == 0
    written = capsys.readouterr()
    assert written.out.startswith("IceCube-220524A: ") and "1 record(s) written, 0 failed" in written.err
    assert verify_record(folder) == []
    assert main([*cli, "archive", "backfill"]) == 0  # nothing behind any more
    assert "0 record(s) written" in capsys.readouterr().err
    assert main([*cli, "archive", "verify", "IceCube-220524A"]) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["localize", "IceCube-220524A", "--result", "/nonexistent.npz", "--by", "x"],
            "--result '/nonexistent.npz'",
        ),
        (["localize", "IceCube-999999Z", "--result", "{shared}", "--by", "x"], "no alert 'IceCube-999999Z'"),
        (["archive", "rebuild", "IceCube-999999Z"], "no alert 'IceCube-999999Z'"),
    ],
)
def test_cli_mistakes_are_one_line(
    database_url: str,
    shared_dir: Path,
    args: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    npz = shared_dir / "data" / "real" / "run00136662-evt000035405932-BRONZE-8_64_512.npz"
    argv = ["--database-url", database_url, *[a.replace("{shared}", str(npz)) for a in args]]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("skymist: error: ") and message in err[0]


def test_localize_refuses_a_file_that_is_no_scan(
    app_factory: Any, database_url: str, shared_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = app_factory(**settings_for(tmp_path))
    record_alert(app, shared_dir)
    bad = tmp_path / "scan.json"
    bad.write_text("not json at all")
    argv = ["--database-url", database_url, "localize", "IceCube-220524A", "--result", str(bad), "--by", "x"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "neither skyreader JSON nor a legacy NPZ" in err[0] and str(bad) in err[0]


def test_a_replayed_alert_never_sent_has_its_record(
    app_factory: Any,
    database_url: str,
    shared_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``skymist replay`` without ``--send``: nothing goes out, yet the recorded alert has its record
    (no ``archive backfill`` needed)."""
    import json

    from sqlalchemy import select

    from skymist.states import OutboxState
    from skymist.store.models import OutboxRow
    from tests.helpers import envelope, real_event

    app = app_factory(**settings_for(tmp_path))
    monkeypatch.setenv("SKYMIST_DATA_DIR", str(app.settings.data_dir))
    message = tmp_path / "IceCube-220524A.json"
    message.write_text(json.dumps(envelope(real_event(shared_dir))))
    assert main(["--database-url", database_url, "replay", str(message)]) == 0
    assert "processed 1" in capsys.readouterr().out
    with app.sessions() as session:
        states = set(session.execute(select(OutboxRow.state)).scalars())
    assert states and OutboxState.SENT not in states  # queued, nothing sent
    folder = app.settings.archive_root / "IceCube-220524A"
    assert verify_record(folder) == []
    index = json.loads((folder / "data" / "record.json").read_bytes())
    assert index["sent"] == [] and [r["revision"] for r in index["revisions"]] == [0]
    assert len(index["inputs"]) == 1  # the message replayed, its bytes as consumed
