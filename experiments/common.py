"""What the experiment apps share: the command line, and writing a run's directory.

Every app defines ``run(config, data_dir) -> (record, figures)`` (pure with respect to
files: tests call it directly) and ends with ``common.launch(run, NAME)`` under
``if __name__ == "__main__"``; ``python -m experiments <name>`` reaches the same code.

Command line (``cli``)::

    --config.<field>=<value>   override a config field (parsed by the field's type; a
                               misspelt field or a bad value is a one-line error)
    --workdir DIR              run directory (default runs/<name>)
    --data_dir DIR             course data (default $DLCOURSE_DATA_DIR)
    --resume                   continue from the latest checkpoint in --workdir
    --checkpoint_every N       iterations between checkpoints (-1 auto, 0 off)
    --keep_checkpoints N       how many checkpoints to keep (3)
    --progress auto|on|off     progress line (auto: only on a terminal)
    --[no]tensorboard          TensorBoard scalars when tensorboardX is installed
    --[no]stop_on_nonfinite    stop at the first NaN/inf cost (default on)

Run directory::

    config.json     the config, written before training
    metrics.jsonl   one line per logged step (see dlcourse.runlog)
    checkpoints/    fit<k>/step_<n>/ (see dlcourse.checkpoint)
    params.h5       trained parameters (params_fit<k>.h5 when a run fits several)
    result.json     the record: config, costs, accuracies, timings, run info
    *.png           the experiment's figures

Bad input exits with status 2 and one ``error: ...`` line on stderr (no traceback);
a run that diverges or cannot write its checkpoint exits with status 1.
"""
import json
import os
import pathlib
import shutil
import sys

from absl import app, flags, logging

from dlcourse import config_check, data, experiment, export, runlog
from dlcourse.checkpoint import CheckpointError
from dlcourse.errors import ConfigError, DataError, DLCourseError

CONFIG_DIR = pathlib.Path(__file__).resolve().parent / "configs"

_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for the run's files "
                               "(default: runs/<experiment name>).")
_DATA_DIR = flags.DEFINE_string("data_dir", None, "Directory holding the course data files "
                                f"(default: ${data.DATA_DIR_ENV}).")
_RESUME = flags.DEFINE_bool("resume", False, "Continue from the latest sound checkpoint in "
                            "--workdir (a fresh start when there is none).")
_CHECKPOINT_EVERY = flags.DEFINE_integer(
    "checkpoint_every", experiment.AUTO, "Iterations between checkpoints, a multiple of "
    "config.record_every; -1: about ten per fit; 0: no checkpoints (one compiled program).")
_KEEP = flags.DEFINE_integer("keep_checkpoints", 3, "How many checkpoints to keep per fit.",
                             lower_bound=1)
_PROGRESS = flags.DEFINE_enum("progress", "auto", ["auto", "on", "off"],
                              "Progress line; auto: only when stdout is a terminal.")
_TENSORBOARD = flags.DEFINE_bool("tensorboard", True, "Write TensorBoard scalars to "
                                 "<workdir>/tensorboard when tensorboardX is installed.")
_STOP_ON_NONFINITE = flags.DEFINE_bool("stop_on_nonfinite", True, "Stop training at the "
                                       "first NaN/inf cost, naming the iteration.")

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1


class UsageError(DLCourseError):
  """A command line that cannot be parsed."""


def write_text_atomic(path, text):
  """Writes ``text`` via a temporary file renamed into place: a reader (or a crash)
  never sees a half-written file."""
  path = pathlib.Path(path)
  tmp = path.with_suffix(path.suffix + ".tmp")
  try:
    tmp.write_text(text)
    os.replace(tmp, path)
  finally:
    tmp.unlink(missing_ok=True)


def write_json(path, obj):
  """Writes JSON atomically."""
  write_text_atomic(path, json.dumps(obj, indent=2, default=float) + "\n")


def write_run(workdir, record, figures):
  """result.json plus one PNG per entry of ``figures`` ({filename: png bytes})."""
  workdir = pathlib.Path(workdir)
  workdir.mkdir(parents=True, exist_ok=True)
  for filename, png in figures.items():
    tmp = workdir / (filename + ".tmp")
    try:
      tmp.write_bytes(png)
      os.replace(tmp, workdir / filename)
    finally:
      tmp.unlink(missing_ok=True)
  write_json(workdir / "result.json", record)
  return workdir


def summary_line(record):
  def pct(x):
    return "n/a" if x is None else f"{100 * x:.2f} %"
  last = record["costs"][-1] if record.get("costs") else None
  cost = f"; cost {last[1]:.6f} at {last[0]}" if last else ""
  return f"train {pct(record['train_accuracy'])}, test {pct(record['test_accuracy'])}{cost}"


def config_path(name):
  return CONFIG_DIR / f"{name}.py"


# --------------------------------------------------------------------------------------
# Parsing


def wants_help(args):
  return any(a in ("-h", "--help", "-help", "--helpfull", "--helpshort") for a in args)


def parse_command_line(argv):
  """Parses absl flags; returns the ``--config.*`` overrides. Raises UsageError."""
  try:
    overrides, rest = config_check.split_overrides(argv[1:])
  except DLCourseError as e:
    raise UsageError(str(e)) from None
  flags.FLAGS.unparse_flags()
  try:
    leftover = flags.FLAGS([argv[0]] + rest)
  except flags.Error as e:
    flags.FLAGS.mark_as_parsed()  # absl's exit path reads flags; let it, with defaults
    raise UsageError(str(e)) from None
  if len(leftover) > 1:
    raise UsageError(f"unexpected arguments: {leftover[1:]} (config fields are set with "
                     "--config.<field>=<value>)")
  return overrides


def platform_flag_help():
  names = ("workdir", "data_dir", "resume", "checkpoint_every", "keep_checkpoints",
           "progress", "tensorboard", "stop_on_nonfinite")
  lines = []
  for name in names:
    flag = flags.FLAGS[name]
    lines.append(f"  --{name}: {flag.help} (default: {flag.default!r})")
  return "\n".join(lines)


def help_text(name, config, doc):
  fields = "\n".join(f"  --config.{k}={v!r}" for k, v in sorted(config.items()))
  return (f"usage: python -m experiments {name} [--config.<field>=<value> ...] [flags]\n\n"
          f"{(doc or '').strip()}\n\nconfig fields (defaults):\n{fields}\n\n"
          f"flags:\n{platform_flag_help()}\n")


# --------------------------------------------------------------------------------------
# Running


def _config_dict(config):
  """The config as it reads back from JSON (tuples become lists)."""
  return json.loads(json.dumps(config.to_dict(), default=float))


def _check_resumable(workdir, config, name):
  """Raises ConfigError when --resume would continue another config's run."""
  saved_path = workdir / "config.json"
  if not saved_path.is_file():
    return False
  saved = json.loads(saved_path.read_text())
  current = _config_dict(config)
  changed = [f"{k}: {saved.get(k)!r} -> {current.get(k)!r}"
             for k in sorted(set(saved) | set(current)) if saved.get(k) != current.get(k)]
  if changed:
    raise ConfigError(
        f"--resume: the run in {workdir} used a different {name} config ("
        + "; ".join(changed) + "); pass the same --config overrides or use a fresh --workdir")
  return True


def _notice(message):
  print(message, file=sys.stderr)


def _export_params(workdir, name, config, fits, record):
  """params.h5 (or params_fit<k>.h5 per fit) with the run's metadata."""
  written = []
  for fit in fits:
    filename = "params.h5" if len(fits) == 1 else f"params_fit{fit.index}.h5"
    attrs = {"experiment": name, "fit": fit.index, "config_json": json.dumps(
        _config_dict(config))}
    if len(fits) == 1:
      for key in ("train_accuracy", "test_accuracy"):
        if record.get(key) is not None:
          attrs[key] = float(record[key])
    export.save_params(workdir / filename, fit.params, fit.arch, attrs=attrs)
    written.append(filename)
  return written


def _log_from_record(log, record, config):
  """metrics.jsonl for an experiment that does not train through ``fit_gd`` (mini-batch
  epochs, sweeps): its record's costs, written after the run ([x, cost] with x the
  record's iteration or epoch), then its accuracies."""
  log.reset()
  lr = config.get("learning_rate")
  lr = lr if isinstance(lr, (int, float)) and not isinstance(lr, bool) else None
  try:
    costs = [(int(x), float(cost)) for x, cost in record.get("costs") or []]
    for x, cost in costs:
      log.log(fit=0, step=x, cost=cost, learning_rate=lr)
    log.log(fit=0, step=costs[-1][0] if costs else 0,
            train_accuracy=record.get("train_accuracy"),
            test_accuracy=record.get("test_accuracy"))
  except (TypeError, ValueError) as e:  # a record of another shape must not fail the run
    _notice(f"metrics.jsonl: cannot log this record's costs ({e})")


def check_data_files(data_dir, filenames):
  """Raises DataError unless every file is in ``data_dir`` with its known SHA-256 (the
  message names the file and the expected digest)."""
  if not filenames:
    return
  if data_dir is None:
    raise DataError(f"this experiment needs {', '.join(filenames)}: pass --data_dir "
                    f"or set {data.DATA_DIR_ENV} to the directory holding them")
  for filename in filenames:
    data.verify_sha256(pathlib.Path(data_dir) / filename)


def execute(name, run, config, *, workdir=None, data_dir=None, resume=False,
            checkpoint_every=experiment.AUTO, keep_checkpoints=3, progress="auto",
            tensorboard=True, stop_on_nonfinite=True, data_files=()):
  """Runs one experiment into its run directory; returns the record.

  ``data_files``: the course files the experiment reads (a tuple, or a function of the
  config). Everything that can be checked before training is: the config's ranges, the
  data files' SHA-256, the run directory's writability, a --resume against the saved
  config.
  """
  config_check.validate(config)
  data_dir = data.resolve_data_dir(data_dir)
  check_data_files(data_dir, data_files(config) if callable(data_files) else data_files)
  workdir = runlog.prepare_workdir(workdir or pathlib.Path("runs") / name)
  if resume and not _check_resumable(workdir, config, name):
    _notice(f"{name}: nothing to resume in {workdir}; starting from scratch")
    resume = False
  write_json(workdir / "config.json", config.to_dict())
  show_progress = runlog.progress_wanted(progress)
  log = runlog.RunLog(workdir, progress=show_progress, tensorboard=tensorboard)
  if not resume:  # a fresh run: an earlier run's lines and checkpoints must not mix in
    log.reset()
    shutil.rmtree(workdir / "checkpoints", ignore_errors=True)
  options = experiment.RunOptions(
      checkpoint_dir=workdir / "checkpoints", checkpoint_every=checkpoint_every,
      keep_checkpoints=keep_checkpoints, resume=resume,
      chunk_every=experiment.AUTO if show_progress else 0,  # chunks let the line move
      stop_on_nonfinite=stop_on_nonfinite, log=log, warn=_notice)
  try:
    with experiment.run_options(options):
      record, figures = run(config, data_dir)
    if not options.fits:
      _log_from_record(log, record, config)
  finally:
    log.close()
  record = dict(record)
  record["run"] = {
      "workdir": str(workdir), "resumed": bool(resume),
      "resumed_from": [f.resumed_from for f in options.fits],
      "checkpoint_every": checkpoint_every,
      "params_files": _export_params(workdir, name, config, options.fits, record),
  }
  write_run(workdir, record, figures)
  return record


def run_from_command_line(name, run, get_config, argv, doc=None, data_files=()):
  """Parses ``argv`` (argv[0] is the program) and runs; returns the exit status.

  Every bad input (flags, config fields and values, data files, the run directory,
  shapes) becomes one ``error:`` line on stderr and status 2; a run that diverges or
  cannot checkpoint is status 1.
  """
  try:
    config = get_config()
    if wants_help(argv[1:]):
      print(help_text(name, config, doc))
      return 0
    overrides = parse_command_line(argv)
    config = config_check.apply_overrides(config, overrides)
    record = execute(
        name, run, config, workdir=_WORKDIR.value, data_dir=_DATA_DIR.value,
        resume=_RESUME.value, checkpoint_every=_CHECKPOINT_EVERY.value,
        keep_checkpoints=_KEEP.value, progress=_PROGRESS.value,
        tensorboard=_TENSORBOARD.value, stop_on_nonfinite=_STOP_ON_NONFINITE.value,
        data_files=data_files)
  except (experiment.TrainingDiverged, CheckpointError) as e:
    print(f"error: {name}: {e}", file=sys.stderr)
    return EXIT_FAILED
  except DLCourseError as e:
    print(f"error: {name}: {e}", file=sys.stderr)
    return EXIT_BAD_INPUT
  except OSError as e:  # e.g. the disk filled up while writing the results
    print(f"error: {name}: {e}", file=sys.stderr)
    return EXIT_FAILED
  print(f"{name}: {summary_line(record)} -> {record['run']['workdir']}/result.json")
  return 0


def _registered(name):
  """The registry's entry for ``name`` (None if unregistered); imported late because the
  registry imports every app, and every app imports this module."""
  from experiments.__main__ import EXPERIMENTS
  return EXPERIMENTS.get(name)


def launch(run, name, get_config=None, argv=None, doc=None, data_files=None):
  """The app's entry point: absl's logging set-up, then ``run_from_command_line``.

  ``python experiments/<name>.py`` passes only ``run`` and ``name``: the config and the
  data files then come from the registry.
  """
  if get_config is None or doc is None or data_files is None:
    entry = _registered(name)
    if entry is None:
      raise SystemExit(f"error: {name} is not in experiments/__main__.py's EXPERIMENTS")
    get_config, doc = get_config or entry.config.get_config, doc or entry.config.__doc__
    data_files = entry.files_for if data_files is None else data_files
  argv = list(sys.argv if argv is None else argv)

  def parse(_):
    # absl needs FLAGS parsed here; errors are reported by run_from_command_line.
    if not flags.FLAGS.is_parsed():
      flags.FLAGS.mark_as_parsed()
    # Orbax logs every save at INFO; keep the console to warnings unless asked.
    if flags.FLAGS["verbosity"].using_default_value:
      flags.FLAGS.verbosity = logging.WARNING
    return argv

  app.run(lambda args: sys.exit(run_from_command_line(name, run, get_config, args, doc,
                                                      data_files or ())),
          argv=argv, flags_parser=parse)
