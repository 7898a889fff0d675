"""tests/conftest.py's CI guard: a skipped ``browser`` test fails under CI=true."""

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

CONFTEST = Path(__file__).parent / "conftest.py"


@pytest.fixture
def suite(pytester):
    """A tiny suite under the real tests/conftest.py: one browser test skips."""
    pytester.makeconftest(CONFTEST.read_text())
    pytester.makeini("[pytest]\nmarkers =\n    browser: drives Chromium\n")
    pytester.makepyfile(
        test_page="""
        import pytest

        @pytest.mark.browser
        @pytest.mark.skipif(True, reason="no chromium here")
        def test_page():
            pass

        @pytest.mark.browser
        def test_page_runs():
            pass

        @pytest.mark.skip(reason="not a browser test")
        def test_other():
            pass

        @pytest.mark.browser
        @pytest.mark.xfail(reason="expected")
        def test_page_xfail():
            assert False
        """
    )
    return pytester


def test_skipped_browser_test_fails_under_ci(suite, monkeypatch):
    monkeypatch.setenv("CI", "true")
    result = suite.runpytest()
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1, skipped=1, xfailed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*browser test skipped under CI=true: no chromium here*"]
    )


@pytest.mark.parametrize("ci", [None, "false"])
def test_skipped_browser_test_only_skips_outside_ci(suite, monkeypatch, ci):
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    result = suite.runpytest("-rs")
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1, skipped=2, xfailed=1)
    result.stdout.fnmatch_lines(["*no chromium here*"])
