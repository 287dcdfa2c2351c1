"""What a run writes while it trains: metrics.jsonl, a progress line, TensorBoard scalars.

* ``metrics.jsonl``: one JSON object per logged step, appended and flushed at once, so
  a killed run leaves every line it logged (and at worst one torn last line, which the
  reader skips). Fields: ``fit`` (which ``fit_gd`` call of the run, from 0), ``step``,
  ``epoch``, ``cost``, ``learning_rate``, ``train_accuracy`` (when computed),
  ``wall_time`` (Unix seconds) and ``elapsed_s`` (since the log was opened).
* Progress: ``step 1200/2500 48% | 850 it/s | ETA 0:02 | cost 0.3456`` rewritten in
  place, only when the stream is a terminal and the fit has run for ``after_s`` seconds
  (short runs and logs piped to files stay quiet).
* TensorBoard: scalars via ``tensorboardX`` when it is installed and asked for; never
  required.
"""
import json
import math
import os
import pathlib
import sys
import time


METRICS = "metrics.jsonl"


def read_metrics(path):
  """The records of a metrics.jsonl file; a torn (half-written) last line is skipped."""
  path = pathlib.Path(path)
  if not path.is_file():
    return []
  records = []
  for line in path.read_text().splitlines():
    try:
      records.append(json.loads(line))
    except ValueError:
      continue
  return records


def _finite_or_none(x):
  """JSON has no NaN/inf: store them as strings so the line stays valid JSON."""
  if x is None:
    return None
  x = float(x)
  return x if math.isfinite(x) else str(x)


def format_duration(seconds):
  seconds = max(0, int(round(seconds)))
  hours, rest = divmod(seconds, 3600)
  minutes, secs = divmod(rest, 60)
  return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
  """One self-overwriting status line for a fit of ``total`` steps.

  Quiet unless ``stream`` is a terminal (``enabled=None``) and ``after_s`` seconds
  have passed since ``start``.
  """

  def __init__(self, total, *, label="", stream=None, enabled=None, after_s=2.0,
               first_step=0, clock=time.monotonic):
    self.stream = stream or sys.stdout
    self.enabled = _is_terminal(self.stream) if enabled is None else enabled
    self.total, self.label, self.after_s, self.clock = total, label, after_s, clock
    self.first_step = first_step
    self.start = clock()
    self.shown = False

  def line(self, step, cost):
    elapsed = self.clock() - self.start
    done = step - self.first_step
    rate = done / elapsed if elapsed > 0 else 0.0
    eta = (self.total - step) / rate if rate > 0 else float("nan")
    parts = [f"{self.label}step {step}/{self.total} {100 * step / self.total:3.0f}%",
             f"{rate:,.0f} it/s",
             f"ETA {format_duration(eta) if math.isfinite(eta) else '?'}"]
    if cost is not None:
      parts.append(f"cost {cost:.6g}")
    return " | ".join(parts)

  def update(self, step, cost=None):
    if not self.enabled or self.clock() - self.start < self.after_s:
      return
    self.stream.write("\r" + self.line(step, cost).ljust(70))
    self.stream.flush()
    self.shown = True

  def close(self):
    if self.shown:
      self.stream.write("\n")
      self.stream.flush()
      self.shown = False


def _is_terminal(stream):
  try:
    return stream.isatty()
  except (AttributeError, ValueError):
    return False


def progress_wanted(setting, stream=None):
  """"on" / "off" / "auto" (on when ``stream``, default stdout, is a terminal) -> bool."""
  if setting not in ("auto", "on", "off"):
    raise ValueError(f"progress must be auto, on or off, got {setting!r}")
  if setting == "auto":
    return _is_terminal(stream or sys.stdout)
  return setting == "on"


def tensorboard_writer(logdir):
  """A tensorboardX SummaryWriter, or None when tensorboardX is not installed."""
  try:
    from tensorboardX import SummaryWriter
  except ImportError:
    return None
  return SummaryWriter(str(logdir))


class RunLog:
  """Appends metrics.jsonl lines in ``workdir``; optionally progress and TensorBoard.

  ``progress``: None = on when stdout is a terminal; ``tensorboard``: write scalars
  into ``workdir/tensorboard`` when tensorboardX is importable.
  """

  def __init__(self, workdir, *, progress=None, tensorboard=False, stream=None,
               clock=time.time):
    self.workdir = pathlib.Path(workdir)
    self.path = self.workdir / METRICS
    self.progress_enabled = progress
    self.stream = stream
    self.clock = clock
    self.opened = clock()
    self.tensorboard = tensorboard
    self.writer = None     # made on the first line: a refused run creates nothing
    self._file = None

  def _handle(self):
    if self._file is None:
      self._file = open(self.path, "a", buffering=1)  # line-buffered: one write per line
    return self._file

  def log(self, *, fit, step, epoch=None, cost=None, learning_rate=None,
          train_accuracy=None, **extra):
    now = self.clock()
    record = {"fit": int(fit), "step": int(step),
              "epoch": int(step if epoch is None else epoch),
              "cost": _finite_or_none(cost), "learning_rate": _finite_or_none(learning_rate)}
    if train_accuracy is not None:
      record["train_accuracy"] = float(train_accuracy)
    record.update(extra)
    record["wall_time"] = round(now, 3)
    record["elapsed_s"] = round(now - self.opened, 4)
    self._handle().write(json.dumps(record) + "\n")
    if self.tensorboard and self.writer is None:
      self.writer = tensorboard_writer(self.workdir / "tensorboard")
      self.tensorboard = self.writer is not None
    if self.writer is not None:
      for name in ("cost", "learning_rate", "train_accuracy"):
        value = record.get(name)
        if isinstance(value, float):
          self.writer.add_scalar(f"fit{fit}/{name}", value, int(step))
    return record

  def drop_after(self, fit, step):
    """Removes the lines fit ``fit`` logged after its checkpoint at ``step`` was taken
    (a resumed fit logs them again): those past ``step``, and the cost at ``step``
    itself, which the chunk starting there records. The accuracy line at ``step``
    came before the checkpoint and stays."""
    self.close_file()
    kept = [r for r in read_metrics(self.path) if not (r.get("fit") == fit and (
        r.get("step", -1) > step or (r.get("step") == step and r.get("cost") is not None)))]
    tmp = self.path.with_name(self.path.name + ".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in kept))
    os.replace(tmp, self.path)

  def reset(self):
    """Empties metrics.jsonl (a fresh run in a directory that held an earlier one)."""
    self.close_file()
    self.path.unlink(missing_ok=True)

  def progress(self, total, *, label="", first_step=0):
    return Progress(total, label=label, stream=self.stream, enabled=self.progress_enabled,
                    first_step=first_step)

  def close_file(self):
    if self._file is not None:
      self._file.close()
      self._file = None

  def close(self):
    self.close_file()
    if self.writer is not None:
      self.writer.close()
      self.writer = None
