"""`python -m ganstudio train`: one JSON line, a checkpoint, clear errors; DDP with 2 CPU processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ganstudio.cli import main
from ganstudio.gan.io import load_gan

torch.set_num_threads(1)
REPO = Path(__file__).resolve().parent.parent


def test_train_command_writes_checkpoint_and_json(tmp_path, capsys):
    out = tmp_path / "ring"
    code = main(["train", "--data", "ring8", "--steps", "15", "--seed", "1", "--out", str(out), "--batch-size", "32"])
    captured = capsys.readouterr()
    assert code == 0
    result = json.loads(captured.out.strip().splitlines()[-1])
    assert result["steps"] == 15 and result["world_size"] == 1 and result["seconds"] > 0
    assert {"modes", "high_quality", "reverse_kl"} <= set(result["metrics"])
    assert "step 15" in captured.err  # the progress bar went to stderr
    assert load_gan(out).config["steps"] == 15


def test_train_command_images(tmp_path, capsys):
    code = main(["train", "--data", "digits", "--arch", "transformer", "--loss", "lsgan", "--steps", "2",
                 "--batch-size", "4", "--width", "8", "--image-size", "16", "--out", str(tmp_path / "d"), "--quiet"])
    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["arch"] == "transformer" and result["steps"] == 2
    assert load_gan(tmp_path / "d").config["image_shape"] == [1, 16, 16]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--data", "ring8", "--arch", "dcgan"], "2D point set"),
        (["--data", "grid25", "--steps", "-3"], "steps"),
        (["--data", "nowhere/such-folder.zip", "--steps", "1"], ""),
    ],
)
def test_train_command_bad_input_is_one_line(tmp_path, capsys, args, message):
    code = main(["train", *args, "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error:") and message in err and "Traceback" not in err


@pytest.mark.slow
def test_ddp_two_cpu_processes(tmp_path):
    """torchrun --nproc_per_node=2: gloo DDP, rank 0 writes one checkpoint and one JSON line."""
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "ganstudio",
           "train", "--data", "ring8", "--steps", "5", "--batch-size", "16", "--out", str(out), "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1  # only rank 0 reports
    result = json.loads(lines[0])
    assert result["world_size"] == 2 and result["steps"] == 5
    assert load_gan(out).config["steps"] == 5
