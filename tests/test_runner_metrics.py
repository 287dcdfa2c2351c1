"""metrics.jsonl, the progress line, optional TensorBoard, and the run directory check."""
import errno
import io
import json
import os
import sys
import types

import pytest

from experiments.runner import metrics as runlog


class FakeClock:
  def __init__(self, t=1000.0):
    self.t = t

  def __call__(self):
    return self.t


class Terminal(io.StringIO):
  def isatty(self):
    return True


def test_metrics_lines_have_the_documented_fields(tmp_path):
  clock = FakeClock()
  log = runlog.RunLog(tmp_path, clock=clock)
  clock.t += 2.5
  log.log(fit=0, step=100, cost=0.5, learning_rate=0.1)
  log.log(fit=0, step=200, learning_rate=0.1, train_accuracy=0.75)
  log.log(fit=0, step=300, cost=float("nan"))
  log.close()
  lines = (tmp_path / runlog.METRICS).read_text().splitlines()
  first = json.loads(lines[0])
  assert first == {"fit": 0, "step": 100, "epoch": 100, "cost": 0.5, "learning_rate": 0.1,
                   "wall_time": 1002.5, "elapsed_s": 2.5}
  assert json.loads(lines[1])["train_accuracy"] == 0.75
  assert json.loads(lines[2])["cost"] == "nan"  # still valid JSON


def test_a_torn_last_line_is_skipped_and_resume_drops_what_came_after(tmp_path):
  log = runlog.RunLog(tmp_path)
  for step in (0, 10):
    log.log(fit=0, step=step, cost=1.0 / (step + 1))
  log.log(fit=0, step=20, train_accuracy=0.5)  # chunk end, then the checkpoint at 20
  log.log(fit=0, step=20, cost=0.1)            # the next chunk, lost with the kill
  log.log(fit=1, step=0, cost=0.9)
  log.close()
  with open(tmp_path / runlog.METRICS, "a") as f:
    f.write('{"fit": 0, "step": 3')           # killed in the middle of a write
  assert len(runlog.read_metrics(tmp_path / runlog.METRICS)) == 5
  log = runlog.RunLog(tmp_path)
  log.drop_after(0, 20)
  steps = [(r["fit"], r["step"], r["cost"]) for r in runlog.read_metrics(log.path)]
  assert steps == [(0, 0, 1.0), (0, 10, 1.0 / 11), (0, 20, None), (1, 0, 0.9)]


def test_progress_stays_quiet_when_stdout_is_not_a_terminal():
  stream, clock = io.StringIO(), FakeClock()
  progress = runlog.Progress(1000, stream=stream, clock=clock)
  clock.t += 60
  progress.update(500, 0.25)
  progress.close()
  assert stream.getvalue() == ""
  assert runlog.progress_wanted("auto", io.StringIO()) is False
  assert runlog.progress_wanted("auto", Terminal()) is True
  assert runlog.progress_wanted("off", Terminal()) is False


def test_progress_on_a_terminal_shows_rate_eta_and_cost_after_a_few_seconds():
  stream, clock = Terminal(), FakeClock()
  progress = runlog.Progress(1000, label="fit 0: ", stream=stream, clock=clock)
  clock.t += 1
  progress.update(100, 0.5)
  assert stream.getvalue() == ""  # a short run never prints
  clock.t += 3  # 4 s for 400 steps: 100 it/s, 6 s to go
  progress.update(400, 0.25)
  progress.close()
  text = stream.getvalue()
  assert "fit 0: step 400/1000  40%" in text
  assert "100 it/s" in text and "ETA 0:06" in text and "cost 0.25" in text
  assert text.startswith("\r") and text.endswith("\n")


def test_tensorboard_scalars_when_tensorboardx_is_installed(tmp_path, monkeypatch):
  scalars = []

  class Writer:
    def __init__(self, logdir):
      self.logdir = logdir

    def add_scalar(self, tag, value, step):
      scalars.append((tag, value, step))

    def close(self):
      scalars.append("closed")

  monkeypatch.setitem(sys.modules, "tensorboardX", types.SimpleNamespace(SummaryWriter=Writer))
  log = runlog.RunLog(tmp_path, tensorboard=True)
  log.log(fit=0, step=5, cost=0.5, learning_rate=0.1, train_accuracy=0.8)
  log.close()
  assert scalars == [("fit0/cost", 0.5, 5), ("fit0/learning_rate", 0.1, 5),
                     ("fit0/train_accuracy", 0.8, 5), "closed"]


def test_tensorboard_is_optional(tmp_path, monkeypatch):
  monkeypatch.setitem(sys.modules, "tensorboardX", None)  # import fails
  log = runlog.RunLog(tmp_path, tensorboard=True)
  log.log(fit=0, step=0, cost=1.0)
  log.close()
  assert log.writer is None and not (tmp_path / "tensorboard").exists()
