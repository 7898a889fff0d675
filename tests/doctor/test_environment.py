"""Environment checks against broken environments (monkeypatched probes)."""

import pytest

from dank.apps.doctor import environment as env
from dank.apps.doctor import resources

PINS = {
    "tensorflow-cpu": "2.21.0",
    "keras": "3.15.1",
    "tf2onnx": "1.17.0",
    "numpy": "2.4.6",
}
GOOD = {
    "tensorflow-cpu": "2.21.0",
    "keras": "3.15.1",
    "tf2onnx": "1.17.0",
    "numpy": "2.4.6",
}


def _installed(monkeypatch, versions):
    monkeypatch.setattr(env, "installed_version", versions.get)


def by_name(checks):
    return {c.name: c for c in checks}


def test_pins_are_read_from_the_installed_distribution_or_setup_cfg():
    pins = env.pinned_requirements()
    assert pins["keras"] == "3.15.1"
    assert pins["tensorflow-cpu"] == "2.21.0"
    # The TensorFlow extras' pins count (one of them is installed); dev's do not.
    assert pins["tensorflow"] == "2.21.0" and pins["tensorflow-tpu"] == "2.21.0"
    assert "pytest" not in pins and "ruff" not in pins


def test_matching_versions_pass(monkeypatch):
    _installed(monkeypatch, GOOD)
    checks = by_name(env.check_versions(PINS))
    assert {c.status for c in checks.values()} == {"ok"}, checks
    assert "TensorFlow (tensorflow-cpu)" in checks


def test_wrong_keras_fails_with_the_setup_fix(monkeypatch):
    _installed(monkeypatch, {**GOOD, "keras": "3.9.0"})
    check = by_name(env.check_versions(PINS))["keras"]
    assert check.status == "fail"
    assert check.message == "3.9.0 installed, pinned 3.15.1"
    assert "make setup" in check.fix


def test_missing_tf2onnx_and_drifted_numpy(monkeypatch):
    versions = {**GOOD, "numpy": "1.26.4"}
    del versions["tf2onnx"]
    _installed(monkeypatch, versions)
    checks = by_name(env.check_versions(PINS))
    assert checks["tf2onnx"].status == "fail"
    assert "not installed" in checks["tf2onnx"].message
    other = checks["other pinned packages"]
    assert other.status == "fail" and "numpy 1.26.4 (pinned 2.4.6)" in other.message


def test_gpu_tensorflow_counts_but_both_wheels_fail(monkeypatch):
    gpu = {k: v for k, v in GOOD.items() if k != "tensorflow-cpu"}
    _installed(monkeypatch, {**gpu, "tensorflow": "2.21.0"})
    check = env.check_tensorflow_package(PINS)
    assert check.status == "ok" and check.name == "TensorFlow (tensorflow)"
    _installed(monkeypatch, {**GOOD, "tensorflow": "2.20.0"})
    check = env.check_tensorflow_package(PINS)
    assert check.status == "fail"
    assert "both tensorflow and tensorflow-cpu" in check.message
    assert "rm -rf .venv && make setup" in check.fix


def test_old_python_fails():
    assert env.check_python((3, 10, 12)).status == "fail"
    assert env.check_python((3, 11, 7)).status == "ok"


def test_tensorflow_import_errors_are_explained(monkeypatch):
    monkeypatch.setattr(
        env,
        "import_tensorflow",
        lambda: (None, "TypeError: Descriptors cannot be created directly."),
    )
    check = env.check_tensorflow_import()
    assert check.status == "fail" and "protobuf" in check.cause
    assert env.check_gpu().status == "skip"


@pytest.mark.parametrize(
    "value,status", [(None, "ok"), ("1", "ok"), ("0", "warn"), ("false", "warn")]
)
def test_onednn(value, status):
    environ = {} if value is None else {"TF_ENABLE_ONEDNN_OPTS": value}
    check = env.check_onednn(environ)
    assert check.status == status
    if status == "warn":
        assert "TF_ENABLE_ONEDNN_OPTS=1" in check.fix


CPUINFO = "processor\t: 0\nflags\t\t: fpu sse4_2 {}\n\nprocessor\t: 1\n"


def test_cpu_features():
    full = env.check_cpu(CPUINFO.format("avx avx2 fma avx512f"))
    assert full.status == "ok" and "2 cores" in full.message
    assert full.data["flags"] == ["sse4_2", "avx", "avx2", "fma", "avx512f"]
    assert env.check_cpu(CPUINFO.format("avx")).status == "warn"
    no_avx = env.check_cpu(CPUINFO.format(""))
    assert no_avx.status == "fail" and "Illegal instruction" in no_avx.cause
    arm = env.check_cpu("processor : 0\nFeatures : fp asimd sve\n")
    assert arm.status == "ok" and "ARM" in arm.message
    assert env.check_cpu("").status == "skip"


def test_gpu_present_but_unused(monkeypatch):
    monkeypatch.setattr(env, "tf_gpus", lambda: ([], False))
    monkeypatch.setattr(env, "gpu_hardware", lambda: True)
    check = env.check_gpu()
    assert check.status == "warn"
    assert "tensorflow-cpu is installed" in check.cause
    assert "make setup GPU=1" in check.fix
    monkeypatch.setattr(env, "gpu_hardware", lambda: False)
    assert env.check_gpu().status == "ok"
    monkeypatch.setattr(env, "tf_gpus", lambda: (["/physical_device:GPU:0"], True))
    assert "GPU:0" in env.check_gpu().message


def test_low_disk_and_memory(monkeypatch, tmp_path):
    monkeypatch.setattr(resources, "free_disk_bytes", lambda path: 0.5 * 2**30)
    assert resources.check_disk(tmp_path / "not" / "yet").status == "fail"
    monkeypatch.setattr(resources, "free_disk_bytes", lambda path: 2 * 2**30)
    assert resources.check_disk(tmp_path).status == "warn"
    monkeypatch.setattr(resources, "available_memory_bytes", lambda: 1 * 2**30)
    check = resources.check_memory()
    assert check.status == "fail" and "137" in check.cause
    monkeypatch.setattr(resources, "available_memory_bytes", lambda: None)
    assert resources.check_memory().status == "skip"


def test_real_disk_probe_walks_up_to_an_existing_folder(tmp_path):
    assert resources.free_disk_bytes(tmp_path / "a" / "b") > 0


def test_font_fallbacks(monkeypatch):
    from dank.render.font import bundled_font_path

    monkeypatch.setattr(resources, "font_path", lambda: str(bundled_font_path()))
    assert resources.check_font().status == "ok"
    monkeypatch.setattr(resources, "font_path", lambda: "/usr/share/fonts/DejaVu.ttf")
    assert "Anton missing" in resources.check_font().message
    monkeypatch.setattr(resources, "font_path", lambda: None)
    check = resources.check_font()
    assert check.status == "warn" and "bitmap" in check.message


def test_imagenet_weights_are_looked_up_in_the_keras_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    check = resources.check_imagenet_weights()
    assert check.status == "ok" and check.data["cached"] is False
    assert str(tmp_path / "models") in check.message
