"""The declared schema of ``result.json``: every experiment's record has these fields.

    experiment       the registry name (added by the runner)
    config           the config as run (a dict)
    costs            [[x, J], ...]: x an iteration, epoch or step (``cost_unit``)
    cost_unit        "iteration", "epoch" or "step"
    train_accuracy   fraction in [0, 1], or None (no classifier / nothing trained)
    dev_accuracy     on a dev split carved from the training data, or None
    test_accuracy    on the held-out test set, or None
    timings          {"compile_s", "train_s", ...} in seconds: the run's totals; a run in
                     stages, or of several programs, adds each one's "<stage>_compile_s"
                     / "<stage>_train_s" (a JAX-keyed mini-batch fit: "shuffles_..."
                     and "epochs_...")
    metrics          the experiment's own figures (theta, gradient-check differences, ...)
    versions         {"jax", "backend"}
    run              added by the runner: workdir, resumed, resumed_from, params_files, ...

Strict JSON: a NaN or infinity anywhere is refused by ``check_record`` (an experiment
reports divergence as ``None`` plus a flag, never as NaN).
"""
import math
from typing import Any, Optional, TypedDict

COST_UNITS = ("iteration", "epoch", "step")
FIELDS = ("experiment", "config", "costs", "cost_unit", "train_accuracy", "dev_accuracy",
          "test_accuracy", "timings", "metrics", "versions")


class Result(TypedDict, total=False):
  experiment: str
  config: dict
  costs: list
  cost_unit: str
  train_accuracy: Optional[float]
  dev_accuracy: Optional[float]
  test_accuracy: Optional[float]
  timings: dict
  metrics: dict
  versions: dict
  run: dict


def _versions():
  import jax  # pylint: disable=import-outside-toplevel  (keeps this module light)
  return {"jax": jax.__version__, "backend": jax.default_backend()}


def _fraction(name, value):
  if value is None:
    return None
  value = float(value)
  if not 0.0 <= value <= 1.0:
    raise ValueError(f"{name} must be a fraction in [0, 1], got {value}")
  return value


def result(config, *, costs=(), train_accuracy=None, test_accuracy=None, dev_accuracy=None,
           timings=None, metrics=None, cost_unit="iteration") -> Result:
  """The record an app's ``run`` returns (the runner adds ``experiment`` and ``run``)."""
  if cost_unit not in COST_UNITS:
    raise ValueError(f"cost_unit must be one of {COST_UNITS}, got {cost_unit!r}")
  record = Result(
      config=config.to_dict() if hasattr(config, "to_dict") else dict(config),
      costs=[[int(x), float(J)] for x, J in costs], cost_unit=cost_unit,
      train_accuracy=_fraction("train_accuracy", train_accuracy),
      dev_accuracy=_fraction("dev_accuracy", dev_accuracy),
      test_accuracy=_fraction("test_accuracy", test_accuracy),
      timings={k: round(float(v), 4) for k, v in (timings or {}).items()},
      metrics=dict(metrics or {}), versions=_versions())
  return record


def _nonfinite_paths(obj, path="record"):
  if isinstance(obj, float) and not math.isfinite(obj):
    yield path
  elif isinstance(obj, dict):
    for k, v in obj.items():
      yield from _nonfinite_paths(v, f"{path}.{k}")
  elif isinstance(obj, (list, tuple)):
    for i, v in enumerate(obj):
      yield from _nonfinite_paths(v, f"{path}[{i}]")


def headline(record) -> Optional[str]:
  """The app's one-line result (``metrics["headline"]``) for a record that classifies
  nothing (no ``train_accuracy``); None otherwise."""
  text = (record.get("metrics") or {}).get("headline")
  return text if text and record.get("train_accuracy") is None else None


def check_record(record: Any) -> None:
  """Raises ValueError naming the first missing field or non-finite number."""
  missing = [f for f in FIELDS if f not in record]
  if missing:
    raise ValueError(f"result record lacks {', '.join(missing)}")
  if record["cost_unit"] not in COST_UNITS:
    raise ValueError(f"cost_unit {record['cost_unit']!r} is not one of {COST_UNITS}")
  for name in ("train_accuracy", "dev_accuracy", "test_accuracy"):
    _fraction(name, record[name])
  bad = next(_nonfinite_paths(record), None)
  if bad is not None:
    raise ValueError(f"{bad} is not a finite number (result.json is strict JSON)")


def draw_figures(figures, skip=()):
  """{filename: PNG bytes} of an app's figures.

  An app's ``run`` returns its figures as {filename: PNG bytes, or a zero-argument
  callable that draws them}; the callables are drawn here, when the figure is about to
  be written, and the names in ``skip`` are left out undrawn (the report does this with
  each mode's cost curve, which it replaces by one curve of both modes).
  """
  return {name: png() if callable(png) else png
          for name, png in figures.items() if name not in skip}
