"""tools/accelerator_smoke.sh runs end to end on a CPU (slow: it trains with XLA)."""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_smoke_script_skips_the_gpu_install_and_passes_on_a_cpu(tmp_path):
    proc = subprocess.run(
        ["bash", str(ROOT / "tools" / "accelerator_smoke.sh"), str(tmp_path / "w")],
        capture_output=True,
        text=True,
        timeout=1800,
        env={**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"},
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "no NVIDIA GPU found: skipping the GPU install" in out
    assert "XLA True" in out and "smoke: passed" in out
    assert len(list((tmp_path / "w" / "memes").glob("*.png"))) == 8
    assert (tmp_path / "w" / "export" / "onnx").is_dir()
