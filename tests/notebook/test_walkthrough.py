"""experiments/walkthrough.ipynb: valid nbformat 4, and (slow) runs top to bottom."""

import json
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "experiments" / "walkthrough.ipynb"
SECTIONS = ("Data", "Vision", "Language", "Cascade", "Bias", "Export")


def code_cells():
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    assert notebook["nbformat"] == 4
    return notebook, [
        ("".join(c["source"]), k)
        for k, c in enumerate(notebook["cells"])
        if c["cell_type"] == "code"
    ]


def test_notebook_is_nbformat_4_with_every_section_and_clean_cells():
    notebook, cells = code_cells()
    headings = [
        line
        for c in notebook["cells"]
        if c["cell_type"] == "markdown"
        for line in c["source"]
        if line.startswith("## ")
    ]
    for section in SECTIONS:
        assert any(section in h for h in headings), section
    for cell in notebook["cells"]:
        assert cell["metadata"] == {} and set(cell) >= {"id", "source"}
        if cell["cell_type"] == "code":  # Committed without outputs.
            assert cell["outputs"] == [] and cell["execution_count"] is None
    for source, k in cells:
        compile(source, f"walkthrough.ipynb cell {k}", "exec")


@pytest.mark.slow
def test_notebook_runs_headless_and_draws_a_meme(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    work = tmp_path / "work"
    monkeypatch.setenv("DANK_WALKTHROUGH_DIR", str(work))
    monkeypatch.chdir(NOTEBOOK.parent)
    _, cells = code_cells()
    namespace = {"__name__": "__main__"}
    try:
        for source, k in cells:
            exec(compile(source, f"walkthrough.ipynb cell {k}", "exec"), namespace)
    finally:
        plt.close("all")
    meme = Path(namespace["MEME_PNG"])
    assert meme.parent == work and meme.read_bytes().startswith(b"\x89PNG")
    assert (work / "audit" / "report.md").is_file()
    assert namespace["same"], "SavedModel and ONNX captions differ"
