"""What the console shows while a command works: a CI log's lines and heartbeats, the
board a terminal draws, the lines a parallel nox parent relays."""

from __future__ import annotations

import io
import re
import time

from plugin_builder import console as console_module
from plugin_builder.board import Board
from plugin_builder.console import Console
from plugin_builder.noxsessions import ProgressRelay

STAMPED = re.compile(r"^\d\d:\d\d:\d\d (?P<prefix>\S+) +(?P<text>.*)$")


def lines(stream: io.StringIO) -> list[tuple[str, str]]:
    found = []
    for line in stream.getvalue().splitlines():
        match = STAMPED.match(line)
        assert match, f"not a timestamped line: {line!r}"
        found.append((match["prefix"], match["text"]))
    return found


def test_a_ci_log_says_how_a_quick_step_ended_and_nothing_more():
    stream = io.StringIO()
    console = Console(stream, live=False)
    console.begin(["go1.26.6-glibc-amd64", "go1.26.6-musl-amd64"])
    log = console.for_prefix("go1.26.6-glibc-amd64")
    log.status("compiling bin/scheduler", "0/310 packages")
    log.status("compiling bin/scheduler", "143/310 packages")
    log("built bin/scheduler in 1.0s")
    console.end("go1.26.6-glibc-amd64", True)
    console.close()
    said = lines(stream)
    assert said[0] == ("go1.26.6-glibc-amd64", "built bin/scheduler in 1.0s")
    assert said[1][1].startswith("done in ") and said[1][1].endswith("(1/2 combinations)")
    assert len(said) == 2


def test_a_ci_log_announces_a_step_that_lasts(monkeypatch):
    monkeypatch.setattr(console_module, "ANNOUNCE_AFTER_S", 0.2)
    stream = io.StringIO()
    console = Console(stream, live=False)
    log = console.for_prefix("go1.26.6-glibc-amd64")
    log.status("compiling bin/scheduler", "0/310 packages")
    log.status("compiling bin/scheduler", "143/310 packages")
    time.sleep(0.6)
    console.close()
    assert lines(stream) == [("go1.26.6-glibc-amd64",
                              "compiling bin/scheduler... 143/310 packages")]


def test_a_ci_log_gets_a_heartbeat_while_a_step_runs(monkeypatch, tmp_path):
    monkeypatch.setenv("PLUGIN_BUILDER_HEARTBEAT_S", "0.3")
    monkeypatch.setattr(console_module, "ANNOUNCE_AFTER_S", 0.1)
    stream = io.StringIO()
    mirror = tmp_path / "progress" / "combination.log"
    console = Console(stream, live=False, mirror=mirror)
    log = console.for_prefix("go1.26.6-glibc-amd64")
    log.status("compiling bin/scheduler", "0/310 packages")
    log.status("compiling bin/scheduler", "143/310 packages")
    time.sleep(1.0)
    console.close()
    beats = [text for _, text in lines(stream) if text.startswith("still ")]
    assert beats, stream.getvalue()
    assert beats[0].startswith("still compiling bin/scheduler: 143/310 packages (")
    # The progress lines (not other messages) are mirrored for a nox parent to relay.
    assert mirror.read_text().splitlines()[-1].endswith(beats[-1])


def test_no_heartbeat_after_the_step_ended(monkeypatch):
    monkeypatch.setenv("PLUGIN_BUILDER_HEARTBEAT_S", "0.3")
    stream = io.StringIO()
    console = Console(stream, live=False)
    console.for_prefix("a").status("compiling x")
    console.end("a", False)
    time.sleep(0.8)
    console.close()
    said = [text for _, text in lines(stream)]
    assert not [text for text in said if text.startswith("still ")]
    assert said[-1].startswith("failed in ")


def test_the_board_freezes_done_rows_and_counts_them():
    board = Board()
    board.begin(["a", "b"], now=0.0)
    assert board.status("a", "compiling x", "1/2", now=1.0)  # a new activity
    board.status("b", "compiling y", "", now=1.0)
    assert not board.status("a", "compiling x", "2/2", now=2.0)  # progress only
    row = board.end("a", True, now=5.0)
    assert row.elapsed(now=100.0) == 5.0  # frozen
    assert board.counts() == (1, 2)
    assert [prefix for prefix, _ in board.due(now=100.0, period=30.0)] == ["b"]
    assert board.due(now=101.0, period=30.0) == []  # said just now


def test_the_live_board_draws_running_and_done_rows():
    from rich.console import Console as RichConsole

    from plugin_builder.progress import LiveProgress

    board = Board()
    board.begin(["go1.26.6-glibc-amd64", "go1.26.6-musl-amd64"], now=time.monotonic())
    board.status("go1.26.6-glibc-amd64", "compiling bin/dfdaemon", "143/310 packages",
                 now=time.monotonic())
    board.end("go1.26.6-musl-amd64", True, now=time.monotonic())
    out = RichConsole(file=io.StringIO(), width=120, record=True)
    out.print(LiveProgress(io.StringIO(), board))
    text = out.export_text()
    assert "compiling bin/dfdaemon: 143/310 packages" in text
    assert "✓" in text and "done" in text
    assert "1/2 combinations done" in text


def test_the_nox_parent_relays_what_workers_mirror(tmp_path, capsys):
    folder = tmp_path / ".progress"
    folder.mkdir()
    relay = ProgressRelay(folder)
    (folder / "old.log").write_text("a line of an earlier run\n")
    old = relay.started_at - 60
    import os

    os.utime(folder / "old.log", (old, old))
    (folder / "go1.26.6-glibc-amd64.log").write_text("one\ntwo\nhalf a li")
    relay.relay()
    (folder / "go1.26.6-glibc-amd64.log").open("a").write("ne\n")
    relay.relay()
    printed = capsys.readouterr().out.splitlines()
    assert printed == ["nox > one", "nox > two", "nox > half a line"]
