"""The mirror itself: its slice rules, pages and faults (no crawl)."""

import gzip
import urllib.request

import pytest

from tools.mirror_site import Faults, Mirror, load_slice, slug_of


@pytest.fixture
def tricky_source(tiny_source, tmp_path):
    """tiny_source plus captions the slice must skip: a ';', a repeat, an empty one."""
    import shutil

    src = tmp_path / "src"
    shutil.copytree(tiny_source, src)
    with gzip.open(src / "captions.csv.gz", "at", encoding="utf-8", newline="") as f:
        tid = "imgflip-Proud-Toddler"
        f.write(f'{tid},"A; B",C,,2,1,imgflip_upvotes,1,t,\n')  # ';' would split.
        f.write(f'{tid},"  ",,,1,1,imgflip_upvotes,1,t,\n')  # Empty.
        f.write(f"{tid},NEW & ONE,,,1,7,imgflip_upvotes,1,t,\n")
        f.write(f"{tid},new  &amp ONE,,,1,9,imgflip_upvotes,1,t,\n")  # Same text.
        f.write(f"{tid},X &amp; Y,,,1,9,imgflip_upvotes,1,t,\n")  # An entity's ';'.
    return src


def test_slice_skips_what_imgflip_cannot_show(tricky_source):
    (template,) = [
        t for t in load_slice(tricky_source, 99, 999) if t.slug == "Proud-Toddler"
    ]
    texts = [p.boxes[0] for p in template.posts]
    assert "A; B" not in texts and "  " not in texts
    assert "NEW & ONE" in texts and "new  &amp ONE" not in texts
    assert "X &amp; Y" not in texts  # Shown raw, its ';' would split the boxes.
    assert len({p.post_id for p in template.posts}) == len(template.posts)


def test_slug_of():
    assert slug_of("imgflip-Success-Kid") == "Success-Kid"
    assert slug_of("mgnet-success-kid") == "success-kid"
    assert slug_of("plain") == "plain"


def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, ""


def test_pages_and_faults_are_served_on_loopback(tiny_source):
    site = load_slice(tiny_source, 2, 6)
    faults = Faults(robots_disallow=True, server_errors=True, pagination_loop=True)
    with Mirror(site, faults, per_page=4) as mirror:
        assert mirror.url.startswith("http://127.0.0.1:")
        status, robots = fetch(mirror.url + "robots.txt")
        assert f"Disallow: /meme/{site[-1].slug}" in robots
        slug = site[0].slug
        assert fetch(f"{mirror.url}meme/{slug}")[0] == 500  # First hit fails...
        status, page = fetch(f"{mirror.url}meme/{slug}")  # ...a retry works.
        assert status == 200 and "pager-next" in page
        fetch(f"{mirror.url}meme/{slug}?page=2")
        status, page = fetch(f"{mirror.url}meme/{slug}?page=2")
        assert f"/meme/{slug}?page=1" in page  # The loop back to the start.
        assert (
            fetch(f"{mirror.url}i/{site[0].posts[0].post_id}")[0] == 500
        )  # Dead post.
        assert fetch(f"{mirror.url}nothing-here")[0] == 404
    assert mirror.lost("imgflip") >= {p.post_id for p in site[-1].posts}
