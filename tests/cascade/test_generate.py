"""``dank generate`` end to end on a tiny trained run: pictures in, memes out."""

import io
import json
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from dank.apps.cli import cascade as generate_cli
from dank.cascade.inputs import expand_paths, load_inputs
from dank.core.errors import DankError


def _args(run, out, images=(), **changes):
    args = dict(
        images=list(images),
        run=str(run),
        n=2,
        template=None,
        decoder="diverse",
        beam=3,
        temperature=1.3,
        max_len=12,
        mix_top_k=1,
        seed=0,
        out=str(out),
        no_filter=False,
        samples=False,
        views=True,
        second_look=True,
    )
    args.update(changes)
    return SimpleNamespace(**args)


def _run(args):
    out = io.StringIO()
    status = generate_cli.generate(args, out=out)
    return status, [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.fixture(scope="module")
def pictures(tiny_data, tmp_path_factory):
    """Two template pictures, a corrupt file and a text file."""
    folder = tmp_path_factory.mktemp("pictures")
    templates = sorted((tiny_data / "templates").iterdir())[:2]
    for i, path in enumerate(templates):
        Image.open(path).save(folder / f"pic{i}.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (folder / "notes.txt").write_text("hello")
    return folder


def test_generate_writes_pngs_and_json_lines(tiny_run, pictures, tmp_path):
    status, lines = _run(
        _args(tiny_run, tmp_path, [pictures / "pic0.png", pictures / "pic1.png"])
    )
    assert status == 0
    assert len(lines) <= 4 and lines
    for line in lines:
        assert set(line) == {
            "image",
            "template",
            "known",
            "top",
            "bottom",
            "score",
            "file",
        }
        assert line["template"]["id"] and isinstance(line["known"], bool)
        drawn = Image.open(line["file"])
        assert drawn.size == Image.open(line["image"]).size
        assert np.isfinite(line["score"])


def test_same_seed_same_captions(tiny_run, pictures, tmp_path):
    first = _run(_args(tiny_run, tmp_path / "a", [pictures / "pic0.png"]))[1]
    again = _run(_args(tiny_run, tmp_path / "b", [pictures / "pic0.png"]))[1]
    key = [(m["top"], m["bottom"], m["score"]) for m in first]
    assert key == [(m["top"], m["bottom"], m["score"]) for m in again]


def test_bad_files_get_error_lines_and_the_rest_carry_on(tiny_run, pictures, tmp_path):
    names = [pictures / "broken.jpg", pictures / "pic0.png", tmp_path / "missing.png"]
    status, lines = _run(_args(tiny_run, tmp_path, names, n=1))
    assert status == 1
    errors = [line for line in lines if "error" in line]
    assert [e["image"] for e in errors] == [str(names[0]), str(names[2])]
    assert any("file" in line for line in lines)


def test_template_flag_and_unknown_template(tiny_run, tiny_data, tmp_path):
    from dank.data.pipeline import load_catalogue

    entry = load_catalogue(tiny_data)[1]
    status, lines = _run(_args(tiny_run, tmp_path, template=entry.name, n=1))
    assert status == 0
    assert lines[0]["template"]["id"] == entry.id and lines[0]["known"] is True
    with pytest.raises(DankError, match="no template matches"):
        _run(_args(tiny_run, tmp_path, template="no such meme template zz"))


@pytest.fixture
def reads(monkeypatch):
    """Counts the reads of each run's catalogue.json and vocab.json."""
    from collections import Counter

    from dank.data.catalogue import Catalogue
    from dank.data.vocab import Vocabulary

    counts = Counter()

    def counting(cls, name):
        load = cls.load.__func__

        def wrapped(klass, path):
            counts[name] += 1
            return load(klass, path)

        monkeypatch.setattr(cls, "load", classmethod(wrapped))

    counting(Catalogue, "catalogue")
    counting(Vocabulary, "vocab")
    return counts


def test_one_picture_reads_catalogue_and_vocab_once(
    tiny_run, pictures, tmp_path, reads
):
    status, lines = _run(_args(tiny_run, tmp_path, [pictures / "pic0.png"]))
    assert status == 0 and lines
    assert reads == {"catalogue": 1, "vocab": 1}


def test_samples_go_to_the_run(tiny_run, tmp_path):
    status, lines = _run(_args(tiny_run, tmp_path, samples=True, n=1))
    assert status == 0 and lines
    assert all(str(tiny_run / "samples") in line["file"] for line in lines)


def test_bad_flags_are_clear(tiny_run, tmp_path):
    with pytest.raises(DankError, match="-n"):
        _run(_args(tiny_run, tmp_path, n=0))
    with pytest.raises(DankError, match="temperature"):
        _run(_args(tiny_run, tmp_path, decoder="sample", temperature=0))
    with pytest.raises(DankError, match="greedy"):
        _run(_args(tiny_run, tmp_path, decoder="greedy", n=2))


def test_the_views_choose_the_template_and_keep_known(tiny_run, pictures, monkeypatch):
    from dank.cascade.generator import MemeGenerator
    from dank.core.images import prepare
    from dank.models.vision import predict

    config = generate_cli.decode_config(_args(tiny_run, "unused"))
    generator = MemeGenerator(tiny_run, config, views=False)
    data = prepare(pictures / "pic0.png", model_side=generator.image_size).encoded
    whole = generator.for_images([("pic0", data)])[0][0]
    other = next(t for t in generator.catalogue if t.id != whole.template_id)
    seen = []

    def views_say_other(classifier, arrays, probs):
        seen.append([a.shape for a in arrays])
        ranking = np.zeros_like(probs)
        ranking[:, other.label] = 1.0
        return ranking

    monkeypatch.setattr(predict, "multi_view", views_say_other)
    generator.views = True
    viewed = generator.for_images([("pic0", data)])[0][0]
    assert viewed.template_id == other.id
    assert viewed.known == whole.known  # The whole picture decides "known".
    assert len(seen) == 1 and len(seen[0]) == 1 and seen[0][0][-1] == 3
    # A named template wins over both.
    named = generator.for_images([("pic0", data)], template=whole.template_id)
    assert named[0][0].template_id == whole.template_id and len(seen) == 1


def test_the_second_look_chooses_the_template_and_keeps_known(tiny_run, pictures):
    from dank.cascade.generator import MemeGenerator
    from dank.core.images import prepare

    config = generate_cli.decode_config(_args(tiny_run, "unused"))
    assert MemeGenerator(tiny_run, config, second_look=False).second_look is None
    generator = MemeGenerator(tiny_run, config, views=False)
    assert generator.second_look is not None  # On by default.
    data = prepare(pictures / "pic0.png", model_side=generator.image_size).encoded
    first = generator.for_images([("pic0", data)])[0][0]
    other = next(t for t in generator.catalogue if t.id != first.template_id)
    looked = []

    class LooksLikeOther:
        def reordered(self, picture, probs, catalogue):
            looked.append(picture.shape)
            out = np.zeros_like(probs)
            out[other.label] = probs.max()
            return out

    generator.second_look = LooksLikeOther()
    meme = generator.for_images([("pic0", data)])[0][0]
    assert meme.template_id == other.id and meme.known == first.known
    assert len(looked) == 1 and looked[0][-1] == 3


def test_views_and_second_look_are_on_by_default_and_can_be_turned_off():
    from dank.apps.cli import build_parser

    parser = build_parser()
    for argv in (["generate", "x.png"], ["classify", "x.png"]):
        for flag in ("views", "second_look"):
            assert getattr(parser.parse_args(argv), flag) is True
            off = f"--no-{flag.replace('_', '-')}"
            assert getattr(parser.parse_args([*argv, off]), flag) is False


def test_expand_paths_and_inputs(pictures, tmp_path):
    names = expand_paths([str(pictures)])
    assert [n.rsplit("/", 1)[-1] for n in names] == [
        "broken.jpg",
        "pic0.png",
        "pic1.png",
    ]
    items = load_inputs(names, model_side=32)
    assert [i.error is None for i in items] == [False, True, True]
    assert all(i.picture.encoded[:2] == b"\xff\xd8" for i in items if i.error is None)
    with pytest.raises(DankError, match="no images"):
        expand_paths([str(tmp_path)])


def test_rerank_humor_keeps_the_funniest_clean_captions(
    tiny_run, pictures, tmp_path, reads
):
    import shutil

    from dank.apps import cli
    from dank.safety import default_filter

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    assert (
        cli.main(
            [
                "train",
                "humor",
                "--run",
                str(run),
                "--preset",
                "tiny",
                "--data",
                str(tiny_data_of(run)),
            ]
        )
        == 0
    )
    args = _args(
        run,
        tmp_path / "out",
        [pictures / "pic0.png"],
        n=2,
        rerank="humor",
        candidates=6,
    )
    reads.clear()
    status, lines = _run(args)
    # The humour model shares the run's catalogue and vocabulary.
    assert reads == {"catalogue": 1, "vocab": 1}
    assert status == 0 and 1 <= len(lines) <= 2
    humor = [line["humor"] for line in lines]
    assert all(0.0 <= h <= 1.0 for h in humor)
    assert [line["score"] for line in lines] == sorted(
        (line["score"] for line in lines), reverse=True
    )
    assert not any(default_filter().is_flagged(m["top"], m["bottom"]) for m in lines)
    assert _run(args)[1] == lines  # Same seed, same ranking.


def tiny_data_of(run):
    from dank.models.run import Run

    return Run.open(run).data_dir
