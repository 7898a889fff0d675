"""Each degenerate-generation symptom, told from hand-written captions."""

import pytest

from dank.apps.doctor import symptoms
from dank.apps.doctor.symptoms import Sample, find_symptoms

TEMPLATES = ("t-a", "t-b", "t-c", "t-d")
WORDS = (
    "cats dogs owls pizza tacos mondays rain snow exams bugs coffee tea naps "
    "bikes socks keys phones cake lamps trains buses boats kites drums"
)


def healthy():
    """Varied two-box captions, three per template."""
    words = iter(WORDS.split())
    return [
        Sample(t, f"when the {next(words)} arrive", f"too many {next(words)}")
        for t in TEMPLATES
        for _ in range(3)
    ]


def statuses(checks):
    return {c.name: c.status for c in checks}


def test_healthy_captions_show_no_symptom():
    found = statuses(find_symptoms(healthy(), training_keys=set()))
    assert set(found.values()) == {"ok"}, found
    assert set(found) == {
        "identical captions",
        "repeated words",
        "unknown words",
        "copied from training",
        "empty bottom text",
        "rambling",
    }


def test_identical_captions_for_all_templates():
    samples = [Sample(t, "one does not simply", "walk in") for t in TEMPLATES]
    samples += healthy()[:2]  # A little variety elsewhere does not hide it.
    (check,) = [c for c in find_symptoms(samples) if c.name == "identical captions"]
    assert check.status == "fail"
    assert "4 of 4 templates" in check.message
    assert "ignores the template" in check.cause
    assert "dank train language" in check.fix


@pytest.mark.parametrize(
    "top,bottom",
    [("the the the", "cat"), ("cat cat dog cat", "cat"), ("no no no no", "")],
)
def test_repeated_words(top, bottom):
    samples = [Sample(t, top, bottom) for t in TEMPLATES]
    check = next(c for c in find_symptoms(samples) if c.name == "repeated words")
    assert check.status == "fail"
    assert "temperature too low" in check.cause
    assert "--temperature" in check.fix


def test_repeats_rule():
    assert symptoms.repeats(["a", "b", "b", "b"])
    assert symptoms.repeats(["x", "y", "x", "x"])
    assert not symptoms.repeats(["so", "much", "so", "good"])
    assert not symptoms.repeats(["ha", "ha"])


def test_all_unknown_words_point_at_the_vocabulary():
    samples = [Sample(t, "<unk> <unk>", "<unk> the") for t in TEMPLATES]
    check = next(c for c in find_symptoms(samples) if c.name == "unknown words")
    assert check.status == "fail"
    assert "vocabulary is too small" in check.cause
    # The probe can be a separate decode (greedy with <unk> allowed).
    checks = find_symptoms(healthy(), unk_samples=samples)
    assert next(c for c in checks if c.name == "unknown words").status == "fail"


def test_captions_copied_from_training():
    from dank.data.text import caption_key

    samples = healthy()
    keys = {caption_key(s.top, s.bottom) for s in samples}
    check = next(
        c for c in find_symptoms(samples, keys) if c.name == "copied from training"
    )
    assert check.status == "fail"
    assert "memorised" in check.cause
    half = set(list(keys)[: len(keys) * 6 // 10])
    check = next(
        c for c in find_symptoms(samples, half) if c.name == "copied from training"
    )
    assert check.status == "warn"


def test_empty_bottom_text():
    samples = [Sample(s.template, s.top, "") for s in healthy()]
    check = next(c for c in find_symptoms(samples) if c.name == "empty bottom text")
    assert check.status == "fail"
    assert "separator" in check.cause


def test_rambling_means_temperature_too_high():
    long = " ".join(f"w{i}" for i in range(22))
    samples = [Sample(s.template, long, s.bottom) for s in healthy()]
    check = next(c for c in find_symptoms(samples) if c.name == "rambling")
    assert check.status == "fail"
    assert "temperature is too high" in check.cause
    assert "--temperature 0.9" in check.fix


def test_nothing_generated_is_a_failure():
    (check,) = find_symptoms([])
    assert check.status == "fail" and "no caption" in check.message


def test_fixes_name_the_run_and_preset():
    fixes = symptoms.default_fixes("runs/x", "Success Kid", preset="cpu", epochs=6)
    assert fixes["train_longer"].endswith(
        "`dank train language --preset cpu --epochs 12 --run runs/x`"
    )
    assert "--template 'Success Kid' --temperature 1.7" in fixes["hotter"]
    # Quoted for the shell, whatever the name holds.
    hotter = symptoms.default_fixes(template="Y'all")["hotter"]
    assert "--template 'Y'\"'\"'all' --temperature" in hotter
    tiny = symptoms.default_fixes("my runs/x", preset="tiny", epochs=2)
    assert "--preset cpu --run 'my runs/x'`" in tiny["train_longer"]
