"""The shared cache without a server: Go's command-line splitting, which program runs,
the action id of a linked artifact, and the GOCACHEPROG protocol spoken to a stand-in
program (tests/integration/test_scale.py runs the real go-cacher and gocached)."""

from __future__ import annotations

import hashlib
import sys
import textwrap
from pathlib import Path

import pytest

from plugin_builder import config, sharedcache
from plugin_builder.combination import Combination
from plugin_builder.errors import UsageError
from plugin_builder.golang import cacheprog, quoted
from tests.project import Project

# A GOCACHEPROG program in the protocol's words: bodies kept as files of one folder.
PROGRAM = textwrap.dedent('''\
    import base64, hashlib, json, os, sys
    folder = sys.argv[1]
    os.makedirs(folder, exist_ok=True)
    print("starting", file=sys.stderr)  # a log line, as go-cacher writes one
    print(json.dumps({"ID": 0, "KnownCommands": ["get", "put", "close"]}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        answer = {"ID": request["ID"]}
        name = os.path.join(folder, request.get("ActionID", "").replace("/", "_"))
        if request["Command"] == "get":
            if os.path.exists(name + ".out"):
                with open(name + ".out") as out:
                    answer.update(OutputID=out.read(), DiskPath=name + ".body",
                                  Size=os.path.getsize(name + ".body"))
            else:
                answer["Miss"] = True
        elif request["Command"] == "put":
            sent = sys.stdin.readline() if request.get("BodySize") else '""'
            body = base64.b64decode(json.loads(sent))
            with open(name + ".body", "wb") as out:
                out.write(body)
            with open(name + ".out", "w") as out:
                out.write(request["OutputID"])
            answer["DiskPath"] = name + ".body"
        print(json.dumps(answer), flush=True)
        if request["Command"] == "close":
            break
''')


@pytest.fixture
def program(tmp_path) -> list[str]:
    script = tmp_path / "cacheprog.py"
    script.write_text(PROGRAM)
    return [sys.executable, str(script), str(tmp_path / "store")]


# -- splitting as Go splits -------------------------------------------------------------


@pytest.mark.parametrize(("text", "words"), [
    ("go-cacher --cache-server=http://cache:31364", ["go-cacher", "--cache-server=http://cache:31364"]),
    ("  a\tb\n", ["a", "b"]),
    ("'/opt/my tools/go-cacher' -v", ["/opt/my tools/go-cacher", "-v"]),
    ('"it\'s" x', ["it's", "x"]),
    ("a'b c", ["a'b", "c"]),  # a quote inside a word is literal
    ("''", [""]),
])
def test_split_reads_what_go_reads(text, words) -> None:
    assert quoted.split(text) == words
    assert quoted.split(quoted.join(words)) == words


def test_split_refuses_an_unclosed_quote() -> None:
    with pytest.raises(ValueError, match="unterminated ' string"):
        quoted.split("a 'b")


def test_join_refuses_a_word_it_cannot_quote() -> None:
    with pytest.raises(ValueError):
        quoted.join(["a b'\""])


# -- which program, for which combination ----------------------------------------------


def cached(project: Project, prog: str) -> config.Config:
    project.data["cache"] = {"prog": prog}
    return config.load(project.write())


def test_the_environment_wins_over_the_config(project, monkeypatch) -> None:
    loaded = cached(project, "go-cacher --cache-server=http://cache:31364")
    monkeypatch.delenv("GOCACHEPROG", raising=False)
    assert sharedcache.words(loaded) == ["go-cacher", "--cache-server=http://cache:31364"]
    assert sharedcache.bundled(loaded)
    monkeypatch.setenv("GOCACHEPROG", "/opt/cacher -token=secret")
    assert sharedcache.words(loaded) == ["/opt/cacher", "-token=secret"]
    assert not sharedcache.bundled(loaded)
    monkeypatch.setenv("GOCACHEPROG", "-x")
    with pytest.raises(UsageError, match="names no program first"):
        sharedcache.words(loaded)


def test_only_go_1_24_and_later_run_a_cache_program(project, monkeypatch) -> None:
    monkeypatch.delenv("GOCACHEPROG", raising=False)
    loaded = cached(project, "go-cacher")
    assert sharedcache.applies(loaded, Combination("1.24.0", "glibc", "amd64"))
    assert not sharedcache.applies(loaded, Combination("1.23.9", "glibc", "amd64"))
    assert loaded.cache.program == "go-cacher"  # what [cache] install makes, by default


# -- the action id of a linked artifact -----------------------------------------------


def link_key(root: Path, *, trimpath: bool, content: bytes = b"package main\n",
             generated: str = "use ./x") -> bytes:
    cache = sharedcache.LinkCache(("go-cacher",), (("$ARTIFACTS", f"{root}/artifacts"),
                                                   ("$PROJECT", str(root))),
                                  root / "artifacts", root)
    # Sources as the manifest records them: relative to the project.
    go_work = f"artifacts/c/.work/p-{hashlib.sha256(generated.encode()).hexdigest()[:12]}"
    sources = {"files": {"host/main.go": [hashlib.sha256(content).hexdigest(), [1]],
                         f"{go_work}/go.work": [hashlib.sha256(generated.encode()).hexdigest(),
                                                [2]]},
               "folders": {"host": ["main.go"]}}
    inputs = [["build", "-trimpath"], {"GOARCH": "amd64"}, {"go": "go1.26.6"},
              {"go.work": f"go 1.26\nuse {root}/host\n"}]
    return cache.entry(inputs, root / "host", sources, trimpath=trimpath).action_id


def test_under_trimpath_a_checkout_elsewhere_has_the_same_action_id() -> None:
    assert link_key(Path("/a/one"), trimpath=True) == link_key(Path("/b/two"), trimpath=True)
    # Without -trimpath the binary holds its paths: another checkout is another binary.
    assert link_key(Path("/a/one"), trimpath=False) != link_key(Path("/b/two"), trimpath=False)


def test_a_source_that_changed_is_another_action_id() -> None:
    assert link_key(Path("/a"), trimpath=True) != \
        link_key(Path("/a"), trimpath=True, content=b"package main // changed\n")


def test_generated_files_count_by_their_text_among_the_inputs() -> None:
    # Their recorded sha256 and folder name come from absolute paths; their text, with the
    # roots named, is in the inputs already.
    assert link_key(Path("/a"), trimpath=True, generated="use /a/x") == \
        link_key(Path("/a"), trimpath=True, generated="use /b/x")


# -- the protocol ----------------------------------------------------------------------


def test_put_then_get_through_the_protocol(program, tmp_path) -> None:
    body = tmp_path / "binary"
    body.write_bytes(b"\x7fELF" + bytes(range(256)) * 100)
    action = hashlib.sha256(b"an action").digest()
    with cacheprog.CacheProg(program) as cache:
        assert cache.known == ["get", "put", "close"]
        assert cache.get(action) is None
        output_id = cache.put(action, body)
    assert output_id == hashlib.sha256(body.read_bytes()).digest()
    with cacheprog.CacheProg(program) as cache:
        hit = cache.get(action)
    assert hit is not None and cacheprog.read_hit(hit) == body.read_bytes()


def test_bytes_that_are_not_what_the_cache_says_are_refused(program, tmp_path) -> None:
    body = tmp_path / "binary"
    body.write_bytes(b"the linked file")
    action = hashlib.sha256(b"another").digest()
    with cacheprog.CacheProg(program) as cache:
        cache.put(action, body)
        hit = cache.get(action)
    assert hit is not None
    hit.disk_path.write_bytes(b"the linked filf")  # the cache's copy went bad
    with pytest.raises(cacheprog.CacheProgError, match="does not hold what its OutputID"):
        cacheprog.read_hit(hit)


def test_a_link_entry_fetches_or_says_why_not(program, tmp_path) -> None:
    entry = sharedcache.LinkEntry(tuple(program), hashlib.sha256(b"x").digest())
    notes: list[str] = []
    landed = tmp_path / "landed"
    landed.write_bytes(b"linked")
    assert not entry.fetch(tmp_path / "staged", notes.append)  # a miss: link it
    entry.store(landed, notes.append)
    assert entry.fetch(tmp_path / "staged", notes.append)
    assert (tmp_path / "staged").read_bytes() == b"linked" and notes == []
    broken = sharedcache.LinkEntry((sys.executable, "-c", "print('hello')"), entry.action_id)
    assert not broken.fetch(tmp_path / "other", notes.append)
    assert "is not a GOCACHEPROG program" in notes[0] or "wrote no JSON" in notes[0]
    assert not (tmp_path / "other").exists()


def test_a_program_that_cannot_start_is_an_error(tmp_path) -> None:
    with pytest.raises(cacheprog.CacheProgError, match="cannot start"):
        cacheprog.CacheProg([str(tmp_path / "no-such-program")])

