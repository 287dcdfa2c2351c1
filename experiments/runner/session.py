"""One run of one experiment into its run directory: check everything, then train.

``prepare`` runs every check that does not need training -- the config's ranges, the
data files' SHA-256, the workdir's state and writability, a previous run's config --
and touches nothing. ``execute`` then locks the workdir and runs the app.

Run directory::

    config.json     the config, written before training
    metrics.jsonl   one line per logged step (experiments.runner.metrics)
    checkpoints/    fit<k>/<step>/ (experiments.runner.checkpoints, orbax)
    params.h5       trained parameters (params_fit<k>.h5 when a run fits several)
    result.json     the record (experiments.runner.schema), strict JSON
    *.png           the experiment's figures
    .lock           held while a run is in progress
"""
import dataclasses
import json
import math
import pathlib
import shutil
import sys
from typing import Callable, Optional

from dlcourse import data
from dlcourse.errors import DataError
from experiments.runner import env as env_lib
from experiments.runner import export, metrics, rundir, rules, schema
from experiments.runner.registry import Experiment

RUN_FILES = ("result.json", metrics.METRICS)


@dataclasses.dataclass
class Request:
  experiment: Experiment
  config: object
  workdir: pathlib.Path
  data_dir: Optional[pathlib.Path] = None
  run: Optional[Callable] = None       # default: the registered app's run
  overwrite: bool = False
  checkpoint_every: int = env_lib.AUTO
  keep_checkpoints: int = 3
  progress: str = "auto"
  tensorboard: bool = True
  stop_on_nonfinite: bool = True
  cache_dir: Optional[pathlib.Path] = None


@dataclasses.dataclass(frozen=True)
class Plan:
  resume: bool          # the workdir holds a run of this same config: continue it
  replace: bool         # --overwrite: the workdir's other run is to be replaced


def config_dict(config):
  """The config as it reads back from JSON (tuples become lists)."""
  return json.loads(json.dumps(config.to_dict(), default=float))


def check_data_files(data_dir, filenames):
  """DataError unless every file is in ``data_dir`` with its known SHA-256."""
  if not filenames:
    return
  if data_dir is None:
    raise DataError(f"this experiment needs {', '.join(filenames)}: pass --data_dir "
                    f"or set {data.DATA_DIR_ENV} to the directory holding them")
  for filename in filenames:
    data.verify_sha256(pathlib.Path(data_dir) / filename)


def _previous_config(workdir):
  """The previous run's config.json as a dict; None when there is none."""
  path = workdir / "config.json"
  if not path.is_file():
    return None
  try:
    saved = json.loads(path.read_text())
  except (OSError, ValueError) as e:
    raise rundir.WorkdirError(
        f"{path} is unreadable or not JSON ({type(e).__name__}: {e}); use another "
        "--workdir, or pass --overwrite to replace that run") from None
  if not isinstance(saved, dict):
    raise rundir.WorkdirError(f"{path} does not hold a config (a JSON object); use another "
                              "--workdir, or pass --overwrite to replace that run")
  return saved


def _changes(saved, current):
  return [f"{k}: {saved.get(k)!r} -> {current.get(k)!r}"
          for k in sorted(set(saved) | set(current)) if saved.get(k) != current.get(k)]


def plan_workdir(workdir, config, overwrite):
  """Plan for ``workdir``: continue the same config's run, replace (``--overwrite``), or
  refuse with a WorkdirError naming what differs and the flag that starts over."""
  if workdir.exists() and not workdir.is_dir():
    raise rundir.WorkdirError(f"workdir {workdir} exists and is not a directory")
  saved = None if overwrite else _previous_config(workdir)
  has_run = any((workdir / f).exists() for f in RUN_FILES + ("checkpoints",))
  if overwrite:
    return Plan(resume=False, replace=has_run or (workdir / "config.json").exists())
  if saved is None:
    if has_run:
      raise rundir.WorkdirError(
          f"{workdir} holds a run without its config.json; use another --workdir, or pass "
          "--overwrite to replace it")
    return Plan(resume=False, replace=False)
  changed = _changes(saved, config_dict(config))
  if changed:
    raise rundir.WorkdirError(
        f"{workdir} holds a run of another config ({'; '.join(changed)}); use another "
        "--workdir, or pass --overwrite to replace that run")
  return Plan(resume=True, replace=False)


def prepare(request):
  """Every check before anything is written; returns the workdir's Plan."""
  rules.validate(request.config)
  check_data_files(request.data_dir, request.experiment.data_files(request.config))
  plan = plan_workdir(request.workdir, request.config, request.overwrite)
  rundir.check_writable(request.workdir)
  return plan


def _replace_previous(workdir, warn):
  """--overwrite: the previous run's results go (the user asked)."""
  removed = []
  for name in RUN_FILES + ("config.json",):
    if (workdir / name).exists():
      (workdir / name).unlink()
      removed.append(name)
  for path in sorted(workdir.glob("params*.h5")):
    path.unlink()
    removed.append(path.name)
  if (workdir / "checkpoints").exists():
    shutil.rmtree(workdir / "checkpoints")
    removed.append("checkpoints/")
  if removed:
    warn(f"--overwrite: replaced the previous run in {workdir} ({', '.join(removed)})")


def notice(message):
  print(message, file=sys.stderr)


def execute(request, plan, stop):
  """Locks the workdir, runs the app, writes its files; returns the record."""
  workdir = request.workdir
  with rundir.lock(workdir):
    # Re-read under the lock: another run may have written the directory meanwhile.
    plan = plan_workdir(workdir, request.config, request.overwrite) if not plan.replace \
        else plan
    log = metrics.RunLog(workdir, progress=metrics.progress_wanted(request.progress),
                         tensorboard=request.tensorboard)

    def start():
      # Only once the app's own checks (data shapes, chunk sizes) have passed.
      if plan.replace:
        _replace_previous(workdir, notice)
      rundir.write_json(workdir / "config.json", request.config.to_dict())
      if not plan.resume:
        log.reset()

    env = env_lib.Env(
        workdir=workdir, data_dir=request.data_dir,
        cache_dir=request.cache_dir or env_lib.default_cache_dir(),
        checkpoint_every=request.checkpoint_every, keep_checkpoints=request.keep_checkpoints,
        resume=plan.resume, chunk_every=env_lib.AUTO if log.progress_enabled else 0,
        stop_on_nonfinite=request.stop_on_nonfinite, log=log, stop=stop, on_start=start)
    run = request.run or request.experiment.app().run
    try:
      record, figures = run(request.config, env)
      env.start()
      if not env.fits:
        if plan.resume:
          # Nothing to continue (this app keeps no checkpoints): its lines replace the
          # previous run's rather than follow them.
          notice(f"{request.experiment.name}: keeps no checkpoints; ran from the start and "
                 "replaced the previous run's results")
          log.reset()
        _log_from_record(log, record, request.config)
    finally:
      log.close()
    record = finish_record(request, env, record)
    for filename, png in schema.draw_figures(figures).items():
      rundir.write_bytes(workdir / filename, png)
    rundir.write_json(workdir / "result.json", record)
  return record


def finish_record(request, env, record):
  """The app's record plus ``experiment`` and ``run``; params exported; strict JSON."""
  record = dict(record)
  record["experiment"] = request.experiment.name
  resumed_from = [f.resumed_from for f in env.fits]
  record["run"] = {
      "workdir": str(request.workdir),
      "resumed": any(step is not None for step in resumed_from),
      "resumed_from": resumed_from,
      "checkpoint_every": request.checkpoint_every,
      "params_files": _export_params(request, env.fits, record),
  }
  replaced = sanitize_nonfinite(record)
  if replaced:
    record["run"]["nonfinite_replaced_by_null"] = replaced
  schema.check_record(record)
  return record


def sanitize_nonfinite(obj, path="record"):
  """Replaces NaN/inf floats in place by None; returns their paths (strict JSON)."""
  replaced = []
  items = obj.items() if isinstance(obj, dict) else enumerate(obj) \
      if isinstance(obj, list) else ()
  for key, value in items:
    where = f"{path}.{key}" if isinstance(obj, dict) else f"{path}[{key}]"
    if isinstance(value, float) and not math.isfinite(value):
      obj[key] = None
      replaced.append(where)
    elif isinstance(value, (dict, list)):
      replaced += sanitize_nonfinite(value, where)
  return replaced


def _export_params(request, fits, record):
  """params.h5 (or params_fit<k>.h5 per fit) with the run's metadata."""
  written = []
  for fit in fits:
    filename = "params.h5" if len(fits) == 1 else f"params_fit{fit.index}.h5"
    attrs = {"experiment": request.experiment.name, "fit": fit.index,
             "config_json": json.dumps(config_dict(request.config))}
    if len(fits) == 1:
      for key in ("train_accuracy", "test_accuracy"):
        if record.get(key) is not None:
          attrs[key] = float(record[key])
    export.save_params(request.workdir / filename, fit.params, fit.arch, attrs=attrs)
    written.append(filename)
  return written


def _log_from_record(log, record, config):
  """metrics.jsonl for an experiment that trains without ``env.fit_*``: its record's
  costs ([x, cost]), then its accuracies."""
  lr = config.get("learning_rate")
  lr = lr if isinstance(lr, (int, float)) and not isinstance(lr, bool) else None
  costs = [(int(x), float(c)) for x, c in record.get("costs") or [] if c is not None]
  for x, cost in costs:
    log.log(fit=0, step=x, cost=cost, learning_rate=lr)
  log.log(fit=0, step=costs[-1][0] if costs else 0,
          train_accuracy=record.get("train_accuracy"),
          test_accuracy=record.get("test_accuracy"), dev_accuracy=record.get("dev_accuracy"))


def summary_line(record):
  """The run's one line: its accuracies and last cost, or the app's ``headline``
  (``metrics["headline"]``) for experiments that classify nothing."""
  def pct(x):
    return "n/a" if x is None else f"{100 * x:.2f} %"
  headline = schema.headline(record)
  if headline:
    return headline + ("; resumed" if record.get("run", {}).get("resumed") else "")
  parts = [f"train {pct(record.get('train_accuracy'))}"]
  if record.get("dev_accuracy") is not None:
    parts.append(f"dev {pct(record['dev_accuracy'])}")
  parts.append(f"test {pct(record.get('test_accuracy'))}")
  last = record["costs"][-1] if record.get("costs") else None
  cost = f"; cost {last[1]:.6f} at {last[0]}" if last and last[1] is not None else ""
  resumed = "; resumed" if record.get("run", {}).get("resumed") else ""
  return ", ".join(parts) + cost + resumed
