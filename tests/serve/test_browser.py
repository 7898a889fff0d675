"""The page in headless Chromium: upload a picture, get memes, regenerate one.

Screenshots are saved to ``tests/serve/artifacts/`` (or ``$DANK_TEST_ARTIFACTS``)
as ``page-phone.png`` and ``page-desktop.png``. Skipped where Debian's
``chromium`` package is not installed (``apt-get install -y chromium``), except
under ``CI=true``, where the skip fails the run (tests/conftest.py).
"""

import os
from pathlib import Path

import pytest
from cdp import CHROMIUM, Browser
from serve_helpers import picture

from conftest import start_server

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).is_file(),
        reason=f"{CHROMIUM} not found; `apt-get install -y chromium` "
        "to run browser tests",
    ),
]

ARTIFACTS = Path(
    os.environ.get("DANK_TEST_ARTIFACTS", Path(__file__).parent / "artifacts")
)
N = 3


def meme_sources(browser):
    return browser.eval(
        "[...document.querySelectorAll('.meme img')]"
        ".filter(i => i.complete && i.naturalWidth > 0)"
        ".map(i => i.getAttribute('src'))"
    )


@pytest.mark.parametrize(
    "width,height,mobile,name",
    [
        (390, 844, True, "phone"),
        (1280, 860, False, "desktop"),
    ],
)
def test_upload_generate_regenerate_download(
    engine, tmp_path, width, height, mobile, name
):
    server = start_server(engine)
    upload = tmp_path / "holiday.jpg"
    upload.write_bytes(picture(640, 480))
    browser = Browser(server.url + "/", width, height, mobile)
    try:
        browser.wait_for(
            "document.readyState === 'complete' && "
            "document.querySelectorAll('.templates li').length > 0"
        )
        assert browser.eval("document.getElementById('go').disabled")
        browser.set_file("#file", upload)
        browser.wait_for("!document.getElementById('go').disabled")
        browser.eval(f"document.getElementById('n').value = '{N}'")
        browser.eval("document.getElementById('go').click()")
        browser.wait_for(
            f"[...document.querySelectorAll('.meme img')].filter("
            f"i => i.complete && i.naturalWidth > 0).length === {N}"
        )
        assert browser.eval("document.getElementById('error').hidden")
        first = meme_sources(browser)
        assert all(src.startswith("/api/memes/") for src in first)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = browser.screenshot(ARTIFACTS / f"page-{name}.png")
        assert shot.read_bytes().startswith(b"\x89PNG")
        # The page fits the width: nothing scrolls sideways.
        assert browser.eval("document.documentElement.scrollWidth") <= width
        links = browser.eval(
            "[...document.querySelectorAll('.meme a.download')]"
            ".map(a => [a.getAttribute('href'), a.download])"
        )
        assert links == [[src + "?download=1", "meme.png"] for src in first]
        browser.eval("document.querySelector('.meme .again').click()")
        browser.wait_for(
            f"(() => {{ const i = document.querySelector('.meme img');"
            f" return i.complete && i.naturalWidth > 0 && "
            f"i.getAttribute('src') !== {first[0]!r}; }})()"
        )
        assert meme_sources(browser)[1:] == first[1:]  # Only that one changed.
    finally:
        browser.close()
        server.shutdown()
        server.server_close()
