"""Seeded fault fuzz: bad inputs through `dank classify`, `generate`, `data build`.

``make faults`` runs it. Pictures (``tools/fuzz_cases.py``) go through
``dank classify`` and ``dank generate`` in batches, by calling the CLI's
``main(argv)`` in this process, so TensorFlow loads once; malformed CSV copies
of a source folder go through ``dank data build``. It prints the counts and
exits 1 when anything ended in a traceback or aborted a batch, when a valid
picture got no output, or when a write was left half done. It asserts on
counts only, never on times.

    python -m tools.fuzz_faults [--run RUN] [--count 1000] [--csv-count 100]

Without ``--run`` it trains a tiny run (``tiny`` presets on a synthetic source)
into its temporary folder first. Run as root, it re-executes itself without
the capabilities that let root read a mode-000 file, so that case is real.
"""

import argparse
import contextlib
import dataclasses
import io
import json
import os
import random
import shutil
import sys
import tempfile
import traceback
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

from tools import fuzz_cases  # noqa: E402
from tools.tiny_run import train_tiny_run  # noqa: E402

NO_DAC_FLAG = "DANK_FUZZ_NO_DAC"  # Set once the root re-exec has happened.


@dataclasses.dataclass
class Tally:
    """What one command made of its inputs."""

    tried: int = 0
    outputs: int = 0  # Items with a result (a template list, a PNG).
    item_errors: int = 0  # Items with one clear error line.
    tracebacks: int = 0
    aborts: int = 0  # Batches that ended early or lost an item's line.
    valid: int = 0
    valid_missing: list = dataclasses.field(default_factory=list)
    invalid_passed: list = dataclasses.field(default_factory=list)
    half_written: int = 0
    outcomes: dict = dataclasses.field(default_factory=dict)  # data build only.
    details: list = dataclasses.field(default_factory=list)

    @property
    def failed(self):
        return bool(
            self.tracebacks
            or self.aborts
            or self.valid_missing
            or self.invalid_passed
            or self.half_written
        )


def call_main(argv, stdin=b""):
    """Runs ``dank.apps.cli.main(argv)``; returns ``(status, stdout, stderr, error)``.

    ``error`` is the text of a traceback that escaped ``main`` (None if none).
    """
    from dank.apps import cli

    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
    error, status = None, None
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = cli.main(argv)
    except SystemExit as e:  # argparse refusing the command line.
        status = e.code
    except Exception:  # noqa: BLE001 - counting these is the point.
        error = traceback.format_exc()
    finally:
        sys.stdin = saved
    if error is None and "Traceback (most recent call last)" in err.getvalue():
        error = err.getvalue()
    return status, out.getvalue(), err.getvalue(), error


def run_pictures(command, cases, run, out_dir, batch, tally):
    """Feeds ``cases`` to ``dank classify`` or ``dank generate`` in batches."""
    for start, chunk in enumerate(_batches(cases, batch)):
        stdin_case = next((c for c in chunk if c.path == "-"), None)
        argv = [command, "--run", str(run)]
        if command == "generate":
            argv += ["-n", "1", "--decoder", "diverse", "--beam", "3"]
            argv += ["--max-len", "12"]
            argv += ["--no-filter", "--out", str(out_dir)]
        argv += ["--", *(c.path for c in chunk)]
        stdin = stdin_case.stdin if stdin_case else b""
        status, stdout, _, error = call_main(argv, stdin)
        tally.tried += len(chunk)
        lines = [json.loads(line) for line in stdout.splitlines() if line.strip()]
        if error is not None:
            tally.tracebacks += 1
            tally.details.append(f"{command}: traceback\n{error}")
        if status not in (0, 1) or len(lines) != len(chunk):
            tally.aborts += 1
            tally.details.append(
                f"{command}: batch {start} ended with status {status}, "
                f"{len(lines)} lines for {len(chunk)} inputs"
            )
        for case, line in zip(chunk, lines):
            done = _has_output(command, line)
            tally.outputs += done
            tally.item_errors += "error" in line
            if case.valid and not done:
                tally.valid_missing.append((case.kind, case.path, line.get("error")))
            if case.valid is False and done:
                tally.invalid_passed.append((case.kind, case.path))
        tally.valid += sum(bool(c.valid) for c in chunk)
        tally.valid_missing += [
            (c.kind, c.path, "no line") for c in chunk[len(lines) :] if c.valid
        ]
    if command == "generate":
        tally.half_written += _half_written(out_dir)


def _batches(cases, size):
    """``cases`` in batches of ``size``, each with at most one "-" (stdin).

    Standard input is read once per command, so each stdin case gets a batch
    of its own to ride in.
    """
    files = [c for c in cases if c.path != "-"]
    batches = [files[i : i + size] for i in range(0, len(files), size)]
    for i, case in enumerate(c for c in cases if c.path == "-"):
        if i == len(batches):
            batches.append([])
        batches[i].append(case)
    return batches


def _has_output(command, line):
    if command == "classify":
        return "templates" in line
    return "file" in line and Path(line["file"]).is_file()


def _half_written(out_dir):
    """Leftover temporaries and PNGs that do not decode, under ``out_dir``."""
    from PIL import Image

    bad = 0
    for path in Path(out_dir).glob("*") if Path(out_dir).is_dir() else []:
        if path.name.startswith("."):
            bad += 1
            continue
        try:
            with Image.open(path) as image:
                image.load()
        except OSError:
            bad += 1
    return bad


def run_data_builds(variants, folder, tally):
    """Builds every malformed source folder; counts how each one ends."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, source in variants:
        out = Path(folder) / f"build-{source.name}"
        status, _, stderr, error = call_main(
            ["data", "build", "--source", str(source), "--out", str(out)]
        )
        tally.tried += 1
        if error is not None:
            tally.tracebacks += 1
            tally.details.append(f"data build {name}: traceback\n{error}")
            outcome = "traceback"
        elif status == 0:
            tally.outputs += 1
            outcome = "built"
        elif status == 2 and "dank: error:" in stderr:
            tally.item_errors += 1
            outcome = "clean error"
        else:
            tally.aborts += 1
            tally.details.append(f"data build {name}: status {status}: {stderr[-300:]}")
            outcome = f"status {status}"
        tally.outcomes[outcome] = tally.outcomes.get(outcome, 0) + 1
        # A failed build leaves no build behind, and no build leaves hidden
        # temporaries (``dank.core.io``'s ``.name.*``) beside itself.
        leftovers = [p for p in folder.iterdir() if p.name.startswith(".")]
        tally.half_written += len(leftovers) + (status != 0 and out.exists())
        for path in folder.iterdir():
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink()


def fuzz(work, run=None, count=1000, csv_count=100, seed=0, batch=50):
    """Runs the whole fuzz in the folder ``work``; returns ``{command: Tally}``."""
    from dank.data.synthetic import make_source

    work = Path(work)
    rng = random.Random(seed)
    run = run or train_tiny_run(work / "tiny")
    inputs = work / "inputs"
    cases = fuzz_cases.make_cases(inputs, count, seed)
    closed = fuzz_cases.unreadable(inputs, rng)
    cases.insert(rng.randrange(len(cases) + 1), closed)
    readable = "unreadable" if closed.valid is False else "readable (root's override)"
    print(f"{len(cases)} pictures, seed {seed}; the mode-000 one is {readable}")
    tallies = {}
    try:
        for command in ("classify", "generate"):
            tallies[command] = Tally()
            run_pictures(command, cases, run, work / "memes", batch, tallies[command])
        if csv_count:
            source = make_source(work / "csv-source")
            variants = fuzz_cases.csv_variants(source, work / "csv", csv_count, seed)
            tallies["data build"] = Tally()
            run_data_builds(variants, work / "builds", tallies["data build"])
    finally:
        fuzz_cases.open_up(inputs)
    return tallies


def report(tallies, file=sys.stdout):
    """Prints the figures of each command; returns True if all of them held."""
    ok = True
    for command, t in tallies.items():
        print(f"{command}:", file=file)
        print(f"  inputs tried        {t.tried}", file=file)
        print(f"  outputs written     {t.outputs}", file=file)
        print(f"  per-item errors     {t.item_errors}", file=file)
        print(f"  tracebacks          {t.tracebacks}  (must be 0)", file=file)
        print(f"  batch aborts        {t.aborts}  (must be 0)", file=file)
        print(f"  half-written files  {t.half_written}  (must be 0)", file=file)
        if command == "data build":
            print(f"  outcomes            {t.outcomes}", file=file)
        else:
            print(
                f"  outputs for valid   {t.valid - len(t.valid_missing)} of {t.valid}"
                "  (must be all)",
                file=file,
            )
            print(
                f"  bad inputs passed   {len(t.invalid_passed)}  (must be 0)", file=file
            )
        for line in t.details[:5] + [str(m) for m in t.valid_missing[:5]]:
            print("    " + line.replace("\n", "\n    "), file=file)
        ok &= not t.failed
    return ok


def _drop_dac_override():
    """As root, re-executes this command without DAC override (mode 000 is real).

    ``sys.orig_argv`` keeps ``-m tools.fuzz_faults``, so the re-executed
    process imports ``tools`` as the first one did.
    """
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or os.environ.get(NO_DAC_FLAG) or not setpriv:
        return
    os.environ[NO_DAC_FLAG] = "1"
    caps = "-dac_override,-dac_read_search"
    argv = [setpriv, "--bounding-set", caps, "--", sys.executable, *sys.orig_argv[1:]]
    os.execv(setpriv, argv)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", help="a trained run (default: train a tiny one)")
    parser.add_argument("--count", type=int, default=1000, help="picture inputs")
    parser.add_argument("--csv-count", type=int, default=100, help="CSV variants")
    parser.add_argument(
        "--seed", type=int, default=0, help="the same seed, the same inputs"
    )
    parser.add_argument("--batch", type=int, default=50, help="inputs per command")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = parser.parse_args(argv)
    if argv is None:
        _drop_dac_override()
    work = Path(tempfile.mkdtemp(prefix="dank-faults-"))
    try:
        tallies = fuzz(
            work, args.run, args.count, args.csv_count, args.seed, args.batch
        )
        ok = report(tallies)
    finally:
        if args.keep:
            print(f"inputs and outputs kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"seed {args.seed}: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
