"""Environment checks: Python and pinned packages, TensorFlow's CPU and GPU use;
``environment_checks`` adds the machine's resources (``dank.apps.doctor.resources``).

Each ``check_*`` function returns one ``Check`` (or a list); the probes they use
(``installed_version``, ``read_cpuinfo``, ...) are module functions so tests can
replace them.
"""

import configparser
import importlib.metadata
import os
import re
import shutil
import sys
from pathlib import Path

from dank import DISTRIBUTION
from dank.apps.doctor import resources
from dank.apps.doctor.report import fail, ok, skip, warn
from dank.core.machine import cpu_flags, read_cpuinfo

SETUP_FIX = (
    "run `make setup` (or `.venv/bin/pip install -e '.[cpu]'`; GPU: `make setup "
    "GPU=1`) to install the pins"
)
# The extras that install TensorFlow (setup.cfg); their pins count as dank's.
TF_EXTRAS = ("cpu", "gpu", "tpu")
# Packages shown one by one; the other pins are checked together.
KEY_PACKAGES = ("tensorflow-cpu", "keras", "tf2onnx")
# The TensorFlow wheels of the cpu, gpu and tpu extras: exactly one belongs.
TF_ALTERNATIVES = ("tensorflow-cpu", "tensorflow", "tensorflow-tpu")
# CPU flags worth reporting, in order; TF's x86 wheels need AVX at least.
CPU_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni", "amx_tile")


def installed_version(name):
    """The installed version of distribution ``name``, or None."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def pinned_requirements():
    """``{name: version}`` of dank's ``==`` pins (extras excluded).

    Read from the installed distribution (``dank.DISTRIBUTION``); from
    ``setup.cfg`` beside the package when dank runs from a checkout that was never
    installed.
    """
    try:
        lines = importlib.metadata.requires(DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        lines = []
    if not lines:
        setup_cfg = Path(__file__).resolve().parents[3] / "setup.cfg"
        parser = configparser.ConfigParser()
        parser.read(setup_cfg, encoding="utf-8")
        lines = parser.get("options", "install_requires", fallback="").splitlines()
        for extra in TF_EXTRAS:
            extra_lines = parser.get("options.extras_require", extra, fallback="")
            lines += [f'{line}; extra == "{extra}"' for line in extra_lines.split()]
    pins = {}
    for line in lines:
        m = re.fullmatch(
            r"\s*([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*==\s*([^\s;]+)\s*"
            r'(?:;\s*extra\s*==\s*"(\w+)"\s*)?',
            line,
        )
        # Other extras (dev, spiders) are not dank's pins; TensorFlow's are.
        if m and m.group(4) in (None, *TF_EXTRAS):
            pins.setdefault(m.group(1).lower(), m.group(3))
    return pins


def python_requirement():
    """The minimum Python as ``(major, minor)`` (setup.cfg: python_requires)."""
    try:
        spec = importlib.metadata.metadata(DISTRIBUTION).get("Requires-Python") or ""
    except importlib.metadata.PackageNotFoundError:
        spec = ""
    m = re.search(r">=\s*(\d+)\.(\d+)", spec)
    return (int(m.group(1)), int(m.group(2))) if m else (3, 11)


def check_python(version_info=None):
    version_info = version_info or sys.version_info
    need = python_requirement()
    found = ".".join(str(v) for v in version_info[:3])
    if tuple(version_info[:2]) < need:
        return fail(
            "Python",
            f"{found}, dank needs >= {need[0]}.{need[1]}",
            "the virtual environment was made with an older Python",
            f"install Python {need[0]}.{need[1]}, then `rm -rf .venv && make setup "
            f"PYTHON=python{need[0]}.{need[1]}`",
            version=found,
        )
    return ok("Python", f"{found} (needs >= {need[0]}.{need[1]})", version=found)


def _version_check(name, pin, found, label=None):
    label = label or name
    if found is None:
        return fail(
            label,
            f"not installed (pinned {pin})",
            "the install is incomplete",
            SETUP_FIX,
            pinned=pin,
            installed=None,
        )
    if found != pin:
        return fail(
            label,
            f"{found} installed, pinned {pin}",
            "another version was installed by hand or by another package; dank is "
            "tested with the pinned set only",
            SETUP_FIX,
            pinned=pin,
            installed=found,
        )
    return ok(label, f"{found} (pinned)", pinned=pin, installed=found)


def check_tensorflow_package(pins):
    """The TF wheel: tensorflow-cpu (pinned) or tensorflow (GPU users)."""
    pin = pins.get("tensorflow-cpu") or pins.get("tensorflow")
    found = {n: installed_version(n) for n in TF_ALTERNATIVES}
    present = {n: v for n, v in found.items() if v}
    if len(present) > 1:
        return fail(
            "TensorFlow wheel",
            "both tensorflow and tensorflow-cpu are installed",
            "the two wheels write the same files, so the one installed last wins "
            "half-way",
            "recreate the venv: `rm -rf .venv && make setup` (GPU: `make setup GPU=1`)",
            installed=present,
        )
    name, version = next(iter(present.items()), ("tensorflow-cpu", None))
    return _version_check(name, pin, version, label=f"TensorFlow ({name})")


def check_versions(pins=None):
    """The key pins one by one, then the other pins together."""
    pins = pinned_requirements() if pins is None else pins
    if not pins:
        return [
            warn(
                "pins",
                "no pinned requirements found",
                "dank is neither installed nor run from its checkout",
                SETUP_FIX,
            )
        ]
    checks = [check_tensorflow_package(pins)]
    for name in KEY_PACKAGES[1:]:
        if name in pins:
            checks.append(_version_check(name, pins[name], installed_version(name)))
    others = {
        n: (pin, installed_version(n))
        for n, pin in pins.items()
        if n not in KEY_PACKAGES and n not in TF_ALTERNATIVES
    }
    wrong = {n: v for n, v in others.items() if v[0] != v[1]}
    if wrong:
        listed = ", ".join(
            f"{n} {found or 'missing'} (pinned {pin})"
            for n, (pin, found) in sorted(wrong.items())
        )
        checks.append(
            fail(
                "other pinned packages",
                listed,
                "the environment drifted from the pinned, tested set",
                SETUP_FIX,
                wrong={n: {"pinned": p, "installed": f} for n, (p, f) in wrong.items()},
            )
        )
    else:
        checks.append(
            ok(
                "other pinned packages",
                f"{len(others)} match their pins",
                packages=sorted(others),
            )
        )
    return checks


def import_tensorflow():
    """Imports TensorFlow; returns ``(module, None)`` or ``(None, error text)``."""
    try:
        import tensorflow as tf
    except Exception as e:  # noqa: BLE001 - any import failure is the finding.
        return None, f"{type(e).__name__}: {e}"
    return tf, None


def check_tensorflow_import():
    tf, error = import_tensorflow()
    if tf is None:
        cause = "a broken or mismatched TensorFlow install"
        if "protobuf" in error.lower() or "descriptor" in error.lower():
            cause = "a protobuf version TensorFlow was not built for"
        elif "libcud" in error.lower() or ".so" in error:
            cause = "TensorFlow's GPU wheel cannot find its CUDA libraries"
        return fail(
            "TensorFlow import",
            error.splitlines()[0][:300],
            cause,
            "`.venv/bin/pip install --force-reinstall -e .` (see "
            "docs/troubleshooting.md, 'TensorFlow will not import')",
        )
    return ok("TensorFlow import", f"tensorflow {tf.__version__} imports")


def check_onednn(environ=None):
    environ = os.environ if environ is None else environ
    value = environ.get("TF_ENABLE_ONEDNN_OPTS")
    if value is None:
        return ok("oneDNN", "on (TensorFlow's default on x86 Linux)", enabled=True)
    if value.strip().lower() in ("0", "false", "off", "no"):
        return warn(
            "oneDNN",
            f"off (TF_ENABLE_ONEDNN_OPTS={value})",
            "oneDNN was switched off; CPU training and inference are slower",
            "unset TF_ENABLE_ONEDNN_OPTS or `export TF_ENABLE_ONEDNN_OPTS=1` "
            "(the Makefile sets it)",
            enabled=False,
        )
    return ok("oneDNN", f"on (TF_ENABLE_ONEDNN_OPTS={value})", enabled=True)


def check_cpu(cpuinfo=None):
    cpuinfo = read_cpuinfo() if cpuinfo is None else cpuinfo
    if not cpuinfo:
        return skip("CPU features", "no /proc/cpuinfo on this system")
    flags = cpu_flags(cpuinfo)
    cores = len(re.findall(r"^processor\s*:", cpuinfo, re.MULTILINE)) or os.cpu_count()
    shown = [f for f in CPU_FLAGS if f in flags]
    message = f"{cores} cores; {' '.join(shown) or 'none of ' + ' '.join(CPU_FLAGS)}"
    if "asimd" in flags:  # ARM: TF's aarch64 wheels need NEON (asimd) only.
        arm = sorted(flags & {"asimd", "sve", "sve2"})
        return ok("CPU features", f"{cores} cores; ARM {' '.join(arm)}", flags=arm)
    if "avx" not in flags:
        return fail(
            "CPU features",
            message,
            "TensorFlow's x86 wheels need AVX; without it `import tensorflow` "
            "dies with 'Illegal instruction'",
            "use a machine (or VM CPU model) with AVX, or build TensorFlow from source",
            flags=shown,
        )
    if "avx2" not in flags or "fma" not in flags:
        return warn(
            "CPU features",
            message,
            "no AVX2/FMA: oneDNN falls back to slower kernels",
            "nothing to fix; expect slower training (a VM may hide the host's "
            "AVX2: pass the host CPU model through)",
            flags=shown,
        )
    return ok("CPU features", f"{message} (oneDNN uses the best of these)", flags=shown)


def gpu_hardware():
    """True when an NVIDIA GPU looks present (device node or nvidia-smi)."""
    return Path("/dev/nvidia0").exists() or shutil.which("nvidia-smi") is not None


def tf_gpus():
    """``(names of GPUs TensorFlow uses, built with CUDA)``; ``(None, None)``
    when TensorFlow cannot be imported."""
    tf, _ = import_tensorflow()
    if tf is None:
        return None, None
    return [d.name for d in tf.config.list_physical_devices("GPU")], bool(
        tf.test.is_built_with_cuda()
    )


def check_gpu():
    used, cuda = tf_gpus()
    hardware = gpu_hardware()
    if used is None:
        return skip("GPU", "TensorFlow does not import (see above)")
    if used:
        return ok("GPU", f"TensorFlow uses {', '.join(used)}", gpus=used)
    if hardware:
        cause = (
            "tensorflow-cpu is installed, which has no GPU support"
            if not cuda
            else "TensorFlow cannot load the CUDA libraries or the driver is too old"
        )
        return warn(
            "GPU",
            "an NVIDIA GPU is present but TensorFlow does not use it",
            cause,
            "`make setup GPU=1` (it recreates .venv with the GPU build); check "
            "`nvidia-smi` works",
            hardware=True,
            built_with_cuda=cuda,
        )
    return ok(
        "GPU",
        "none; training runs on the CPU (the cpu preset is sized for it)",
        hardware=False,
        built_with_cuda=cuda,
    )


def environment_checks(work_dir="."):
    """Every environment check, in reading order."""
    from dank.apps.doctor.report import guarded

    checks = []
    checks += guarded("Python", check_python)
    checks += guarded("pins", check_versions)
    checks += guarded("TensorFlow import", check_tensorflow_import)
    checks += guarded("oneDNN", check_onednn)
    checks += guarded("CPU features", check_cpu)
    checks += guarded("GPU", check_gpu)
    checks += guarded("disk", resources.check_disk, work_dir)
    checks += guarded("memory", resources.check_memory)
    checks += guarded("font", resources.check_font)
    checks += guarded("ImageNet weights", resources.check_imagenet_weights)
    return checks
