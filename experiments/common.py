"""What the experiment apps share: flags, and writing a run's files (the I/O edge).

Every app defines ``run(config, data_dir) -> (record, figures)`` (pure with respect to
files: tests call it directly) and ends with ``common.launch(run, NAME)`` under
``if __name__ == "__main__"``. The ``--config`` flag is defined only there, so any number
of apps can be imported into one process (tests, the entry point) without clashing.
``main`` writes ``result.json`` and the PNG figures under ``--workdir``.
"""
import json
import os
import pathlib

from absl import app, flags, logging
from ml_collections import config_flags

from dlcourse import data

CONFIG_DIR = pathlib.Path(__file__).resolve().parent / "configs"

_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for result.json and plots "
                               "(default: runs/<experiment name>).")
_DATA_DIR = flags.DEFINE_string("data_dir", None, "Directory holding the course data files "
                                f"(default: ${data.DATA_DIR_ENV}).")


def write_json(path, obj):
  """Writes JSON atomically: a reader never sees a half-written file."""
  path = pathlib.Path(path)
  tmp = path.with_suffix(path.suffix + ".tmp")
  tmp.write_text(json.dumps(obj, indent=2, default=float) + "\n")
  os.replace(tmp, path)


def write_run(workdir, record, figures):
  """result.json plus one PNG per entry of ``figures`` ({filename: png bytes})."""
  workdir = pathlib.Path(workdir)
  workdir.mkdir(parents=True, exist_ok=True)
  for filename, png in figures.items():
    (workdir / filename).write_bytes(png)
  write_json(workdir / "result.json", record)
  return workdir


def summary_line(record):
  def pct(x):
    return "n/a" if x is None else f"{100 * x:.2f} %"
  last = record["costs"][-1] if record.get("costs") else None
  cost = f"; cost {last[1]:.6f} at {last[0]}" if last else ""
  return f"train {pct(record['train_accuracy'])}, test {pct(record['test_accuracy'])}{cost}"


def make_main(run, name, config_flag):
  """The absl ``main`` of an experiment: run it with the parsed config, write its files."""
  def main(argv):
    if len(argv) > 1:
      raise SystemExit(f"unexpected arguments: {argv[1:]}")
    data_dir = data.resolve_data_dir(_DATA_DIR.value)
    record, figures = run(config_flag.value, data_dir)
    workdir = write_run(_WORKDIR.value or pathlib.Path("runs") / name, record, figures)
    logging.info("wrote %s", workdir)
    print(f"{name}: {summary_line(record)} -> {workdir}/result.json")
  return main


def config_path(name):
  return CONFIG_DIR / f"{name}.py"


def launch(run, name):
  """Defines ``--config`` (default: this experiment's config file) and runs the app."""
  config_flag = config_flags.DEFINE_config_file(
      "config", str(config_path(name)), f"{name} config; override fields with --config.<field>=...")
  app.run(make_main(run, name, config_flag))
