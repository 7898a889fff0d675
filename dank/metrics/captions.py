"""``dank evaluate captions``: perplexity of a run's caption model on a CSV or the
test split, and the quality of the captions it generates (``dank.metrics``).

The CSV has the columns of ``../shared/data/memes/captions.csv``
(``template_id``, ``top``, ``bottom``; others ignored; ``.csv.gz`` also read).
Templates are looked up with ``Catalogue.find`` (ids, aliases, names); rows
whose template the run does not know are counted and skipped. Text goes
through the build's own tokenisation (``dank.data.text.caption_tokens``).
"""

import csv
import gzip
from pathlib import Path

from dank.core.errors import DankError

REQUIRED_COLUMNS = ("template_id", "top", "bottom")


def read_caption_csv(path):
    """Yields the rows of a caption CSV as dicts; DankError if unusable."""
    path = Path(path)
    if not path.is_file():
        raise DankError(f"caption CSV {path} not found")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise DankError(
                f"{path} lacks the column(s) {', '.join(missing)}; a caption CSV needs "
                f"{', '.join(REQUIRED_COLUMNS)}"
            )
        yield from reader


def captions_from_csv(path, catalogue, vocab):
    """``(captions, unknown)``: scored caption dicts and the skipped-row count."""
    from dank.data.text import caption_tokens

    labels, captions, unknown = {}, [], 0
    for row in read_caption_csv(path):
        template_id = (row["template_id"] or "").strip()
        if template_id not in labels:
            try:
                labels[template_id] = catalogue.find(template_id).label
            except DankError:
                labels[template_id] = None
        label = labels[template_id]
        if label is None:
            unknown += 1
            continue
        top, bottom = row["top"] or "", row["bottom"] or ""
        captions.append(
            {
                "label": label,
                "tokens": vocab.encode(caption_tokens(top, bottom)),
                "top": top,
                "bottom": bottom,
            }
        )
    return captions, unknown


def evaluate_csv(run_dir, path, batch_size=256):
    """Perplexity summary of the CSV's captions under the run's caption model."""
    from dank.models.language.perplexity import evaluate_captions
    from dank.models.run import Run

    run = Run.open(run_dir)
    model = run.captioner()
    captions, unknown = captions_from_csv(path, run.catalogue, run.vocab)
    if not captions:
        raise DankError(
            f"no row of {path} names a template of {run} ({unknown} unknown); "
            "check the template_id column"
        )
    result = evaluate_captions(model, captions, batch_size)
    result["unknown_templates"] = unknown
    result["normalisation"] = (
        "dank.data.text.normalize: NFKC, lower case, "
        "emoji/control removed, spaces collapsed; words split on whitespace"
    )
    return result


def evaluate_run(
    run_dir,
    csv=None,
    batch_size=256,
    data_dir=None,
    generation=True,
    decoder=None,
    per_template=5,
    seed=0,
    save_generated=None,
):
    """What ``dank evaluate captions`` prints.

    Perplexity of ``csv``'s captions (``evaluate_csv``), or of the test split
    of the run's data build when there is no CSV; with ``generation``, the
    ``dank.metrics.generation_metrics`` of captions generated for the same
    templates, under the key ``"generation"``, the captions themselves saved
    to ``save_generated`` (JSONL) when it is given.

    Raises:
        DankError: bad settings (checked before anything runs), or a missing
            run, build, CSV or test caption.
    """
    if per_template < 1:
        raise DankError(f"captions per template must be >= 1, got {per_template}")
    if save_generated is not None:
        from dank.metrics.saved import check_writable

        if not generation:
            raise DankError("--save-generated needs generation; drop --no-generation")
        check_writable(save_generated)
    from dank.models.run import Run

    run = Run.open(run_dir)  # Loaded once for both perplexity and generation.
    if csv is not None:
        result = evaluate_csv(run, csv, batch_size)
    else:
        result = _evaluate_test_split(run, data_dir, batch_size)
    if generation:
        from dank.metrics import generation_metrics

        result["generation"] = generation_metrics(
            run,
            data_dir=data_dir,
            decoder=decoder,
            per_template=per_template,
            seed=seed,
            csv=csv,
            save_generated=save_generated,
        )
    return result


def _evaluate_test_split(run_dir, data_dir, batch_size):
    from dank.data.pipeline import load_captions
    from dank.models.language.perplexity import evaluate_captions
    from dank.models.run import Run

    run = Run.open(run_dir)
    data_dir = run.data_build(data_dir, instead="pass --data DIR")
    captions = load_captions(data_dir, "test")
    if not captions:
        raise DankError(f"{data_dir} has no test captions; rebuild it")
    result = evaluate_captions(run.captioner(), captions, batch_size)
    result["data"] = str(data_dir)
    return result
