"""Both imgflip-style stand-ins, the second look, and unknown pictures held out.

For one trained run, this renders the old (``clean``) and the new (``wild``)
stand-in from the test split (``tools/render_eval_memes.py``, 2 memes per
template, fixed seed) and reports, in one JSON file and a small Markdown
table:

* top-1/top-5 on both: the classifier alone, with the test-time views
  (``dank.models.vision.views``), and with the second look
  (``dank.models.vision.rerank``), whose weight is fitted on wild memes
  rendered from the *val* split, never on the test stand-in;
* images/s of classification alone, with the views and with the second look
  (and their ratios, measured in the same run);
* the unknown-picture threshold calibrated on set A (known: the val-split
  wild memes; unknown: half of the out-of-catalogue pictures) and reported on
  set B (known: the wild test stand-in; unknown: the other half): the
  false-reject rate on known templates and the false-accept rate on unknown
  pictures, beside the run's own threshold on set B.

Out-of-catalogue pictures are the templates of ``--shared``'s ``templates/``
that are not in the run's catalogue (other memes), drawn wild-style, plus
synthetic photo-like pictures (colour fields and noise). There are no real
photos offline.

Usage::

    python -m experiments.vision.standins --run runs/default \\
        --data data/build/starter \\
        --out experiments/results/vision-standins-starter.json \\
        [--shared ../shared/data/memes]
"""

import argparse
import csv
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from dank.core import keypoints
from dank.core.images import open_image
from dank.core.io import write_bytes, write_text
from dank.core.run import template_image_path
from dank.models.run import Run
from dank.models.vision import calibrate, rerank, views
from dank.models.vision.evaluate import read_labels
from dank.models.vision.predict import classify_files, load_array, multi_view
from experiments.baselines import phash
from tools import render_eval_memes

# Second-look weights tried on the val set: inliers x agreement, agreement.
WEIGHTS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5)
AGREES = (0.0, 2.0, 5.0, 10.0, 20.0)
SYNTHETIC_UNKNOWN = 40  # Photo-like pictures per unknown set.
BATCH = 32
RATE_IMAGES = 512  # Wild memes timed for images/s (the first ones).
HASH_SIZE = 8  # pHash side: 64 bits, as experiments.baselines.phash.
# Wild memes whose effects are all among these are "light": what a meme made on
# a site and shared on looks like (stamped, re-compressed, cropped, another
# font). The others also carry a border, a screenshot frame, a second picture
# or a box over the subject.
LIGHT = {"none", "watermark", "other-mark", "recompressed", "restyled", "crop"}


def unknown_pictures(run, shared, n, seed, out):
    """Writes ``n`` out-of-catalogue memes and ``SYNTHETIC_UNKNOWN`` synthetic
    pictures into ``out``; returns ``(A paths, B paths)``, split half and half."""
    known = {run.catalogue[i].id.lower() for i in range(len(run.catalogue))}
    known |= {
        a.lower() for i in range(len(run.catalogue)) for a in run.catalogue[i].aliases
    }
    files = sorted(
        p
        for p in (Path(shared) / "templates").glob("*.jpg")
        if p.stem.lower() not in known
    )
    rng = random.Random(seed)
    rng.shuffle(files)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, path in enumerate(files[:n]):
        try:
            picture = open_image(path)
        except Exception:  # noqa: BLE001 - a broken download is just skipped.
            continue
        text = rng.choice(render_eval_memes.wild.FILLER)
        data, _ = render_eval_memes.render_wild(picture, text, "", None, rng)
        write_bytes(out / f"other-{i:04d}.jpg", data)
        paths.append(out / f"other-{i:04d}.jpg")
    for i in range(SYNTHETIC_UNKNOWN * 2):
        paths.append(_synthetic(out / f"synthetic-{i:04d}.jpg", seed, i))
    return paths[0::2], paths[1::2]


def _synthetic(path, seed, i):
    import tensorflow as tf
    from PIL import Image

    from dank.models.vision.augment import synthetic_unknown

    pixels = synthetic_unknown(tf.constant([seed, i], tf.int32), 320).numpy()
    Image.fromarray(pixels.astype(np.uint8)).save(path, quality=85)
    return path


def probabilities(classifier, paths):
    """Full probability rows [N, n_templates] and the decoded pictures."""
    arrays = [load_array(str(p), classifier.image_size) for p in paths]
    probs = [
        classifier.predict(arrays[i : i + BATCH])[0]
        for i in range(0, len(arrays), BATCH)
    ]
    return np.concatenate(probs), arrays


def _hits(run, order, ids):
    t = run.catalogue[int(order[0])]
    top1 = bool({t.id.lower(), *(a.lower() for a in t.aliases)} & ids)
    top5 = any(
        {
            run.catalogue[int(j)].id.lower(),
            *(a.lower() for a in run.catalogue[int(j)].aliases),
        }
        & ids
        for j in order[:5]
    )
    return top1, top5


def score_set(run, second_look, folder):
    """Classifies a rendered set; returns its rows, probabilities (of the
    whole pictures and over the test-time views) and the second look's
    evidence (``SecondLook.scores``) for each image's top candidates by the
    views (what ``dank classify`` re-ranks)."""
    rows = read_labels(folder / "labels.csv")
    probs, arrays = probabilities(
        run.classifier, [folder / "images" / r[0] for r in rows]
    )
    viewed = np.concatenate(
        [
            multi_view(run.classifier, arrays[i : i + BATCH], probs[i : i + BATCH])
            for i in range(0, len(arrays), BATCH)
        ]
    )
    evidence = np.stack(
        [
            second_look.scores(
                a, np.argsort(-p, kind="stable")[: rerank.TOP_K], run.catalogue
            )
            for a, p in zip(arrays, viewed)
        ]
    )
    return {"rows": rows, "probs": probs, "views": viewed, "evidence": evidence}


def first_memes(scored):
    """``scored`` cut to the first meme of each template (files ``*-0.jpg``):
    with ``--per-template`` above 1, the set a 1-per-template run scores."""
    keep = [i for i, row in enumerate(scored["rows"]) if row[0].endswith("-0.jpg")]
    return {
        name: [value[i] for i in keep] if name == "rows" else value[keep]
        for name, value in scored.items()
    }


def accuracy(run, scored, weights=None, effects=None, key="probs"):
    """Top-1/top-5 of the whole pictures (``key="probs"``) or of the test-time
    views (``key="views"``), the latter re-ranked by the second look at
    ``weights`` (``(weight, agree)`` of ``rerank.combine``; None: not
    at all); with ``effects`` (file -> the wild effects it got) also top-1
    per effect and over the ``LIGHT`` and the other ("heavy") memes."""
    top1 = top5 = 0
    per_effect, per_group = {}, {}
    for (file, ids, _), p, evidence in zip(
        scored["rows"], scored[key], scored["evidence"]
    ):
        if weights is None:
            order = np.argsort(-p, kind="stable")
        else:
            order = rerank.ranking(p, evidence, *weights)
        h1, h5 = _hits(run, order, ids)
        top1 += h1
        top5 += h5
        got = (effects or {}).get(file, ())
        groups = ["light" if set(got) <= LIGHT else "heavy"] if got else []
        for table, keys in ((per_effect, got), (per_group, groups)):
            for key in keys:
                hits = table.setdefault(key, [0, 0])
                hits[0] += h1
                hits[1] += 1
    n = len(scored["rows"])
    result = {"n": n, "top1": top1 / n, "top5": top5 / n}
    if effects is not None:
        for name, table in (("effect", per_effect), ("group", per_group)):
            result[f"top1_by_{name}"] = {
                e: {"n": m, "top1": h / m} for e, (h, m) in sorted(table.items())
            }
    return result


def read_effects(folder):
    """``{file: [effect, ...]}`` of a wild set (``effects.csv``; "none" if it got
    none)."""
    with (folder / "effects.csv").open(newline="") as f:
        return {
            r["file"]: r["effects"].split(";") if r["effects"] else ["none"]
            for r in csv.DictReader(f)
        }


def phash_scores(data, folders):
    """The perceptual-hash baseline (``experiments.baselines.phash``) per set."""
    catalogue, table = phash.template_hashes(data, HASH_SIZE)
    return {
        name: phash.score_csv(
            folder / "labels.csv", folder / "images", catalogue, table, HASH_SIZE
        )
        for name, folder in folders.items()
    }


def images_per_second(run, paths, second_look, views=False):
    """Images/s of ``classify_files`` on ``paths`` (decoding included)."""
    start = time.perf_counter()
    for _ in classify_files(
        paths, run.classifier, second_look=second_look, views=views
    ):
        pass
    return len(paths) / (time.perf_counter() - start)


def experiment(
    run_dir, data, out, shared, per_template=2, seed=0, n_unknown=160, keep=None
):
    """Runs it all and writes ``out`` (JSON) and its ``.md`` table. ``keep``:
    a folder that keeps the rendered sets and each set's scores (``scores.npz``:
    probabilities, the views' and the second look's evidence), for re-scoring
    without a new run; None: they go with the temporary folder."""
    run = Run.open(run_dir)
    data = run.data_build(data)
    work = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="standins-"))
    sets = {
        "clean": dict(split="test", style="clean", per_template=per_template),
        "wild": dict(split="test", style="wild", per_template=per_template),
        "val-wild": dict(split="val", style="wild", per_template=1),
    }
    for name, kwargs in sets.items():
        render_eval_memes.render_set(data, work / name, seed=seed, **kwargs)
    unknown_a, unknown_b = unknown_pictures(
        run, shared, n_unknown, seed, work / "unknown"
    )
    second_look = rerank.SecondLook(lambda t: open_image(template_image_path(data, t)))
    # val-wild fits the second look's weight and calibrates the threshold.
    scored = {name: score_set(run, second_look, work / name) for name in sets}
    if keep:
        for name, values in scored.items():
            np.savez(
                work / name / "scores.npz",
                **{k: v for k, v in values.items() if k != "rows"},
            )
    grid = [(w, a) for w in WEIGHTS for a in AGREES]
    val = scored["val-wild"]
    fit = {wa: accuracy(run, val, wa, key="views")["top1"] for wa in grid}
    weights = max(grid, key=lambda wa: (fit[wa], -wa[0], -wa[1]))
    second_look.weight, second_look.agree = weights
    effects = {"clean": None, "wild": read_effects(work / "wild")}
    standins = {
        name: {
            "classifier": accuracy(run, scored[name], None, effects[name]),
            "views": accuracy(run, scored[name], None, effects[name], key="views"),
            "second_look": accuracy(
                run, scored[name], weights, effects[name], key="views"
            ),
        }
        for name in ("clean", "wild")
    }
    baseline = phash_scores(data, {n: work / n for n in ("clean", "wild")})
    for name in ("clean", "wild"):
        standins[name]["phash"] = baseline[name]
    # What `dank classify` does: rerank's own weights, if the fit chose others.
    defaults = (rerank.WEIGHT, rerank.AGREE)
    standins["wild"]["second_look_defaults"] = {
        "weights": list(defaults),
        **accuracy(run, scored["wild"], defaults, key="views"),
    }
    first = first_memes(scored["wild"])
    standins["wild"]["first_per_template"] = {
        "note": "the first meme of each template: the set of a 1-per-template run",
        "classifier": accuracy(run, first)["top1"],
        "views": accuracy(run, first, key="views")["top1"],
        "second_look": accuracy(run, first, weights, key="views")["top1"],
        "second_look_defaults": accuracy(run, first, defaults, key="views")["top1"],
        "n": len(first["rows"]),
    }
    wild_paths = [work / "wild" / "images" / r[0] for r in scored["wild"]["rows"]]
    wild_paths = wild_paths[:RATE_IMAGES]
    images_per_second(run, wild_paths[:BATCH], None)  # Traces the model.
    plain = images_per_second(run, wild_paths, None)
    images_per_second(run, wild_paths[:BATCH], None, views=True)  # Traces.
    viewed = images_per_second(run, wild_paths, None, views=True)
    looked = images_per_second(run, wild_paths, second_look, views=True)

    def max_prob(paths):
        return probabilities(run.classifier, paths)[0].max(axis=1)

    known_a = scored["val-wild"]["probs"].max(axis=1)
    known_b = scored["wild"]["probs"].max(axis=1)
    unk_a, unk_b = max_prob(unknown_a), max_prob(unknown_b)
    chosen = calibrate.choose_threshold(known_a, unk_a, "set A")["threshold"]
    run_threshold = run.classifier.threshold
    results = {
        "run": str(run_dir),
        "data": str(data),
        "n_templates": len(run.catalogue),
        "image_size": run.classifier.image_size,
        "per_template": per_template,
        "seed": seed,
        "standins": standins,
        "views": {
            "names": ["whole", *views.NAMES],
            "images_per_s": viewed,
            "slowdown": plain / viewed,
        },
        "second_look": {
            "on": "the views' ranking",
            "top_k": rerank.TOP_K,
            "side": keypoints.SIDE,
            "max_features": keypoints.MAX_FEATURES,
            "agree_side": keypoints.AGREE_SIDE,
            "agree_tolerance": keypoints.AGREE_TOLERANCE,
            "score": "log p + weight * inliers * agreement + agree * agreement",
            "weight": weights[0],
            "agree": weights[1],
            "val_top1_by_weight_agree": {f"{w} {a}": fit[w, a] for w, a in grid},
            "images_per_s": plain,
            "images_per_s_second_look": looked,
            "slowdown": plain / looked,
        },
        "unknown": {
            "note": "set A: val-split wild memes + half of the out-of-catalogue "
            "pictures; set B: the wild test stand-in + the other half. "
            "Out-of-catalogue: other memes' templates drawn wild-style and "
            "synthetic photo-like pictures; no real photos offline.",
            "n_other_memes": sum(
                p.name.startswith("other") for p in unknown_a + unknown_b
            ),
            "n_synthetic": 2 * SYNTHETIC_UNKNOWN,
            "calibrated_on_a": {
                "threshold": chosen,
                **calibrate.error_rates(chosen, known_b, unk_b),
            },
            "run_threshold": {
                "threshold": run_threshold,
                **calibrate.error_rates(run_threshold, known_b, unk_b),
            },
            "known_rate_clean": float(
                (scored["clean"]["probs"].max(axis=1) >= run_threshold).mean()
            ),
            "known_rate_wild": float((known_b >= run_threshold).mean()),
        },
    }
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    out = Path(out)
    write_text(out, json.dumps(results, indent=2) + "\n")
    write_text(out.with_suffix(".md"), table(results))
    return results


def _pct(x):
    return f"{100 * x:.1f}%"


def _groups(scores):
    """'light / heavy' top-1 with counts, e.g. '95.0% (120) / 60.0% (80)'."""
    groups = scores["top1_by_group"]
    return " / ".join(
        f"{_pct(groups[g]['top1'])} ({groups[g]['n']})"
        for g in ("light", "heavy")
        if g in groups
    )


def table(results):
    """The results as one Markdown table and two lines of notes."""
    s, u, look = results["standins"], results["unknown"], results["second_look"]

    def row(name, clean, wild):
        return f"| {name} | {_pct(clean)} | {_pct(wild)} |"

    fit, run = u["calibrated_on_a"], u["run_threshold"]
    defaults = s["wild"]["second_look_defaults"]
    first = s["wild"]["first_per_template"]
    return "\n".join(
        [
            f"Run `{results['run']}`: {results['n_templates']} templates at "
            f"{results['image_size']} px, {results['per_template']} memes per "
            "template (test split).",
            "",
            "| | old stand-in (clean) | new stand-in (wild) |",
            "|---|---|---|",
            *(
                row(
                    f"top-{k}",
                    s["clean"]["classifier"][f"top{k}"],
                    s["wild"]["classifier"][f"top{k}"],
                )
                for k in (1, 5)
            ),
            row(
                "top-1, test-time views",
                s["clean"]["views"]["top1"],
                s["wild"]["views"]["top1"],
            ),
            row(
                "top-1, views + second look",
                s["clean"]["second_look"]["top1"],
                s["wild"]["second_look"]["top1"],
            ),
            row(
                "top-1, perceptual-hash nearest neighbour",
                s["clean"]["phash"]["top1"],
                s["wild"]["phash"]["top1"],
            ),
            row(
                "known-rate (run's threshold)",
                u["known_rate_clean"],
                u["known_rate_wild"],
            ),
            "",
            "Wild top-1 by effect: "
            + ", ".join(
                f"{e} {_pct(v['top1'])} ({v['n']})"
                for e, v in s["wild"]["classifier"]["top1_by_effect"].items()
            )
            + ".",
            "",
            "Wild top-1 on light / heavy memes (light: only "
            + ", ".join(sorted(LIGHT - {"none"}))
            + f"): classifier {_groups(s['wild']['classifier'])}, "
            f"with the views {_groups(s['wild']['views'])}, with the views and "
            f"the second look {_groups(s['wild']['second_look'])}.",
            "",
            *(
                f"Wild top-1 by effect, {how}: "
                + ", ".join(
                    f"{e} {_pct(v['top1'])}"
                    for e, v in s["wild"][key]["top1_by_effect"].items()
                )
                + ".\n"
                for key, how in (
                    ("views", "with the views"),
                    ("second_look", "with the views and the second look"),
                )
            ),
            f"Images/s: {look['images_per_s']:.1f} alone, "
            f"{results['views']['images_per_s']:.1f} with the views "
            f"({results['views']['slowdown']:.2f}x slower), "
            f"{look['images_per_s_second_look']:.1f} with the views and the "
            f"second look ({look['slowdown']:.2f}x slower; weights "
            f"{look['weight']} and {look['agree']}, fitted on val-split wild "
            "memes).",
            "",
            f"With `rerank`'s own weights {defaults['weights'][0]} and "
            f"{defaults['weights'][1]} (what `dank classify` uses): wild top-1 "
            f"{_pct(defaults['top1'])}, top-5 {_pct(defaults['top5'])}. On the "
            f"first meme of each template ({first['n']}, the set of a "
            "1-per-template run): classifier "
            f"{_pct(first['classifier'])}, with the views {_pct(first['views'])}, "
            f"with the second look {_pct(first['second_look'])} "
            f"({_pct(first['second_look_defaults'])} with `rerank`'s weights).",
            "",
            "Unknown pictures, threshold chosen on set A and reported on set B: "
            f"{fit['threshold']:.3f} falsely rejects {_pct(fit['false_reject'])} of "
            f"known wild memes and falsely accepts {_pct(fit['false_accept'])} of "
            f"unknown pictures; the run's own {run['threshold']:.3f}: "
            f"{_pct(run['false_reject'])} and {_pct(run['false_accept'])}.",
            "",
        ]
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", required=True, help="a trained run")
    parser.add_argument("--data", help="its data build (default: the run's)")
    parser.add_argument("--out", required=True, help="the JSON file to write")
    parser.add_argument("--shared", default="../shared/data/memes")
    parser.add_argument("--per-template", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--unknown", type=int, default=160, help="other memes")
    parser.add_argument(
        "--keep", help="a folder to keep the rendered sets and their scores in"
    )
    args = parser.parse_args(argv)
    results = experiment(
        args.run,
        args.data,
        args.out,
        args.shared,
        args.per_template,
        args.seed,
        args.unknown,
        args.keep,
    )
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
