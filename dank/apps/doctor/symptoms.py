"""Degenerate generation, told from generated captions alone.

``find_symptoms`` looks at captions sampled for several templates (the doctor
draws them with ``dank generate``'s defaults) and returns one ``Check`` per
symptom, each with its likely cause and the command that fixes it:

=====================  ==========================================================
identical captions     every template gets the same caption: the template is
                       ignored (undertrained, or the wrong run)
repeated words         "the the the": undertrained, or temperature too low
unknown words          ``<unk>`` everywhere: vocabulary too small, wrong vocab.json
copied from training   verbatim training captions: memorised (overfitting), or
                       temperature too low
empty bottom text      the model never learned to write past ``<sep>``
rambling               captions run to the length limit: temperature too high
=====================  ==========================================================
"""

import collections
import dataclasses
import re
import shlex

from dank.apps.doctor.report import fail, ok, warn
from dank.core import constants

# Shares of sampled captions (or templates) at which a symptom is reported.
IDENTICAL_TEMPLATE_SHARE = 0.8  # Templates whose captions include the commonest one.
REPEAT_RUN = 3  # The same word this many times in a row counts as repeating...
REPEAT_DOMINANCE = 0.5  # ...as does one word making up over half of 4+ words.
REPEAT_SHARE = 0.25  # Captions that repeat before it is a symptom.
UNK_SHARE = 0.3  # Words that are <unk>.
COPIED_WARN_SHARE = 0.5  # Captions found verbatim in training: warn...
COPIED_FAIL_SHARE = 0.8  # ...and fail (the paper's "percent in data").
EMPTY_BOTTOM_SHARE = 0.6  # Captions with no bottom text (real memes: ~10%).
RAMBLING_WORDS = 20  # Words in a caption near the decoder's 25-token limit...
RAMBLING_SHARE = 0.5  # ...in this share of captions.

_WORD_RE = re.compile(r"<unk>|[\w']+")


@dataclasses.dataclass(frozen=True)
class Sample:
    """One generated caption. ``template`` is the template's id."""

    template: str
    top: str
    bottom: str

    def words(self):
        return _WORD_RE.findall(f"{self.top} {self.bottom}".lower())


def _caption_key(sample):
    from dank.data.text import caption_key

    return caption_key(sample.top, sample.bottom)


def repeats(words, run=REPEAT_RUN, dominance=REPEAT_DOMINANCE):
    """True when a word repeats ``run`` times in a row, or one word is more than
    ``dominance`` of a caption of 4 or more words."""
    streak = 1
    for prev, word in zip(words, words[1:]):
        streak = streak + 1 if word == prev else 1
        if streak >= run:
            return True
    if len(words) >= 4:
        top = collections.Counter(words).most_common(1)[0][1]
        return top / len(words) > dominance
    return False


def _share(n, total):
    return n / total if total else 0.0


def _example(samples):
    s = samples[0]
    return f'e.g. "{s.top} / {s.bottom}"'


def identical_captions(samples, fixes):
    by_template = collections.defaultdict(set)
    for s in samples:
        by_template[s.template].add(_caption_key(s))
    if len(by_template) < 2:
        return ok("identical captions", "only one template sampled; not checked")
    counts = collections.Counter(k for keys in by_template.values() for k in keys)
    key, n = counts.most_common(1)[0]
    share = _share(n, len(by_template))
    if share >= IDENTICAL_TEMPLATE_SHARE:
        return fail(
            "identical captions",
            f'{n} of {len(by_template)} templates get the same caption "{key}"',
            "the caption model ignores the template: undertrained, or the "
            "language model comes from another run",
            fixes["train_longer"],
            share=share,
        )
    return ok(
        "identical captions",
        f"{len(counts)} different captions over {len(by_template)} templates",
        share=share,
    )


def repeated_words(samples, fixes):
    bad = [s for s in samples if repeats(s.words())]
    share = _share(len(bad), len(samples))
    if share >= REPEAT_SHARE:
        return fail(
            "repeated words",
            f"{len(bad)} of {len(samples)} captions repeat a word ({_example(bad)})",
            "undertrained, or a temperature too low (the beam loops on its "
            "likeliest word)",
            f"{fixes['hotter']}; if it persists, {fixes['train_longer']}",
            share=share,
        )
    return ok(
        "repeated words", f"{len(bad)} of {len(samples)} captions repeat", share=share
    )


def unknown_words(samples, fixes):
    words = [w for s in samples for w in s.words()]
    unk = sum(1 for w in words if w == constants.UNK)
    share = _share(unk, len(words))
    if share >= UNK_SHARE:
        return fail(
            "unknown words",
            f"{unk} of {len(words)} words are {constants.UNK}",
            "the vocabulary is too small for the data, or the run's vocab.json "
            "does not belong to its caption model (wrong run)",
            fixes["bigger_vocab"],
            share=share,
        )
    return ok(
        "unknown words", f"{unk} of {len(words)} words are {constants.UNK}", share=share
    )


def copied_captions(samples, training_keys, fixes):
    if training_keys is None:
        return ok("copied from training", "no training captions to compare; skipped")
    copied = [s for s in samples if _caption_key(s) in training_keys]
    share = _share(len(copied), len(samples))
    args = (
        f"{len(copied)} of {len(samples)} captions are verbatim training "
        f"captions ({_example(copied)})"
        if copied
        else "",
        "the model memorised its training captions (overfitting: too many "
        "epochs for the data), or the temperature is too low",
        f"{fixes['hotter']}; or retrain with fewer epochs / more dropout",
    )
    if share >= COPIED_FAIL_SHARE:
        return fail("copied from training", *args, share=share)
    if share >= COPIED_WARN_SHARE:
        return warn("copied from training", *args, share=share)
    return ok(
        "copied from training",
        f"{len(copied)} of {len(samples)} captions are verbatim training captions",
        share=share,
    )


def empty_bottoms(samples, fixes):
    empty = [s for s in samples if not s.bottom.strip()]
    share = _share(len(empty), len(samples))
    if share >= EMPTY_BOTTOM_SHARE:
        return fail(
            "empty bottom text",
            f"{len(empty)} of {len(samples)} captions have no bottom text",
            "undertrained: the model has not learned to write past the top/bottom "
            "separator (or --max-len is too short)",
            fixes["train_longer"],
            share=share,
        )
    return ok(
        "empty bottom text",
        f"{len(empty)} of {len(samples)} captions have no bottom text",
        share=share,
    )


def rambling(samples, fixes):
    long = [s for s in samples if len(s.words()) >= RAMBLING_WORDS]
    share = _share(len(long), len(samples))
    if share >= RAMBLING_SHARE:
        return fail(
            "rambling",
            f"{len(long)} of {len(samples)} captions run to the length limit",
            "the temperature is too high (word salad that never ends), or the "
            "model is undertrained",
            fixes["cooler"],
            share=share,
        )
    return ok(
        "rambling", f"{len(long)} of {len(samples)} captions hit the limit", share=share
    )


def default_fixes(
    run_dir="runs/default",
    template="TEMPLATE",
    temperature=None,
    preset="cpu",
    epochs=6,
):
    """The fix commands the symptoms cite, for ``run_dir`` (trained with
    ``preset`` for ``epochs`` epochs; the fix doubles them)."""
    if temperature is None:  # The paper's diverse beam, what the symptoms decode.
        from dank.decoding.config import PRESETS

        temperature = PRESETS["paper"].temperature
    template, run_dir = shlex.quote(template), shlex.quote(str(run_dir))
    if preset == "tiny":  # Made for tests: it never trains a usable model.
        train_longer = (
            f"train a real caption model: `dank train language --preset cpu "
            f"--run {run_dir}` (the tiny preset is for tests)"
        )
    else:
        train_longer = (
            f"train the caption model longer: `dank train language --preset "
            f"{preset} --epochs {2 * epochs} --run {run_dir}`"
        )
    return {
        "train_longer": train_longer,
        "hotter": (
            f"raise the temperature: `dank generate --run {run_dir} --template "
            f"{template} --temperature {temperature + 0.4:g}`"
        ),
        "cooler": (
            f"lower the temperature: `dank generate --run {run_dir} --template "
            f"{template} --temperature {max(temperature - 0.4, 0.7):g}`"
        ),
        "bigger_vocab": (
            "rebuild the data with a larger vocabulary and retrain: `make clean "
            "data train` (check vocab.json of the run matches its data build)"
        ),
    }


def find_symptoms(samples, training_keys=None, fixes=None, unk_samples=None):
    """Checks generated captions for every symptom.

    Args:
        samples: ``Sample`` objects, several templates with a few each.
        training_keys: ``dank.data.text.caption_key`` of every training caption
            (None skips the copy check).
        fixes: the commands to cite (``default_fixes``).
        unk_samples: captions to count ``<unk>`` in, when ``samples`` come from
            a decoder that never emits it (default: ``samples``).

    Returns:
        A list of ``Check``; a failed one when nothing was generated at all.
    """
    fixes = fixes or default_fixes()
    if not samples:
        return [
            fail(
                "generation",
                "no caption came out at all",
                "every caption was empty or blocked by the safety filter: "
                "undertrained, or the wrong run",
                fixes["train_longer"],
            )
        ]
    return [
        identical_captions(samples, fixes),
        repeated_words(samples, fixes),
        unknown_words(unk_samples or samples, fixes),
        copied_captions(samples, training_keys, fixes),
        empty_bottoms(samples, fixes),
        rambling(samples, fixes),
    ]
