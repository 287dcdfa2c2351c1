"""The experiment platform: the registry and listing, config overrides and checks, the
run directory, resume, and one-line errors for every bad input."""
import importlib
import json
import pathlib
import subprocess
import sys

import ml_collections
import pytest

from dlcourse import config_check, data, experiment, plots, runlog
from dlcourse.errors import ConfigError
from dlcourse.models import dense
from experiments import __main__ as entry_point
from experiments import common

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
CONFIG_FILES = sorted((REPO_ROOT / "experiments" / "configs").glob("[!_]*.py"))


# --------------------------------------------------------------------------------------
# Registry and config files


@pytest.mark.parametrize("path", CONFIG_FILES, ids=lambda p: p.stem)
def test_every_config_file_is_valid_and_registered(path):
  module = importlib.import_module(f"experiments.configs.{path.stem}")  # no flag parsing
  config = module.get_config()
  assert isinstance(config, ml_collections.ConfigDict)
  config_check.validate(config)
  assert module.__doc__ and module.__doc__.strip(), f"{path.name} needs a docstring"
  assert path.stem in entry_point.EXPERIMENTS, (
      f"{path.stem} is not in experiments/__main__.py's EXPERIMENTS: add "
      f"Experiment({path.stem}, {path.stem}_config) there")


def test_the_registry_names_match_the_apps_and_the_listing_shows_them(capsys):
  for name, entry in entry_point.EXPERIMENTS.items():
    assert entry.app.NAME == name and callable(entry.app.run)
    assert entry.config.__file__ == str(common.config_path(name))
  assert entry_point.main(["experiments"]) == 0
  out = capsys.readouterr().out
  for name, entry in entry_point.EXPERIMENTS.items():
    line = next(l for l in out.splitlines() if l.strip().startswith(name + " "))
    assert entry.summary in line and entry.summary.endswith(".")
  assert "report" in out


def test_an_unknown_experiment_suggests_the_closest(capsys):
  assert entry_point.main(["experiments", "c1w3_plnar"]) == 2
  assert capsys.readouterr().err == ("error: unknown experiment 'c1w3_plnar'; did you mean "
                                     "'c1w3_planar'? (run `python -m experiments` for the "
                                     "list)\n")


# --------------------------------------------------------------------------------------
# Overrides


def base_config():
  return ml_collections.ConfigDict(dict(
      learning_rate=0.5, num_iterations=100, course_compat=False, hidden_dims=(20, 7),
      method="manual", optimizer=ml_collections.ConfigDict(dict(beta=0.9))))


def overrides(*args):
  return config_check.apply_overrides(base_config(), config_check.split_overrides(args)[0])


def test_overrides_are_parsed_by_the_defaults_type():
  config = overrides("--config.learning_rate=1", "--config.num_iterations=1e4",
                     "--config.course_compat", "--config.hidden_dims=5,3",
                     "--config.method", "autodiff", "--config.optimizer.beta=0.5")
  assert config.learning_rate == 1.0 and isinstance(config.learning_rate, float)
  assert config.num_iterations == 10000 and config.course_compat is True
  assert config.hidden_dims == (5, 3) and config.method == "autodiff"
  assert config.optimizer.beta == 0.5
  assert base_config().learning_rate == 0.5  # the original is untouched


@pytest.mark.parametrize("arg,message", [
    ("--config.learnin_rate=0.1", "unknown config field 'learnin_rate'; did you mean "
                                  "'learning_rate'?"),
    ("--config.optimizer.bta=1", "unknown config field 'optimizer.bta'; did you mean 'beta'?"),
    ("--config.num_iterations=abc", "config.num_iterations: expected an integer, got 'abc'"),
    ("--config.num_iterations=2.5", "config.num_iterations: expected an integer, got '2.5'"),
    ("--config.learning_rate=fast", "config.learning_rate: expected a number, got 'fast'"),
    ("--config.learning_rate=nan", "config.learning_rate: expected a finite number"),
    ("--config.course_compat=maybe", "config.course_compat: expected a boolean"),
    ("--config.hidden_dims=(20,x)", "config.hidden_dims: expected a sequence literal"),
    ("--config.hidden_dims=(20,2.5)", "config.hidden_dims: every element must be a integer"),
    ("--config.optimizer=3", "config.optimizer is a group of fields"),
    ("--config.learning_rate", "config.learning_rate needs a value"),
])
def test_bad_overrides_are_one_line_config_errors(arg, message):
  with pytest.raises(ConfigError) as error:
    overrides(arg)
  assert message in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("field,value,message", [
    ("learning_rate", 0.0, "config.learning_rate must be a number > 0, got 0.0"),
    ("learning_rate", -1.0, "config.learning_rate must be a number > 0, got -1.0"),
    ("num_iterations", 0, "config.num_iterations must be an integer >= 1, got 0"),
    ("hidden_dims", (20, 0), "config.hidden_dims must be a sequence of integers >= 1"),
    ("method", "numeric", "config.method must be 'manual' or 'autodiff', got 'numeric'"),
])
def test_out_of_range_values_are_refused(field, value, message):
  config = base_config()
  config[field] = value
  with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
    config_check.validate(config)


# --------------------------------------------------------------------------------------
# Running through the command line, in process


def tiny_get_config():
  """A tiny experiment: a [2, 3, 1] tanh net on the planar flower."""
  return ml_collections.ConfigDict(dict(
      layer_dims=(2, 3, 1), learning_rate=0.5, num_iterations=40, record_every=10,
      course_compat=True, dtype="float32", method="manual", seed=2))


def tiny_run(config, data_dir):
  del data_dir
  X, Y = data.planar_flower(m=40)
  with experiment.precision(config):
    arch = dense.Architecture(tuple(config.layer_dims), ("tanh", "sigmoid"))
    params = experiment.init_params(config, arch.layer_dims, "normal", 0.5)
    fit = experiment.fit_gd(config, arch, params, X, Y)
    record = experiment.result_record(
        config, fit, experiment.accuracy(fit.params, X, Y, arch, config), None)
  return record, {"cost.png": plots.cost_curve(fit.costs, title="tiny")}


def cli(tmp_path, *args, data_files=(), workdir="run"):
  argv = ["tiny"] + ([f"--workdir={tmp_path / workdir}"] if workdir else []) + list(args)
  return common.run_from_command_line("tiny", tiny_run, tiny_get_config, argv,
                                      tiny_get_config.__doc__, data_files)


def test_a_run_writes_its_directory_and_resumes(tmp_path, capsys):
  assert cli(tmp_path, "--checkpoint_every=20") == 0
  run = tmp_path / "run"
  assert {"config.json", "metrics.jsonl", "result.json", "cost.png", "params.h5",
          "checkpoints"} <= {p.name for p in run.iterdir()}
  assert json.loads((run / "config.json").read_text())["layer_dims"] == [2, 3, 1]
  lines = runlog.read_metrics(run / "metrics.jsonl")
  costs = [l for l in lines if l["cost"] is not None]
  assert [l["step"] for l in costs] == [0, 10, 20, 30]
  assert {"fit", "step", "epoch", "cost", "learning_rate", "wall_time", "elapsed_s"} <= set(
      costs[0])
  assert [l["step"] for l in lines if "train_accuracy" in l] == [20, 40]
  first = json.loads((run / "result.json").read_text())
  assert first["run"]["resumed_from"] == [None]
  assert capsys.readouterr().out.startswith("tiny: train ")

  assert cli(tmp_path, "--checkpoint_every=20", "--resume") == 0  # everything was done
  again = json.loads((run / "result.json").read_text())
  assert again["run"]["resumed_from"] == [40]
  assert again["costs"] == first["costs"]
  assert again["train_accuracy"] == first["train_accuracy"]
  assert len(runlog.read_metrics(run / "metrics.jsonl")) == len(lines)


def test_resume_with_other_overrides_is_refused(tmp_path, capsys):
  assert cli(tmp_path, "--checkpoint_every=20") == 0
  capsys.readouterr()
  assert cli(tmp_path, "--resume", "--config.learning_rate=0.25") == 2
  assert "--resume: the run in" in capsys.readouterr().err


def test_divergence_exits_1_naming_the_iteration(tmp_path, capsys):
  assert cli(tmp_path, "--config.learning_rate=1e200", "--checkpoint_every=10") == 1
  err = capsys.readouterr().err
  assert err.startswith("error: tiny: training stopped (fit 0, learning_rate 1e+200): the "
                        "cost became nan at iteration 10")
  assert err.count("\n") == 1


def corrupt_data_dir(tmp_path):
  bad = tmp_path / "data"
  bad.mkdir()
  (bad / data.CAT_TRAIN_FILE).write_bytes(b"\x89HDF\r\n\x1a\n truncated")
  return bad


BAD_INPUTS = [
    (("--config.learnin_rate=0.1",), (), "unknown config field 'learnin_rate'; did you mean "
                                         "'learning_rate'?"),
    (("--config.num_iterations=many",), (), "config.num_iterations: expected an integer, "
                                            "got 'many'"),
    (("--config.learning_rate=0",), (), "config.learning_rate must be a number > 0, got 0.0"),
    (("--config.learning_rate=-0.1",), (), "config.learning_rate must be a number > 0"),
    (("--config.layer_dims=(3,3,1)",), (), "layer_dims[0] = 3 but X has n_x = 2 features"),
    (("--resme",), (), "Unknown command line flag 'resme'. Did you mean: resume ?"),
    (("--checkpoint_every=15",), (), "checkpoint_every=15 must be a multiple of "
                                     "record_every=10"),
    (("stray",), (), "unexpected arguments: ['stray']"),
    (("--config=my.py",), (), "--config=<file> is not supported"),
    ((), (data.CAT_TRAIN_FILE,), "this experiment needs train_catvnoncat.h5: pass --data_dir"),
    (("--data_dir={tmp}/nowhere",), (data.CAT_TRAIN_FILE,),
     f"data file not found: {{tmp}}/nowhere/{data.CAT_TRAIN_FILE} (expected sha256 "
     f"{data.SHA256[data.CAT_TRAIN_FILE]})"),
    (("--data_dir={tmp}/data",), (data.CAT_TRAIN_FILE,),
     f"checksum mismatch for {{tmp}}/data/{data.CAT_TRAIN_FILE}: expected sha256 "
     f"{data.SHA256[data.CAT_TRAIN_FILE]}"),
    (("--workdir={tmp}/data/{file}/run",), (), "workdir {tmp}/data/{file}/run is not "
                                               "writable: Not a directory"),
]


@pytest.mark.parametrize("args,data_files,message", BAD_INPUTS,
                         ids=[m[:40] for _, _, m in BAD_INPUTS])
def test_bad_input_is_one_line_and_exit_2_before_any_compile(
    tmp_path, capsys, monkeypatch, args, data_files, message):
  # Hermetic: CI sets the data directory; these cases must see only what they name.
  monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
  corrupt_data_dir(tmp_path)
  fill = dict(tmp=tmp_path, file=data.CAT_TRAIN_FILE)
  args = [a.format(**fill) for a in args]

  def no_compile(*_, **__):
    raise AssertionError("compiled despite bad input")

  monkeypatch.setattr(experiment.train.train_gd_jit, "lower", no_compile)
  workdir = None if any(a.startswith("--workdir") for a in args) else "run"
  assert cli(tmp_path, *args, data_files=data_files, workdir=workdir) == 2
  captured = capsys.readouterr()
  assert captured.out == ""
  assert captured.err.startswith("error: tiny: ")
  assert message.format(**fill) in captured.err
  assert captured.err.count("\n") == 1 and "Traceback" not in captured.err


def test_the_real_entry_point_reports_bad_input_in_one_line():
  result = subprocess.run(
      [sys.executable, "-m", "experiments", "c1w3_planar", "--config.n_hh=5"],
      cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
  assert result.returncode == 2
  assert result.stderr == ("error: c1w3_planar: unknown config field 'n_hh'; did you mean "
                           "'n_h'? (fields: course_compat, dtype, init_scale, learning_rate, "
                           "method, model, n_h, num_iterations, record_every, seed)\n")
  assert result.stdout == ""
