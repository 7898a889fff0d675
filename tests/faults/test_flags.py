"""Bad flags end to end: exit status 2 and one clear line, never a traceback."""

import pytest

from dank.apps import cli


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--mix-top-k", "999"], "--mix-top-k must be between 1 and 6"),
        (["--mix-top-k", "0"], "--mix-top-k must be between 1 and 6"),
        (["--temperature", "nan"], "temperature must be a positive number"),
        (["--decoder", "beam", "--beam", "1000"], "beam_size 1000 is wider"),
        (["--decoder", "diverse", "-n", "500"], "beam_size 500 is wider"),
    ],
)
def test_generate_refuses_flags_the_run_cannot_honour(
    tiny_run, tmp_path, capsys, flags, message
):
    argv = ["generate", "--run", str(tiny_run), "--template", "Party Cat"]
    argv += ["--out", str(tmp_path / "memes"), *flags]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "memes").exists()  # Nothing half-written.


def test_generate_refuses_a_file_as_its_output_folder(tiny_run, tmp_path, capsys):
    taken = tmp_path / "memes.png"
    taken.write_bytes(b"mine")
    argv = ["generate", "--run", str(tiny_run), "--template", "Party Cat"]
    assert cli.main([*argv, "--out", str(taken)]) == 2
    assert "is a file; pass a folder" in capsys.readouterr().err
    assert taken.read_bytes() == b"mine"


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--batch-size", "0"], "--batch-size must be positive, got 0"),
        (["--steps", "-3"], "--steps must be positive, got -3"),
    ],
)
def test_vision_training_refuses_non_positive_sizes(
    tiny_data, tmp_path, capsys, flags, message
):
    argv = ["train", "vision", "--preset", "tiny", "--data", str(tiny_data)]
    argv += ["--run", str(tmp_path / "run"), *flags]
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
