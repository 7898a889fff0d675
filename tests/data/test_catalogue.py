import pytest

from dank.data.catalogue import Catalogue, Template, canonical_order
from dank.core.errors import DankError


def _catalogue():
    return Catalogue(
        [
            Template(
                0,
                "imgflip-Success-Kid",
                "Success Kid",
                ("mgnet-success-kid", "memegenlink-success", "Success Baby"),
                "a.jpg",
            ),
            Template(
                1,
                "imgflip-Grumpy-Cat",
                "Grumpy Cat",
                ("memegenlink-grumpycat",),
                "b.jpg",
                [{"anchor_x": 0.0}],
                7,
            ),
        ]
    )


def test_find_exact_alias_and_fuzzy():
    cat = _catalogue()
    assert cat.find("success kid").label == 0
    assert cat.find("MGNET-SUCCESS-KID").label == 0
    assert cat.find("Success-Baby").label == 0
    assert cat.find("grumpy kat").label == 1
    assert cat.label_of("memegenlink-grumpycat") == 1
    with pytest.raises(DankError, match="closest"):
        cat.find("distracted boyfriend")


def test_save_load_round_trip(tmp_path):
    cat = _catalogue()
    cat.save(tmp_path / "catalogue.json")
    loaded = Catalogue.load(tmp_path)
    assert loaded == cat and loaded[1].boxes == [{"anchor_x": 0.0}]
    with pytest.raises(DankError):
        loaded[5]


def test_canonical_prefers_imgflip_then_captions():
    ids = {"mgnet-a": 50, "memegenlink-a": 0, "imgflip-A": 1, "imgflip-B": 9}
    assert sorted(ids, key=lambda t: canonical_order(t, ids[t])) == [
        "imgflip-B",
        "imgflip-A",
        "memegenlink-a",
        "mgnet-a",
    ]
