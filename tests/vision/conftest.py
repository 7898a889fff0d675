"""A tiny vision run shared by the vision tests (trained once per session).

The run is trained in two goes: the first is interrupted by a callback after
its first Keras epoch (standing in for a killed process), the second resumes
from ``BackupAndRestore``. ``test_train.py`` checks that it resumed.
"""

import pytest

STOP_AFTER_EPOCH = 0  # Zero-based: the first attempt dies after its first epoch.


class Interrupt(RuntimeError):
    """Stands for the process being killed."""


def epoch_log(stop_after=None):
    """A Keras callback recording epochs begun; raises ``Interrupt`` after one."""
    import keras

    class EpochLog(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.epochs = []

        def on_epoch_begin(self, epoch, logs=None):
            self.epochs.append(epoch)

        def on_epoch_end(self, epoch, logs=None):
            if epoch == stop_after:
                raise Interrupt(f"killed after epoch {epoch}")

    return EpochLog()


@pytest.fixture(scope="session")
def tiny_config():
    from dank.models.vision.config import PRESETS

    # 3 epochs of 2 steps: killed after epoch 0, resumed for epochs 1 and 2.
    return PRESETS["tiny"].replace(steps=6, steps_per_epoch=2)


@pytest.fixture(scope="session")
def vision_run(tiny_data, tiny_config, tmp_path_factory):
    """``(run_dir, first_epochs, backup_files, resumed_epochs, metrics)``."""
    from dank.models.vision.train import train_vision

    run = tmp_path_factory.mktemp("vision") / "run"
    first = epoch_log(stop_after=STOP_AFTER_EPOCH)
    with pytest.raises(Interrupt):
        train_vision(tiny_data, run, tiny_config, callbacks=[first])
    backup_files = sorted(p.name for p in (run / "vision" / "backup").rglob("*"))
    resumed = epoch_log()
    metrics = train_vision(tiny_data, run, tiny_config, callbacks=[resumed])
    return run, first.epochs, backup_files, resumed.epochs, metrics
