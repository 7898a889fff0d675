"""Faults of ``dank data build``: bad CSVs, empty builds, killed builds.

Issue 25: a stray quote merged rows silently; a UTF-8 BOM gave a wrong "lacks
column" error; a build of nothing exited 0; SIGKILL left temporaries behind and
the swap of old for new build had a window with neither in place.
"""

import fcntl
import gzip
import os
import shutil
import signal
import subprocess
import sys
import textwrap

import pytest

from dank.apps.cli.data import format_summary
from dank.core import constants
from dank.core.errors import DankError
from dank.data import publish
from dank.data.build import build_dataset
from dank.data.synthetic import make_source


@pytest.fixture(scope="module")
def small_source(tmp_path_factory):
    return make_source(
        tmp_path_factory.mktemp("faults_source"),
        n_templates=2,
        captions_per_template=24,
    )


def _captions(source):
    return gzip.decompress((source / "captions.csv.gz").read_bytes()).decode("utf-8")


def _write_captions(source, text, bom=False):
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
    (source / "captions.csv.gz").write_bytes(gzip.compress(data))


def _copy_source(source, dest):
    shutil.copytree(source, dest)
    return dest


def _catalogue(out):
    return (out / constants.CATALOGUE_FILE).read_bytes()


def _build_dirs(out):
    return sorted(p.name for p in publish.builds_dir(out).iterdir() if p.name[0] != ".")


def test_stray_quote_and_bom_are_reported_not_fatal(small_source, tmp_path):
    source = _copy_source(small_source, tmp_path / "src")
    lines = _captions(source).splitlines(keepends=True)
    n_rows = len(lines) - 1  # The synthetic captions are one line each.
    tid = lines[1].split(",", 1)[0]
    # Line 3 opens a quote it never closes; before the fix it swallowed line 4
    # and more into one caption.
    lines.insert(2, f'{tid},"STRAY QUOTE,bottom,,2,5,imgflip_upvotes,9,x,y\n')
    _write_captions(source, "".join(lines), bom=True)
    templates = source / "templates.csv"
    templates.write_bytes(b"\xef\xbb\xbf" + templates.read_bytes())

    summary = build_dataset(source, tmp_path / "out")
    rows = summary["csv_rows"]["captions.csv.gz"]
    assert rows["skipped"] == 1 and rows["rows"][0]["line"] == 3
    assert rows["repaired"] >= 1 and rows["rows"][1]["line"] == 4
    assert summary["csv_rows"]["templates.csv"]["skipped"] == 0
    assert summary["captions_read"] == n_rows  # Only the bad row is lost.
    assert any("1 malformed rows skipped" in line for line in format_summary(summary))


@pytest.mark.parametrize(
    "which, match",
    [
        ("templates", "no template rows"),
        ("captions", "no caption rows"),
        ("unknown_ids", "no caption of .* is left for training"),
    ],
)
def test_a_build_of_nothing_fails(small_source, tmp_path, which, match):
    source = _copy_source(small_source, tmp_path / "src")
    header, *rows = _captions(source).splitlines(keepends=True)
    if which == "templates":
        text = (source / "templates.csv").read_text(encoding="utf-8")
        (source / "templates.csv").write_text(text.splitlines()[0] + "\n")
    elif which == "captions":
        _write_captions(source, header)
    else:
        _write_captions(source, header + "".join("nobody-" + r for r in rows))
    with pytest.raises(DankError, match=match):
        build_dataset(source, tmp_path / "out")
    assert not (tmp_path / "out").exists()


KILLED_BUILD = """
    import os, signal, sys
    from dank.data import build, records

    write_shards = records.write_shards
    def write_then_die(out_dir, names, serialized):
        write_shards(out_dir, names, serialized)
        if "captions-train" in names[0]:  # Images and a split are on disk.
            os.kill(os.getpid(), signal.SIGKILL)
    records.write_shards = write_then_die
    build.build_dataset(sys.argv[1], sys.argv[2], seed=1)
"""


def test_killed_build_keeps_the_old_one_and_the_next_cleans_up(small_source, tmp_path):
    out = tmp_path / "build"
    with publish.publish(out) as tmp:  # An older build, as build_dataset leaves it.
        (tmp / constants.CATALOGUE_FILE).write_text("old")
    old = _catalogue(out)
    (out / ".built").touch()  # Makefile's stamp lives inside the current build.
    before = _build_dirs(out)

    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(KILLED_BUILD),
            str(small_source),
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert _catalogue(out) == old and (out / ".built").is_file()
    leftovers = [d for d in _build_dirs(out) if d not in before]
    assert len(leftovers) == 1 and leftovers[0].endswith(publish.PARTIAL)
    assert any(publish.builds_dir(out).glob(f"{leftovers[0]}/captions-train-*"))

    with publish.publish(out) as tmp:  # The next build.
        (tmp / constants.CATALOGUE_FILE).write_text("new")
    assert _catalogue(out) == b"new"
    assert not (out / ".built").exists()  # make touches it after a new build.
    assert _build_dirs(out) == [os.readlink(out).rsplit("/", 1)[-1]]


def test_the_switch_is_one_rename_of_a_symlink(small_source, tmp_path, monkeypatch):
    out = tmp_path / "build"
    # A build from before symlinks: a plain folder, and what the old two-rename
    # swap left when killed.
    out.mkdir()
    (out / constants.CATALOGUE_FILE).write_text("{}")
    (tmp_path / ".build.old-123").mkdir()
    (tmp_path / ".build.abc123" / "build").mkdir(parents=True)
    renames = []
    real_replace = os.replace

    def replace(src, dst):
        renames.append((str(src), str(dst), os.path.islink(src)))
        real_replace(src, dst)

    monkeypatch.setattr(publish.os, "replace", replace)
    with publish.publish(out) as tmp:
        (tmp / "catalogue.json").write_text("new")
    assert out.is_symlink() and (out / "catalogue.json").read_text() == "new"
    # This once, the plain folder is moved aside before the link takes its place.
    assert [r[2] for r in renames if r[0] == str(out)] == [False]
    assert [r[2] for r in renames if r[1] == str(out)] == [True]

    renames.clear()
    with publish.publish(out) as tmp:
        (tmp / "catalogue.json").write_text("newer")
    # From then on OUT changes in exactly one rename: a new symlink over the old.
    assert [r for r in renames if str(out) in r[:2]] == [
        (renames[-1][0], str(out), True)
    ]
    assert (out / "catalogue.json").read_text() == "newer"
    assert len(_build_dirs(out)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build", "build.builds"]


def test_failed_build_leaves_nothing_and_concurrent_build_is_refused(tmp_path):
    out = tmp_path / "build"
    with publish.publish(out) as tmp:
        (tmp / "catalogue.json").write_text("v1")
    with pytest.raises(RuntimeError), publish.publish(out) as tmp:
        (tmp / "catalogue.json").write_text("half")
        raise RuntimeError("disk full")
    assert (out / "catalogue.json").read_text() == "v1"
    assert len(_build_dirs(out)) == 1
    with open(publish.builds_dir(out) / ".lock") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        busy = pytest.raises(DankError, match="another `dank data build`")
        with busy, publish.publish(out):
            pass
    assert (out / "catalogue.json").read_text() == "v1"


def _fuzz_rows(rng, n):
    words = [
        "NA",
        "null",
        "nan",
        "a,b",
        'SAY "HI"',
        "LINE\nBREAK",
        "ÿ\u200bé",
        "\U0001f602",
        "tab\there",
        "\x07bell",
        "CR\rLF",
        "x;y",
        "&lt;3",
        "",
        " ",
    ]
    return [
        [
            f"t{i}",
            " ".join(rng.choices(words, k=rng.randint(0, 4))),
            rng.choice(words),
            "",
            "2",
            str(rng.randint(0, 99)),
            "imgflip_upvotes",
            "",
            "fuzz",
            f"https://x/i/{i}",
        ]
        for i in range(n)
    ]


@pytest.mark.parametrize("seed", range(5))
def test_fuzzed_caption_csv_loses_only_the_broken_rows(tmp_path, seed):
    """Seeded malformed rows: every intact row is read back exactly, every broken
    one is reported by its line number, and nothing raises."""
    import csv
    import io
    import random

    from dank.data.sources import CAPTION_HEADER, RowIssues, read_rows

    rng = random.Random(seed)
    rows = _fuzz_rows(rng, 200)
    broken = set(rng.sample(range(200), 12))
    chunks, starts, line, broken_lines = [], {}, 2, set()
    for i, row in enumerate(rows):
        out = io.StringIO()
        csv.writer(out).writerow(row)  # "\r\n": a lone "\r" in a caption is quoted.
        text = out.getvalue()
        if i in broken:
            fault = rng.choice(("quote", "short", "long", "nul"))
            if fault == "quote":  # A field that opens a quote and never closes it.
                text = text.replace(",imgflip_upvotes,", ',"imgflip_upvotes,', 1)
            elif fault == "short":
                text = ",".join(text.split(",")[:3]) + "\r\n"
            elif fault == "long":
                text = text[:-2] + ",extra,fields\r\n"
            else:
                text = text[:-2] + ",\0\r\n"
        starts[i] = line
        line += len(io.StringIO(text, newline="").readlines())
        if i in broken:
            broken_lines.update(range(starts[i], line))
        chunks.append(text)
    path = tmp_path / "captions.csv"
    path.write_bytes((",".join(CAPTION_HEADER) + "\n" + "".join(chunks)).encode())

    issues = RowIssues(str(path))
    got = {r["template_id"]: r for r in read_rows(path, ("template_id",), issues)}
    for i, row in enumerate(rows):
        if i not in broken:
            assert got[f"t{i}"] == dict(zip(CAPTION_HEADER, row)), i
    reported = {n for n, _ in issues.skipped} | {n for n, _ in issues.repaired}
    assert {starts[i] for i in broken} <= reported
    assert {n for n, _ in issues.skipped} <= broken_lines  # No intact row skipped.
