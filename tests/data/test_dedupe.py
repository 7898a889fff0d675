import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps

from dank.data import dedupe
from dank.data.synthetic import _picture

# The shared meme data, through an explicit path only (tests never search for it).
SHARED = Path(
    os.environ.get(
        "DANK_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared/data/memes"
    )
)
REAL = SHARED / "templates"


def _fp(image):
    return dedupe.fingerprint(image)


def test_hamming_pairs_matches_brute_force():
    rng = np.random.default_rng(0)
    hashes = [int(x) for x in rng.integers(0, 2**63, 50, dtype=np.int64)]
    hashes[7] = hashes[3] ^ 0b101  # Two bits apart.
    i, j, d = dedupe.hamming_pairs(hashes, 2, chunk=8)
    assert (3, 7, 2) in set(zip(i.tolist(), j.tolist(), d.tolist()))
    brute = {
        (a, b)
        for a in range(50)
        for b in range(a + 1, 50)
        if bin(hashes[a] ^ hashes[b]).count("1") <= 2
    }
    assert set(zip(i.tolist(), j.tolist())) == brute


def test_resized_copy_merges_distinct_pictures_do_not():
    rng = np.random.default_rng(1)
    pictures = [_picture(k, rng, (240, 260)) for k in range(8)]
    copy = pictures[2].resize((390, 360)).resize((260, 240))
    fps = [_fp(p) for p in pictures] + [_fp(copy)]
    groups, pairs, _ = dedupe.find_groups(fps, [set() for _ in fps])
    assert [2, 8] in groups
    assert len(groups) == 8


def test_name_hint_alone_never_merges():
    rng = np.random.default_rng(2)
    a, b = _picture(0, rng, (200, 200)), _picture(1, rng, (200, 200))
    groups, _, _ = dedupe.find_groups(
        [_fp(a), _fp(b)], [{"successkid"}, {"successkid"}]
    )
    assert groups == [[0], [1]]


def test_small_added_object_is_a_different_template():
    base = Image.new("RGB", (200, 200), (20, 30, 60))
    hat = base.copy()
    hat.paste((220, 20, 20), (80, 20, 120, 50))
    groups, _, _ = dedupe.find_groups([_fp(base), _fp(hat)], [set(), set()])
    assert groups == [[0], [1]]


@pytest.mark.skipif(not REAL.is_dir(), reason="real data not present")
def test_real_success_kid_merges_and_lookalikes_do_not():
    from dank.core.images import open_image

    ids = [
        "imgflip-Success-Kid",
        "mgnet-success-kid",
        "memegenlink-success",
        "mgnet-mental-illness-mouse",
        "mgnet-typical-emergency",
        "imgflip-Forever-Alone",
        "imgflip-Forever-Alone-Christmas",
        "imgflip-Third-World-Success-Kid",
    ]
    fps = [_fp(open_image(next(REAL.glob(f"{i}.*")))) for i in ids]
    keys = [
        {"successkid"},
        {"successkid"},
        {"successkid"},
        set(),
        set(),
        {"foreveralone"},
        {"foreveralone"},
        set(),
    ]
    groups, _, _ = dedupe.find_groups(fps, keys)
    assert [0, 1, 2] in groups
    assert len(groups) == 6


def _scene(face):
    """A photo-like picture: textured background, a central face of kind ``face``."""
    rng = np.random.default_rng(7)
    blotches = rng.integers(20, 230, (9, 12, 3)).astype(np.uint8)
    image = Image.fromarray(blotches).resize((320, 240), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(image)
    draw.rectangle([20, 150, 300, 230], fill=(90, 60, 40))  # A log in front.
    if face == "bear":
        draw.ellipse([130, 70, 190, 130], fill=(70, 50, 40))
        draw.ellipse([143, 88, 153, 98], fill=(20, 20, 20))
        draw.ellipse([167, 88, 177, 98], fill=(20, 20, 20))
        draw.ellipse([150, 105, 170, 122], fill=(120, 90, 80))
    else:  # A face of the same size and place: a face swap.
        draw.ellipse([130, 70, 190, 130], fill=(180, 140, 110))
        draw.line([140, 92, 180, 92], fill=(40, 30, 30), width=5)
        draw.arc([143, 105, 177, 125], 0, 180, fill=(120, 20, 20), width=4)
    return image


def _re_saved(image):
    """A lower-quality copy: cropped, rescaled, framed by a border, JPEG'd."""
    w, h = image.size
    crop = image.crop((int(0.06 * w), int(0.05 * h), int(0.95 * w), int(0.93 * h)))
    crop = crop.resize((230, 175), Image.Resampling.BILINEAR)
    framed = ImageOps.expand(crop, border=(18, 24), fill=(0, 0, 0))
    buffer = io.BytesIO()
    framed.save(buffer, "JPEG", quality=55)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def test_trim_box_finds_a_border_despite_a_watermark():
    picture = _scene("bear")
    framed = ImageOps.expand(picture, border=30, fill=(0, 0, 0))
    ImageDraw.Draw(framed).rectangle([300, 275, 360, 295], fill=(255, 255, 255))
    assert dedupe.trim_box(np.asarray(framed)) == (30, 30, 350, 270)
    assert dedupe.trim_box(np.asarray(picture)) == (0, 0, 320, 240)


def test_cropped_bordered_rescaled_jpeg_copy_merges_in_stage_two():
    original, copy = _scene("bear"), _re_saved(_scene("bear"))
    fps = [_fp(original), _fp(copy)]
    assert not dedupe.same_picture(*fps, hint=False)  # Stage 1 misses it...
    groups, pairs, _ = dedupe.find_groups(fps, [set(), set()])
    assert groups == [[0, 1]]  # ...stage 2 does not.
    assert pairs[0]["stage"] == dedupe.CROPPED and not pairs[0]["names_match"]


def test_mirrored_copy_merges():
    original = _scene("bear")
    groups, pairs, _ = dedupe.find_groups(
        [_fp(original), _fp(ImageOps.mirror(original))], [set(), set()]
    )
    assert groups == [[0, 1]]
    assert pairs[0]["crop"]["mirrored"] is True


def test_same_background_different_face_stays_apart_even_with_matching_names():
    bear, other = _scene("bear"), _re_saved(_scene("man"))
    groups, pairs, misses = dedupe.find_groups(
        [_fp(bear), _fp(other)], [{"confessionbear"}, {"confessionbear"}]
    )
    assert groups == [[0], [1]] and not pairs
    assert misses and all(m["why_not"] for m in misses)  # Reported, with why.
    cropped = [m for m in misses if m["stage"] == dedupe.CROPPED]
    # The changed face alone is over the structure bar, names matching or not.
    assert cropped[0]["block_diff"] > dedupe.Thresholds().hint_crop_max_block_diff


def _real(ids):
    from dank.core.images import downscale, open_image

    return [_fp(downscale(open_image(next(REAL.glob(f"{i}.*"))), 512)) for i in ids]


@pytest.mark.slow
@pytest.mark.skipif(not REAL.is_dir(), reason="shared meme data not present")
def test_real_twins_merge_and_lookalikes_stay_apart():
    ids = [
        "imgflip-Confession-Bear",  # 0
        "mgnet-sad-bear",  # 1: black border, rescaled, watermark.
        "mgnet-confessions-bear",  # 2: zoomed-in crop.
        "mgnet-advice-dog",  # 3: colour wheel, dog.
        "mgnet-advice-student",  # 4: the same wheel, a student.
        "imgflip-Creepy-Condescending-Wonka",  # 5
        "mgnet-yaowonkaxd",  # 6: Wonka with Yao Ming's face pasted in.
        "imgflip-Drake-Hotline-Bling",  # 7
        "imgflip-Tuxedo-Winnie-The-Pooh",  # 8: Drake's layout, other pictures.
        "mgnet-rage-fu",  # 9
        "mgnet-rage-girl",  # 10: the same face with pigtails drawn on.
    ]
    keys = [{"confessionbear", "sadbear"}, {"sadbear"}] + [set()] * (len(ids) - 2)
    groups, _, _ = dedupe.find_groups(_real(ids), keys)
    assert [0, 1, 2] in groups
    assert len(groups) == len(ids) - 2


def _between_bars(image):
    """A rescaled copy between two-coloured side bars, which no border trim
    removes (memegenerator.net's 'I'll just wait here')."""
    framed = Image.new("RGB", (300, 195), (130, 40, 200))
    draw = ImageDraw.Draw(framed)
    draw.rectangle([0, 100, 20, 195], fill=(120, 200, 30))
    draw.rectangle([280, 0, 300, 80], fill=(120, 200, 30))
    framed.paste(image.resize((260, 195)), (20, 0))
    return framed


def test_copy_between_coloured_bars_merges_in_stage_three(busy_photo):
    photo = busy_photo()
    fps = [_fp(photo), _fp(_between_bars(photo))]
    assert dedupe.find_groups(fps, [set(), set()])[0] == [[0], [1]]  # No candidate.
    groups, pairs, _ = dedupe.find_groups(fps, [{"justwait"}, {"justwait"}])
    assert groups == [[0, 1]]
    assert pairs[0]["stage"] == dedupe.KEYPOINTS
    assert pairs[0]["inliers"] >= dedupe.Thresholds().keypoint_min_inliers


def test_stage_three_keeps_an_added_hat_and_a_recolouring_apart(busy_photo):
    photo = busy_photo()
    hat = photo.copy()
    ImageDraw.Draw(hat).pieslice([120, 20, 200, 80], 180, 360, fill=(120, 70, 40))
    pixels = np.asarray(photo).copy()
    pixels[:110] = pixels[:110, :, ::-1]  # The same photo, other colours above.
    for other in (hat, Image.fromarray(pixels)):
        evidence, why_not = dedupe.check_keypoints(_fp(photo), _fp(other), hint=True)
        # Found inside each other by keypoints, told apart by the overlap.
        assert evidence["inliers"] >= dedupe.Thresholds().keypoint_min_inliers
        assert evidence["cover"] > 0.9 and why_not is not None
        assert why_not.split()[0] in ("block_diff", "local_diff", "correlation")


@pytest.mark.slow
@pytest.mark.skipif(not REAL.is_dir(), reason="shared meme data not present")
def test_real_twins_only_keypoints_find_merge_and_recolourings_stay_apart():
    ids = [
        "imgflip-Ill-Just-Wait-Here",  # 0
        "mgnet-ill-just-wait-here",  # 1: between purple and green bars.
        "imgflip-FINALLY",  # 2
        "imgflip-Black-Scientist-Finally-Xium",  # 3: another crop.
        "mgnet-skeptical-african-child",  # 4
        "memegenlink-sk",  # 5: a crop off centre.
        "imgflip-Actual-Advice-Mallard",  # 6
        "imgflip-Malicious-Advice-Mallard",  # 7: the same duck, other colours.
        "mgnet-art-professor-owl",  # 8
        "mgnet-art-student-owl",  # 9: the same owl on another colour.
        "imgflip-Advice-God",  # 10
        "mgnet-scumbag-god",  # 11: the same God with a hat on.
    ]
    keys = [{"illjustwaithere"}] * 2 + [set()] * (len(ids) - 2)
    groups, pairs, _ = dedupe.find_groups(_real(ids), keys)
    assert [0, 1] in groups and [2, 3] in groups and [4, 5] in groups
    assert len(groups) == len(ids) - 3
    assert {p["stage"] for p in pairs} == {dedupe.KEYPOINTS}
