"""``skymist demo`` destroys nothing it did not make, leaves no child behind however it ends, and
writes its output one whole line at a time."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from skymist.cli.main import main
from skymist.runtime.demo_folder import MARKER, DemoFolderError, prepare_demo_folder
from skymist.runtime.line_output import LineWriter, line_writer
from tests.support.processes import command_line, descendants, gone
from tests.waiting import scaled, wait_for

DEMO = [sys.executable, "-m", "skymist.cli.main", "demo"]


def test_the_demo_refuses_a_folder_it_did_not_make(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "important.txt").write_text("do not delete\n")
    done = subprocess.run([*DEMO, "--dir", str(folder)], capture_output=True, text=True, timeout=scaled(120))
    assert done.returncode == 2, done
    [line] = done.stderr.splitlines()
    assert line.startswith("skymist: error: --dir ") and str(folder) in line and "--force" in line, line
    assert "not made by skymist demo" in line
    assert (folder / "important.txt").read_text() == "do not delete\n"
    assert sorted(p.name for p in folder.iterdir()) == ["important.txt"]


def test_the_demo_folder_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # missing: made and marked, with its legend
    made = prepare_demo_folder(tmp_path / "new")
    assert (made / MARKER).is_file() and (made / "README.txt").read_text().count("\n") > 5
    # made by an earlier demo: deleted and recreated
    (made / "products" / "old.notice.json").write_text("{}")
    assert prepare_demo_folder(made) == made and not (made / "products" / "old.notice.json").exists()
    # empty: used as it is
    empty = tmp_path / "empty"
    empty.mkdir()
    assert (prepare_demo_folder(empty) / MARKER).is_file()
    # someone else's: refused, kept; --force deletes it
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "important.txt").write_text("x")
    with pytest.raises(DemoFolderError, match="not empty and was not made by skymist demo"):
        prepare_demo_folder(theirs)
    assert (theirs / "important.txt").exists()
    prepare_demo_folder(theirs, force=True)
    assert not (theirs / "important.txt").exists() and (theirs / MARKER).is_file()
    # a file is no folder
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(DemoFolderError, match="is a file, not a folder"):
        prepare_demo_folder(tmp_path / "a-file", force=True)
    # never the current folder (nor one holding it), the home folder: not even with --force
    here = tmp_path / "here"
    (here / "inner").mkdir(parents=True)
    (here / "keep.txt").write_text("x")
    (here / "inner" / "notes.txt").write_text("x")
    monkeypatch.chdir(here / "inner")
    for folder in (here, Path("."), Path("..")):
        with pytest.raises(DemoFolderError, match="will not delete it"):
            prepare_demo_folder(folder, force=True)
    monkeypatch.setenv("HOME", str(theirs))
    with pytest.raises(DemoFolderError, match="your home folder"):
        prepare_demo_folder(theirs, force=True)
    assert (here / "keep.txt").exists() and (here / "inner" / "notes.txt").exists()
    assert (theirs / MARKER).exists()


@pytest.mark.parametrize("value", ["-3", "0", "21", "five"])
def test_demo_alerts_out_of_range_is_one_line(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["demo", "--alerts", value])
    assert stopped.value.code == 2
    [line] = capsys.readouterr().err.splitlines()
    assert "argument --alerts" in line and "give 1 to 20" in line and value in line, line


def test_two_threads_never_share_a_line() -> None:
    stream = io.StringIO()
    out = line_writer(stream)
    started, finish = threading.Event(), threading.Event()

    def half_a_line() -> None:  # print() writes the text and the newline separately: stop between
        out.write("first thread's line")
        started.set()
        finish.wait(10)
        out.write("\n")

    other = threading.Thread(target=half_a_line)
    other.start()
    assert started.wait(10)
    print("second thread's line\nand its second line", file=out)
    finish.set()
    other.join(10)
    assert stream.getvalue() == "second thread's line\nand its second line\nfirst thread's line\n"
    assert isinstance(out, LineWriter)

    # many threads at once: every line arrives whole
    lines = [f"thread {t} line {i} " + "x" * (t * 7 % 50) for t in range(8) for i in range(200)]
    stream = io.StringIO()
    out = line_writer(stream)

    def write(prefix: str) -> None:
        for line in lines:
            if line.startswith(prefix):
                print(line, file=out)

    threads = [threading.Thread(target=write, args=(f"thread {t} ",)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(stream.getvalue().splitlines()) == sorted(lines)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_no_child_outlives_the_demo(tmp_path: Path, signum: signal.Signals) -> None:
    demo = subprocess.Popen(
        [*DEMO, "--dir", str(tmp_path / "demo"), "--alerts", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []

    def read() -> None:
        assert demo.stdout is not None
        lines.extend(demo.stdout)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    family: list[int] = []
    try:
        wait_for(
            lambda: any(line.startswith("[2/6] skyscan") for line in lines) or demo.poll() is not None,
            scaled(120),
            "the demo's skyscan child serving",
            describe=lambda: lines[-3:],
        )
        assert demo.poll() is None, f"the demo ended early: {lines[-5:]} {demo.stderr}"
        family.extend(descendants(demo.pid))
        scanners = [pid for pid in family if "skyscan" in command_line(pid)]
        assert scanners, f"no skyscan child among {[command_line(p) for p in family]}"
        demo.send_signal(signum)
        wait_for(
            lambda: all(gone(pid) for pid in family),
            scaled(60),
            f"every child of the demo gone after {signum.name}",
            describe=lambda: [(pid, command_line(pid)) for pid in family if not gone(pid)],
        )
        code = demo.wait(timeout=scaled(60))
        assert demo.stderr is not None
        err = demo.stderr.read()
        if signum == signal.SIGTERM:  # cleaned up like Ctrl-C: one line, exit 130
            assert code == 130 and err.strip().splitlines()[-1] == "skymist: error: interrupted", err
        else:
            assert code == -signal.SIGKILL
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait(timeout=30)
        for pid in family:  # nothing should be left; if something is, it does not outlive the test
            if not gone(pid) and "skyscan" in command_line(pid):
                os.kill(pid, signal.SIGKILL)
