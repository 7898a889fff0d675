"""The model card (``MODEL_CARD.md``) written beside every export.

It says what the exported models were trained on, what they are for and not
for, what is known about their biases, how well they did and how they decode,
all read from the run (``dank.models.run.Run``) and the export's settings, so a
folder handed to someone else explains itself.
"""

import dataclasses
import importlib.metadata
from pathlib import Path

from dank import DISTRIBUTION, __version__
from dank.core import constants
from dank.core.errors import DankError
from dank.core.io import read_json, write_text
from dank.models.run import Run

CARD_FILE = "MODEL_CARD.md"
# The data build's own summary (``dank data build``), read when it is still there.
SUMMARY_FILE = "summary.json"
# Generation metrics shown when the run's caption metrics carry them
# (``dank evaluate captions``), as (key, what it measures).
QUALITY = (
    ("novelty", "novelty: generated captions not in the training set"),
    ("fidelity_generated", "template fidelity of generated captions"),
    ("distinct2", "distinct-2: unique bigrams over all bigrams"),
    ("bleu4", "BLEU-4 against the test captions of the template"),
    (
        "real_vs_generated_accuracy",
        "a detector telling real from generated captions (50% = indistinguishable)",
    ),
    ("flagged_share", "generated captions the offensive-content filter flags"),
)
# The TensorFlow wheels: one of them is installed (setup.cfg's extras).
TF_WHEELS = ("tensorflow-cpu", "tensorflow", "tensorflow-tpu")


def write_model_card(run, out_dir, decode_config, export_format, mix_top_k=1):
    """Writes ``MODEL_CARD.md`` for an export of ``run`` into ``out_dir``.

    Args:
        run: the exported run (a path or a ``Run``).
        out_dir: the export folder.
        decode_config: the export's ``DecodeConfig``.
        export_format: ``"savedmodel"`` or ``"onnx"``.
        mix_top_k: ``generate`` mixes the top-k templates by probability.

    Returns:
        The card's path.
    """
    path = Path(out_dir) / CARD_FILE
    write_text(path, model_card(run, decode_config, export_format, mix_top_k))
    return path


def model_card(run, decode_config, export_format, mix_top_k=1):
    """The text of the model card (Markdown); see ``write_model_card``."""
    run = Run.open(run)
    language = constants.LANGUAGE_DIR
    variant = run.config(language).get("variant", "template")
    parts = [
        f"# Model card: dank, run `{run.path}`",
        "",
        "A meme generator after Dank Learning (Peirson & Tolunay, 2018): a "
        "ResNet50 classifier recognises which meme template a picture shows, an "
        f"LSTM caption model ({variant} variant) writes top and bottom text for "
        "that template, and a decoder picks the words. Exported as "
        f"{'a SavedModel' if export_format == 'savedmodel' else 'ONNX files'} "
        "by `dank export`.",
        "",
        "## Training data",
        "",
        *_data(run),
        "",
        "## Intended use",
        "",
        "- Research on caption generation and on humour, and reproducing the paper.",
        "- Suggesting captions for a known meme template to a person who reads "
        "them before anything is shown to others.",
        "",
        "## Out-of-scope uses",
        "",
        "- Posting generated captions anywhere without a person reading them first.",
        "- Anything that targets, describes or decides about real people.",
        "- Recognising or moderating arbitrary images: the classifier knows only "
        "its templates and was tested on pictures of them.",
        "- Commercial use of the template images, which belong to third parties.",
        "",
        "## Known biases and limits",
        "",
        "The captions come from meme sites and carry their humour: profanity, "
        "sexual jokes, slurs and stereotypes about groups of people. `docs/bias.md` "
        "in the dank repository measures them and what dank does about them; in "
        "short:",
        "",
        "- The offensive-content filter is a word list (`dank/safety/lexicon.txt`). "
        "At training time it drops every flagged caption (or down-weights it) and "
        "whole templates on a blocklist; at generation time `dank generate`, "
        "`dank serve` and the ONNX runner resample any flagged caption.",
        "- A word list is not understanding: it misses unlisted or coded words, "
        "hateful captions in polite words, and meaning carried by the picture. "
        "Stereotypes without a listed word survive, and so does the skew towards "
        "a few popular templates.",
        *_filter_note(export_format),
        "- English only; captions are short, upper-case meme text, and the model "
        "repeats the phrasing of the most captioned templates.",
        "",
        "## Metrics",
        "",
        *_metrics(run),
        "",
        "## Decoder",
        "",
        *_decoder(decode_config, export_format, mix_top_k),
        "",
        "## Versions",
        "",
        f"- Trained with dank {run.info.get('dank_version', '?')} (run format "
        f"{run.info.get('format', '?')}); exported with dank {__version__} "
        f"(distribution `{DISTRIBUTION}`).",
        f"- Keras {_version('keras')}, TensorFlow {_version(*TF_WHEELS)}.",
        "",
        "## Licence",
        "",
        "The dank code is MIT-licensed. The training captions and template images "
        "belong to third parties: research use only.",
        "",
    ]
    return "\n".join(parts)


def _data(run):
    """The training data section's lines."""
    catalogue, vocab = run.catalogue, run.vocab
    captions = sum(t.n_captions for t in catalogue)
    lines = [
        f"- Data build: `{run.info.get('data', '?')}`.",
        f"- {len(catalogue)} templates, {captions:,} captions after cleaning and "
        f"filtering, a vocabulary of {len(vocab):,} tokens.",
    ]
    try:
        summary = read_json(run.data_dir / SUMMARY_FILE, what="build summary")
    except (DankError, TypeError):
        # No build recorded (TypeError), or it moved or is gone: the card is
        # still worth writing without it.
        return [*lines, "- The data build's summary was not found."]
    splits = summary.get("captions_per_split") or {}
    safety = summary.get("safety_filter") or {}
    lines.insert(1, f"- Source: `{summary.get('source', '?')}`.")
    if splits:
        counts = ", ".join(f"{n:,} {split}" for split, n in splits.items())
        lines.append(f"- Caption splits: {counts}.")
    if safety:
        mode = safety.get("mode") if safety.get("enabled") else "off"
        lines.append(f"- Training-time offensive-content filter: mode `{mode}`.")
    card = run.data_dir / constants.CARD_FILE
    if card.is_file():
        lines.append(f"- The dataset card: `{card}`.")
    return lines


def _filter_note(export_format):
    """What the export itself does about flagged captions, as card lines."""
    if export_format == "onnx":
        return [
            "- This export's `ort_runner.py` ships with the filter and resamples "
            "flagged captions; `no_filter=True` turns that off for research."
        ]
    return [
        "- This SavedModel's endpoints return the decoder's captions unfiltered: "
        "pass each through `dank.safety.SafetyFilter` before showing it."
    ]


def _percent(value):
    return f"{100 * value:.1f}%"


def _metrics(run):
    """The metrics section's lines: whatever the run's training recorded."""
    lines = []
    vision = run.metrics(constants.VISION_DIR) or {}
    if "val_top1" in vision:
        lines.append(
            f"- Template recognition: top-1 {_percent(vision['val_top1'])}, top-5 "
            f"{_percent(vision.get('val_top5', float('nan')))} on "
            f"{vision.get('n_val', '?')} held-out synthetic memes (captions drawn "
            f"on augmented pictures of the {vision.get('n_templates', '?')} "
            "templates)."
        )
    if "known_recall" in vision:
        lines.append(
            f"- Known-template recall {_percent(vision['known_recall'])}, "
            f"unknown-picture rejection {_percent(vision['unknown_rejection'])}."
        )
    language = run.metrics(constants.LANGUAGE_DIR) or {}
    test = language.get("test") or {}
    if "perplexity" in test:
        lines.append(
            f"- Caption perplexity on {test.get('n', '?')} test captions: "
            f"{test['perplexity']:.1f} per token, "
            f"{test.get('perplexity_per_word', float('nan')):.1f} per word."
        )
    trigram = (
        language.get("baselines", {}).get("test", {}).get("kn_trigram_template", {})
    )
    if "perplexity" in trigram:
        lines.append(
            "- Baseline: a Kneser-Ney trigram per template, "
            f"{trigram['perplexity']:.1f} per token."
        )
    generation = language.get("generation") or {}
    lines += [
        f"- {what}: {_percent(generation[key])}."
        for key, what in QUALITY
        if isinstance(generation.get(key), (int, float))
    ]
    humor = run.metrics("humor") or {}
    if "val_spearman_target" in humor:
        lines.append(
            "- Humour model (reranking): Spearman "
            f"{humor['val_spearman_target']:.3f} with its target on validation."
        )
    if test and not generation:
        lines.append(
            "- Caption quality (novelty, fidelity, real-vs-generated): "
            f"`dank evaluate captions --run {run.path}`, or `make quality`."
        )
    return lines or ["- The run recorded no metrics."]


def _decoder(decode_config, export_format, mix_top_k):
    """The decoder section's lines: the export's settings and what else it has."""
    settings = ", ".join(
        f"{k}={v}" for k, v in dataclasses.asdict(decode_config).items()
    )
    if export_format == "onnx":
        others = "The ONNX runner takes any decoder at run time; this is its default."
    else:
        others = (
            "`caption` and `generate` use it; `caption_greedy`, `caption_beam`, "
            "`caption_diverse` and `caption_sample` offer the others."
        )
    return [
        f"- `{decode_config.method}`: {settings}.",
        f"- `generate` conditions on the top {mix_top_k} template(s), mixed by "
        "probability.",
        f"- {others}",
    ]


def _version(*names):
    """The installed version of the first of ``names`` found, or ``?``."""
    for name in names:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "?"
