"""``dank summary --run DIR``: what ``make train`` prints when it is done.

Where the run is, its key numbers (vision val top-1; caption perplexity, with
the n-gram baseline when ``metrics.json`` records one), where the sample memes
are, and the next commands to try.
"""

import shlex
from pathlib import Path

from dank.apps.doctor.metrics import baseline_perplexity, split_perplexity
from dank.core import constants

# The commands suggested at the end, formatted with the run directory.
NEXT_COMMANDS = (
    ("watch the training curves", "make tensorboard"),
    ("meme your own picture", "dank generate --run {run} IMAGE"),
    ("caption one template", "dank generate --run {run} --template {template} -n 3"),
    ("export for serving", "dank export --run {run}  (see `dank export --help`)"),
    ("check everything", "dank doctor --run {run}"),
)


def summarize_run(run_dir):
    """The summary as a JSON-able dict (``DankError`` when not a run)."""
    from dank.models.run import Run

    run = Run.open(run_dir)
    run_dir, info = run.path, run.info
    vision = run.metrics(constants.VISION_DIR)
    language = run.metrics(constants.LANGUAGE_DIR)
    samples_dir = run.layout.samples_dir
    samples = sorted(str(p) for p in samples_dir.glob("*.png"))
    baseline = baseline_perplexity(language)
    # Quoted for the shell: template names and paths may hold spaces or quotes.
    quoted = {
        "run": shlex.quote(str(run_dir)),
        "template": shlex.quote(_most_captioned(run)),
    }
    return {
        "run": str(run_dir.resolve()),
        "data": info.get("data"),
        "vision": None
        if vision is None
        else {
            "val_top1": vision.get("val_top1"),
            "val_top5": vision.get("val_top5"),
            "templates": vision.get("n_templates"),
        },
        "language": None
        if language is None
        else {
            "variant": language.get("variant"),
            "val_perplexity": split_perplexity(language, "val"),
            "test_perplexity": split_perplexity(language, "test"),
            "test_perplexity_per_word": (language.get("test") or {}).get(
                "perplexity_per_word"
            ),
            "baseline": None
            if baseline is None
            else {"name": baseline[0], "perplexity": baseline[1]},
        },
        "samples_dir": str(samples_dir),
        "samples": samples,
        "next": [
            {"what": what, "command": command.format(**quoted)}
            for what, command in NEXT_COMMANDS
        ],
    }


def _most_captioned(run):
    """The name of the run's template with the most captions (for examples)."""
    from dank.core.errors import DankError

    try:
        catalogue = run.catalogue
    except DankError:
        return "Success Kid"
    return max(catalogue, key=lambda t: t.n_captions).name if len(catalogue) else ""


def _pct(x):
    return "not recorded" if x is None else f"{x:.1%}"


def _num(x):
    return "not recorded" if x is None else f"{x:.1f}"


def render_summary(s):
    """The summary dict as terminal text."""
    lines = [f"Run: {s['run']}", f"  trained on {s['data']}"]
    v = s["vision"]
    if v is None:
        lines.append(
            "  template classifier: not trained (`dank train vision --run RUN`)"
        )
    else:
        lines.append(
            f"  template classifier: val top-1 {_pct(v['val_top1'])}, top-5 "
            f"{_pct(v['val_top5'])} over {v['templates']} templates"
        )
    lang = s["language"]
    if lang is None:
        lines.append("  caption model: not trained (`dank train language --run RUN`)")
    else:
        line = (
            f"  caption model ({lang['variant']}): test perplexity "
            f"{_num(lang['test_perplexity'])} per token"
        )
        if lang["test_perplexity_per_word"] is not None:
            line += f", {_num(lang['test_perplexity_per_word'])} per word"
        base = lang["baseline"]
        if base is not None:
            better = lang["test_perplexity"] is not None and (
                lang["test_perplexity"] < base["perplexity"]
            )
            line += (
                f"; {base['name']} baseline {_num(base['perplexity'])} "
                f"({'beaten' if better else 'NOT beaten: train longer'})"
            )
        lines.append(line)
    if s["samples"]:
        lines.append(f"  sample memes: {len(s['samples'])} in {s['samples_dir']}/")
    else:
        lines.append(
            f"  sample memes: none yet (`dank generate --run {Path(s['run'])} "
            "--samples`)"
        )
    lines += ["", "Next:"]
    width = max(len(n["what"]) for n in s["next"])
    lines += [f"  {n['what']:<{width}}  {n['command']}" for n in s["next"]]
    return "\n".join(lines)
