"""``experiments/results/paper.md``: our variants side by side and beside the paper.

One column per experiment (its results JSON, or "not run" throughout when it
has none; a ``paper``-size experiment only once it has a result) and one for
the paper. The paper's column quotes only what
``../shared/PAPER.md`` records: where the paper gives no number the cell says
"not reported"; where our result was not produced it says "not run". Nothing is
estimated or filled in.
"""

from pathlib import Path

from dank.core.errors import DankError
from dank.core.io import read_json, write_text

NOT_RUN = "not run"
NOT_REPORTED = "not reported"
TABLE_FILE = "paper.md"
# Presets too slow for this machine: their columns appear once a result exists
# (every experiment is listed, run or not, in the provenance table).
OPTIONAL_PRESETS = ("paper", "full")


def _fixed(digits):
    return lambda v: f"{v:.{digits}f}"


def _percent(v):
    return f"{100 * v:.1f}%"


def _count(v):
    return str(int(v))


# (row label, path into the results JSON, formatter, the paper's cell).
ROWS = (
    (
        "held-out perplexity, per token",
        ("heldout", "perplexity"),
        _fixed(1),
        "not reported (no held-out split)",
    ),
    (
        "held-out perplexity, per word",
        ("heldout", "perplexity_per_word"),
        _fixed(1),
        "not reported (no held-out split)",
    ),
    ("105-pair protocol: pairs built", ("protocol", "n_pairs"), _count, "105"),
    (
        "105-pair protocol perplexity, per token",
        ("protocol", "perplexity"),
        _fixed(2),
        "reported, number not available [a]",
    ),
    (
        "105-pair protocol perplexity, per word",
        ("protocol", "perplexity_per_word"),
        _fixed(2),
        "reported, number not available [a]",
    ),
    *(
        (f"BLEU-{n}", ("generation", f"bleu{n}"), _fixed(3), NOT_REPORTED)
        for n in range(1, 5)
    ),
    ("distinct-1", ("generation", "distinct1"), _fixed(3), NOT_REPORTED),
    ("distinct-2", ("generation", "distinct2"), _fixed(3), NOT_REPORTED),
    (
        "novelty (not inside a training caption)",
        ("generation", "novelty"),
        _percent,
        NOT_REPORTED,
    ),
    (
        "template fidelity, generated captions",
        ("generation", "fidelity_generated"),
        _percent,
        NOT_REPORTED,
    ),
    (
        "template fidelity, real test captions",
        ("generation", "fidelity_real"),
        _percent,
        NOT_REPORTED,
    ),
    (
        "real-vs-generated accuracy (50% = indistinguishable)",
        ("generation", "real_vs_generated_accuracy"),
        _percent,
        "about 70% (human raters) [b]",
    ),
    (
        "template top-1 (vision, synthetic val memes)",
        ("vision", "val_top1"),
        _percent,
        "not reported (template given) [c]",
    ),
    (
        "captions/s (generation)",
        ("generation", "captions_per_second"),
        _fixed(1),
        NOT_REPORTED,
    ),
)

NOTES = """\
How our protocols differ from the paper's:

- [a] The paper reported perplexity, but its results tables could not be
  obtained (`../shared/PAPER.md`), so no number of it is quoted here.
- Held-out perplexity: our test split (10% of each template's captions, no
  caption text shared with training), every token of `<s> top <sep> bottom
  </s>` after `<s>` predicted; per word divides by the whitespace words of the
  normalised caption plus one (`dank/models/language/perplexity.py`). The paper had no
  held-out split.
- 105-pair protocol: the paper's list of (template, caption-opening) pairs is
  not available, so it is rebuilt by a fixed rule from the test split
  (`dank/apps/reproduce/protocol.py`; `dank experiment pairs --data DIR` prints
  them): per template the longest common 2-4 token opening of its top boxes,
  templates ranked by how many captions share it, one pair per template. The
  model is given the template and scores the opening's tokens only. A build with
  fewer eligible templates yields fewer than 105 pairs (row "pairs built").
  These are the most formulaic words a template has: the number is far below
  held-out perplexity and does not compare with it.
- Generation metrics (`dank/metrics/`): captions generated per template of the
  test split with the decoder named below; BLEU against that template's test
  captions; novelty is the share not found verbatim inside a training caption
  (the paper's "percent in data", inverted); template fidelity is the accuracy
  of a caption-to-template text classifier trained on training captions.
- [b] Real-vs-generated: ours is an automated bag-of-words classifier trained
  on half of held-out real and generated captions and tested on the other half;
  the paper's is human raters looking at drawn memes. Both read "50% =
  indistinguishable", but they are different measurements.
- [c] Template top-1: our ResNet50 on synthetic memes drawn from validation
  captions. The paper's model was given the template (Inception-v3 features of
  its picture) and had no classifier.
- Data and size: the `-cpu` experiments use the starter set (100 templates)
  and the `cpu` preset, far smaller and shorter-trained than the paper's model;
  the `-paper` ones use the full build and the `paper` preset (LSTM 512, SGD
  2.0 halved every 8 epochs, about 56 epochs, as the paper). Our captions keep a
  `<sep>` between top and bottom; the paper's had none (2,600 memegenerator
  templates, 355k captions). Speeds come from the machine named below, whose
  CPU may have been shared (its 1-minute load average is recorded).
"""


def _value(result, path):
    for key in path:
        if not isinstance(result, dict) or result.get(key) is None:
            return None
        result = result[key]
    return result


def _cell(result, path, fmt):
    value = _value(result, path)
    return NOT_RUN if value is None else fmt(value)


def load_results(experiments, results_dir):
    """``{name: results dict or None}`` for ``experiments``, in order."""
    out = {}
    for e in experiments:
        path = Path(results_dir) / f"{e.name}.json"
        out[e.name] = read_json(path, "experiment results") if path.is_file() else None
    return out


def _row(cells):
    return "| " + " | ".join(cells) + " |"


def render_table(experiments, results):
    """The Markdown text of ``paper.md``.

    Args:
        experiments: ``Experiment`` objects, one column each, in order (those
            of an ``OPTIONAL_PRESETS`` preset only when they have a result).
        results: ``{name: results dict or None}`` (``load_results``).
    """
    names = [
        e.name
        for e in experiments
        if results.get(e.name) or e.preset not in OPTIONAL_PRESETS
    ]
    lines = [
        "# Our results beside the paper's",
        "",
        "Written by `dank experiment run` / `dank experiment table` (`make "
        "paper`) from `experiments/results/<experiment>.json`; "
        f'"{NOT_RUN}": we have no result; "{NOT_REPORTED}": the paper gives '
        "no number.",
        "",
        _row(["metric", *names, "paper (Peirson & Tolunay 2018)"]),
        _row(["---"] * (len(names) + 2)),
    ]
    for label, path, fmt, paper in ROWS:
        lines.append(
            _row([label, *(_cell(results.get(n), path, fmt) for n in names), paper])
        )
    lines += [
        "",
        'Where each column comes from (to fill a "not run" row: `dank '
        "experiment run NAME`; the paper-size ones, meant for a GPU: "
        "`PAPER_SIZE=paper make paper`):",
        "",
        _row(
            [
                "experiment",
                "variant",
                "preset",
                "overrides",
                "data build",
                "decoder",
                "machine",
                "date",
            ]
        ),
        _row(["---"] * 8),
    ]
    for e in experiments:
        r = results.get(e.name)
        if r is None:
            lines.append(
                _row(
                    [
                        e.name,
                        e.variant,
                        e.preset,
                        _overrides(e.overrides),
                        e.data,
                        NOT_RUN,
                        NOT_RUN,
                        NOT_RUN,
                    ]
                )
            )
            continue
        machine = r.get("machine") or {}
        data = r.get("data") or {}
        lines.append(
            _row(
                [
                    e.name,
                    r["variant"],
                    r["preset"],
                    _overrides(r.get("overrides")),
                    f"{data.get('path')} ({data.get('templates')} templates)",
                    str(_value(r, ("generation", "decoder")) or NOT_RUN),
                    f"{machine.get('cpu')}, {machine.get('cores')} cores, load "
                    f"{machine.get('load_average_1min')}",
                    str(r.get("date", ""))[:10],
                ]
            )
        )
    return "\n".join(lines) + "\n\n" + NOTES


def _overrides(overrides):
    return ", ".join(f"{k}={v}" for k, v in (overrides or {}).items()) or "none"


def write_table(experiments, results_dir):
    """Writes ``results_dir/paper.md`` atomically and returns its path."""
    from dank.models.language.config import VARIANTS

    if not experiments:
        raise DankError("no experiments to tabulate")
    # Ours first, then the paper's (a), (b), (c); the optional sizes last.
    experiments = sorted(
        experiments,
        key=lambda e: (e.preset in OPTIONAL_PRESETS, VARIANTS.index(e.variant), e.name),
    )
    results = load_results(experiments, results_dir)
    path = Path(results_dir) / TABLE_FILE
    write_text(path, render_table(experiments, results))
    return path
