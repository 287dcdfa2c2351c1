"""The run platform: the registry and listing, config files and overrides through
config_flags, the run directory (reruns, locking, honest resume, strict JSON, signals)
and one-line errors for every bad input."""
import dataclasses
import importlib
import importlib.util
import json
import os
import pathlib
import signal
import subprocess
import sys

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from dlcourse import data, plots, train
from dlcourse.models import dense
from experiments import runner
from experiments.runner import cli, metrics, registry, rules, schema

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
CONFIG_FILES = sorted((REPO_ROOT / "experiments" / "configs").glob("[!_]*.py"))


# --------------------------------------------------------------------------------------
# Registry and config files


def test_the_registry_is_the_config_directory():
  assert sorted(p.stem for p in CONFIG_FILES) == sorted(registry.NAMES)
  for name in registry.NAMES:
    assert (REPO_ROOT / "experiments" / f"{name}.py").is_file(), f"{name} has no app"


@pytest.mark.parametrize("name", registry.NAMES)
def test_every_registered_experiment_is_complete(name):
  experiment = registry.get(name)
  config = experiment.get_config()
  assert isinstance(config, ml_collections.ConfigDict)
  rules.validate(config)
  assert experiment.doc and experiment.summary.endswith(".")
  assert isinstance(experiment.data_files(config), tuple)
  ids = [row.id for row in experiment.rows]
  assert len(ids) == len(set(ids))
  for row in experiment.rows:
    config = experiment.get_config(row.variant)
    for field in list(row.overrides) + list(row.jax_overrides):
      assert field in config, f"{row.id} overrides unknown field {field}"
  app = experiment.app()
  assert app.NAME == name and callable(app.run)


def test_report_row_ids_are_unique_across_experiments():
  ids = [row.id for e in registry.experiments().values() for row in e.rows]
  assert len(ids) == len(set(ids))


def test_listing_and_help_import_no_jax():
  code = ("import sys, io, contextlib\n"
          "from experiments.runner import cli\n"
          "with contextlib.redirect_stdout(io.StringIO()):\n"
          "  cli.main(['experiments'])\n"
          "  try:\n"
          "    cli.main(['experiments', 'c1w4_deep_cats', '--help'])\n"
          "  except SystemExit:\n"
          "    pass\n"
          "print(sorted(m for m in sys.modules if m.split('.')[0] in ('jax', 'matplotlib')))")
  result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=120, check=True)
  assert result.stdout.strip() == "[]"


def test_the_listing_shows_every_summary(capsys):
  assert cli.main(["experiments"]) == 0
  out = capsys.readouterr().out
  for name, experiment in registry.experiments().items():
    line = next(l for l in out.splitlines() if l.strip().startswith(name + " "))
    assert experiment.summary in line
  assert "report" in out


def test_an_unknown_experiment_suggests_the_closest(capsys):
  assert cli.main(["experiments", "c1w3_plnar"]) == 2
  assert capsys.readouterr().err == ("error: unknown experiment 'c1w3_plnar'; did you mean "
                                     "'c1w3_planar'? (run `python -m experiments` for the "
                                     "list)\n")


def test_a_variant_is_selected_through_get_config():
  experiment = registry.get("c1w4_deep_cats")
  assert experiment.get_config("two_layer").model == "two_layer"
  with pytest.raises(ValueError, match="unknown variant 'three'"):
    experiment.get_config("three")


# --------------------------------------------------------------------------------------
# A tiny experiment run through the real command line, in process

TINY_CONFIG = '''"""A tiny experiment: a [2, 3, 1] tanh net on 40 planar points."""
import ml_collections


def get_config(variant=None):
  config = ml_collections.ConfigDict(dict(
      layer_dims=(2, 3, 1), learning_rate=0.5, num_iterations=40, record_every=10,
      course_compat=True, dtype="float32", method="manual", seed=2))
  if variant == "long":
    config.num_iterations = 80
  return config
'''


@dataclasses.dataclass(frozen=True)
class TinyExperiment:
  """Duck-typed ``registry.Experiment`` whose config file lives in a test directory."""
  config_path: pathlib.Path
  files: tuple = ()
  name: str = "tiny"
  rows: tuple = ()

  def get_config(self, variant=None):
    spec = importlib.util.spec_from_file_location("tiny_config", self.config_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config(variant)

  @property
  def doc(self):
    return "A tiny experiment."

  def data_files(self, config):
    del config
    return self.files


def tiny_run(config, env):
  X, Y = data.planar_flower(m=40)
  with runner.precision(config):
    arch = dense.Architecture(tuple(config.layer_dims), ("tanh", "sigmoid"))
    params = runner.init_params(config, arch.layer_dims, "normal", 0.5)
    fit = env.fit_gd(config, arch, params, X, Y)
    record = runner.fit_result(config, fit, arch, X, Y)
  return record, {"cost.png": plots.cost_curve(fit.costs, title="tiny")}


@pytest.fixture
def tiny(tmp_path):
  path = tmp_path / "tiny_config.py"
  path.write_text(TINY_CONFIG)
  return TinyExperiment(path)


def run_cli(tmp_path, experiment, *args, run=tiny_run, workdir="run"):
  argv = ["tiny"] + ([f"--workdir={tmp_path / workdir}"] if workdir else []) + list(args)
  return cli.run_command(experiment, argv, run)


def snapshot(directory):
  """{relative path: bytes} of every file under ``directory``."""
  return {str(p.relative_to(directory)): p.read_bytes()
          for p in sorted(pathlib.Path(directory).rglob("*")) if p.is_file()}


def test_a_run_writes_its_directory_and_a_rerun_continues_it(tmp_path, tiny, capsys):
  assert run_cli(tmp_path, tiny, "--checkpoint_every=20") == 0
  run = tmp_path / "run"
  assert {"config.json", "metrics.jsonl", "result.json", "cost.png", "params.h5",
          "checkpoints"} <= {p.name for p in run.iterdir()}
  assert json.loads((run / "config.json").read_text())["layer_dims"] == [2, 3, 1]
  lines = metrics.read_metrics(run / "metrics.jsonl")
  costs = [l for l in lines if l["cost"] is not None]
  assert [l["step"] for l in costs] == [0, 10, 20, 30]
  first = json.loads((run / "result.json").read_text())
  schema.check_record(first)
  assert first["experiment"] == "tiny" and first["run"]["resumed"] is False
  assert capsys.readouterr().out.startswith("tiny: train ")

  assert run_cli(tmp_path, tiny, "--checkpoint_every=20") == 0  # same config: continue
  again = json.loads((run / "result.json").read_text())
  assert again["run"]["resumed"] is True and again["run"]["resumed_from"] == [40]
  assert again["costs"] == first["costs"]
  assert again["train_accuracy"] == first["train_accuracy"]
  assert metrics.read_metrics(run / "metrics.jsonl") == lines  # no duplicate steps


def test_the_config_file_and_its_variant_come_through_config_flags(tmp_path, tiny):
  assert run_cli(tmp_path, tiny, f"--config={tiny.config_path}:long",
                 "--config.learning_rate=0.25", "--checkpoint_every=0") == 0
  record = json.loads((tmp_path / "run" / "result.json").read_text())
  assert record["config"]["num_iterations"] == 80
  assert record["config"]["learning_rate"] == 0.25


def test_a_rerun_with_another_config_is_refused_and_touches_nothing(tmp_path, tiny, capsys):
  assert run_cli(tmp_path, tiny, "--checkpoint_every=20") == 0
  before = snapshot(tmp_path / "run")
  capsys.readouterr()
  assert run_cli(tmp_path, tiny, "--checkpoint_every=20", "--config.learning_rate=0.25") == 2
  err = capsys.readouterr().err
  assert "holds a run of another config (learning_rate: 0.5 -> 0.25)" in err
  assert "--overwrite" in err and err.count("\n") == 1
  assert snapshot(tmp_path / "run") == before

  assert run_cli(tmp_path, tiny, "--config.learning_rate=0.25", "--overwrite") == 0
  record = json.loads((tmp_path / "run" / "result.json").read_text())
  assert record["config"]["learning_rate"] == 0.25 and record["run"]["resumed"] is False


@pytest.mark.parametrize("content", ["", "{not json", "[1, 2]"])
def test_a_damaged_config_json_is_one_line_and_touches_nothing(tmp_path, tiny, capsys,
                                                               content):
  assert run_cli(tmp_path, tiny, "--checkpoint_every=20") == 0
  (tmp_path / "run" / "config.json").write_text(content)
  before = snapshot(tmp_path / "run")
  capsys.readouterr()
  assert run_cli(tmp_path, tiny, "--checkpoint_every=20") == 2
  err = capsys.readouterr().err
  assert "config.json" in err and err.count("\n") == 1 and "Traceback" not in err
  assert snapshot(tmp_path / "run") == before


def test_a_rerun_without_checkpoints_says_it_starts_over(tmp_path, tiny, capsys):
  assert run_cli(tmp_path, tiny, "--checkpoint_every=0") == 0
  lines = metrics.read_metrics(tmp_path / "run" / "metrics.jsonl")
  capsys.readouterr()
  assert run_cli(tmp_path, tiny, "--checkpoint_every=20") == 0
  assert "no sound checkpoint" in capsys.readouterr().err
  record = json.loads((tmp_path / "run" / "result.json").read_text())
  assert record["run"]["resumed"] is False and record["run"]["resumed_from"] == [None]
  steps = [(l["step"], l["cost"]) for l in metrics.read_metrics(
      tmp_path / "run" / "metrics.jsonl") if l["cost"] is not None]
  assert len(steps) == len(set(steps)) == len([l for l in lines if l["cost"] is not None])


def test_a_rerun_with_checkpointing_off_says_so_and_logs_no_step_twice(tmp_path, tiny,
                                                                       capsys):
  assert run_cli(tmp_path, tiny, "--checkpoint_every=0") == 0
  first = metrics.read_metrics(tmp_path / "run" / "metrics.jsonl")
  capsys.readouterr()
  assert run_cli(tmp_path, tiny, "--checkpoint_every=0") == 0
  assert "checkpointing is off (--checkpoint_every=0), so there is nothing to resume " \
      "from; training from step 0" in capsys.readouterr().err
  record = json.loads((tmp_path / "run" / "result.json").read_text())
  assert record["run"]["resumed"] is False
  again = metrics.read_metrics(tmp_path / "run" / "metrics.jsonl")
  key = lambda lines: [(l["fit"], l["step"], l["cost"]) for l in lines]
  assert key(again) == key(first)  # the same lines once, not twice


def test_a_rerun_of_an_app_without_fits_replaces_its_log(tmp_path, tiny, capsys):
  def no_fit_run(config, env):
    del env
    return runner.result(config, costs=[[0, 1.0], [10, 0.5]], train_accuracy=0.5), {}
  assert run_cli(tmp_path, tiny, run=no_fit_run) == 0
  first = metrics.read_metrics(tmp_path / "run" / "metrics.jsonl")
  capsys.readouterr()
  assert run_cli(tmp_path, tiny, run=no_fit_run) == 0
  assert "keeps no checkpoints; ran from the start" in capsys.readouterr().err
  again = metrics.read_metrics(tmp_path / "run" / "metrics.jsonl")
  assert [(l["step"], l["cost"]) for l in again] == [(l["step"], l["cost"]) for l in first]


def test_a_locked_workdir_is_refused_naming_the_pid(tmp_path, tiny, capsys):
  from experiments.runner import rundir
  holder = subprocess.Popen(
      [sys.executable, "-c",
       "import sys, time; from experiments.runner import rundir\n"
       f"with rundir.lock({str(tmp_path / 'run')!r}):\n"
       "  print('locked', flush=True); time.sleep(60)"],
      cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
  try:
    assert holder.stdout.readline().strip() == "locked"
    assert run_cli(tmp_path, tiny) == 2
    err = capsys.readouterr().err
    assert f"in use by pid {holder.pid}" in err and err.count("\n") == 1
  finally:
    holder.kill()
    holder.wait()
  assert run_cli(tmp_path, tiny) == 0  # a lock left by a dead process is taken over
  del rundir


def test_divergence_exits_1_naming_the_iteration(tmp_path, tiny, capsys):
  assert run_cli(tmp_path, tiny, "--config.learning_rate=1e200", "--checkpoint_every=10") == 1
  err = capsys.readouterr().err
  assert err.startswith("error: tiny: training stopped (fit 0, learning_rate 1e+200): the "
                        "cost became nan at iteration 10")
  assert err.count("\n") == 1


def test_without_the_nan_stop_result_json_stays_strict(tmp_path, tiny):
  assert run_cli(tmp_path, tiny, "--config.learning_rate=1e200", "--nostop_on_nonfinite",
                 "--checkpoint_every=0") == 0
  text = (tmp_path / "run" / "result.json").read_text()
  record = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON {c} in result"))
  assert record["costs"][1][1] is None
  assert "record.costs[1][1]" in record["run"]["nonfinite_replaced_by_null"]


def test_sigterm_checkpoints_and_the_same_command_resumes(tmp_path, tiny, capsys):
  assert run_cli(tmp_path, tiny, "--checkpoint_every=10", workdir="whole") == 0
  whole = json.loads((tmp_path / "whole" / "result.json").read_text())

  def interrupted_run(config, env):
    os.kill(os.getpid(), signal.SIGTERM)  # the handler only sets the stop flag
    return tiny_run(config, env)

  capsys.readouterr()
  assert run_cli(tmp_path, tiny, "--checkpoint_every=10", run=interrupted_run) == 143
  err = capsys.readouterr().err
  assert "SIGTERM: stopped fit 0 at step 10 of 40" in err
  assert "rerun the same command to resume" in err and err.count("\n") == 1
  assert not (tmp_path / "run" / "result.json").exists()
  assert run_cli(tmp_path, tiny, "--checkpoint_every=10") == 0
  resumed = json.loads((tmp_path / "run" / "result.json").read_text())
  assert resumed["run"]["resumed_from"] == [10]
  assert resumed["costs"] == whole["costs"]
  assert resumed["train_accuracy"] == whole["train_accuracy"]
  steps = [l["step"] for l in metrics.read_metrics(tmp_path / "run" / "metrics.jsonl")
           if l["cost"] is not None]
  assert steps == [0, 10, 20, 30]


def corrupt_data_dir(tmp_path):
  bad = tmp_path / "data"
  bad.mkdir()
  (bad / data.CAT_TRAIN_FILE).write_bytes(b"\x89HDF\r\n\x1a\n truncated")
  return bad


BAD_INPUTS = [
    (("--config.learnin_rate=0.1",), (), "unknown config field 'learnin_rate'; did you mean "
                                         "'learning_rate'?"),
    (("--config.num_iterations=many",), (), "config.num_iterations=many: invalid literal for "
                                            "int()"),
    (("--config.num_iterations=1e12",), (), "config.num_iterations=1e12: invalid literal"),
    (("--config.num_iterations=1000000000000",), (), "would record 100,000,000,000 costs"),
    (("--config.seed=1e20",), (), "config.seed=1e20: invalid literal for int()"),
    (("--config.seed=4294967296",), (), "config.seed must be an integer in [0, 4294967295]"),
    (("--config.course_compat=maybe",), (), "Non-boolean argument to boolean flag"),
    (("--config.learning_rate=0",), (), "config.learning_rate must be a number > 0, got 0.0"),
    (("--config.learning_rate=-0.1",), (), "config.learning_rate must be a number > 0"),
    (("--config.layer_dims=(3,3,1)",), (), "layer_dims[0] = 3 but X has n_x = 2"),
    (("--resme",), (), "Unknown command line flag 'resme'"),
    (("--checkpoint_every=15",), (), "checkpoint_every=15 must be a multiple of "
                                     "record_every=10"),
    (("stray",), (), "unexpected arguments: ['stray']"),
    (("--config={tmp}/nowhere.py",), (), "--config"),
    ((), (data.CAT_TRAIN_FILE,), "this experiment needs train_catvnoncat.h5: pass --data_dir"),
    (("--data_dir={tmp}/nowhere",), (data.CAT_TRAIN_FILE,),
     f"data file not found: {{tmp}}/nowhere/{data.CAT_TRAIN_FILE}"),
    (("--data_dir={tmp}/data",), (data.CAT_TRAIN_FILE,),
     f"checksum mismatch for {{tmp}}/data/{data.CAT_TRAIN_FILE}"),
    (("--workdir={tmp}/data/{file}/run",), (), "{tmp}/data/{file}/run"),
]


@pytest.mark.parametrize("args,data_files,message", BAD_INPUTS,
                         ids=[m[:40] for _, _, m in BAD_INPUTS])
def test_bad_input_is_one_line_and_exit_2_before_any_compile(
    tmp_path, capsys, monkeypatch, tiny, args, data_files, message):
  # Hermetic: CI sets the data directory; these cases must see only what they name.
  monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
  corrupt_data_dir(tmp_path)
  fill = dict(tmp=tmp_path, file=data.CAT_TRAIN_FILE)
  args = [a.format(**fill) for a in args]

  def no_compile(*_, **__):
    raise AssertionError("compiled despite bad input")

  monkeypatch.setattr(train.train_gd_jit, "lower", no_compile)
  experiment = dataclasses.replace(tiny, files=data_files)
  workdir = None if any(a.startswith("--workdir") for a in args) else "run"
  assert run_cli(tmp_path, experiment, *args, workdir=workdir) == 2
  captured = capsys.readouterr()
  assert captured.out == ""
  assert captured.err.startswith("error: tiny: ")
  assert message.format(**fill) in captured.err
  assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
  assert not (tmp_path / "run").exists()  # refused before the workdir was touched


def test_the_real_entry_points_report_bad_input_in_one_line():
  for command in (["-m", "experiments", "c1w3_planar"],
                  ["experiments/c1w3_planar.py",
                   "--config=experiments/configs/c1w3_planar.py"]):
    result = subprocess.run([sys.executable] + command + ["--config.n_hh=5"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr == ("error: c1w3_planar: unknown config field 'n_hh'; did you mean "
                             "'n_h'?\n")
    assert result.stdout == ""


def test_xla_defaults_yield_to_the_users_flags_and_can_be_turned_off(monkeypatch):
  monkeypatch.setattr(cli, "_pinned_to_one_core", lambda: False)
  assert cli.configure_xla({}) == " ".join(cli.XLA_DEFAULTS)
  mine = {"XLA_FLAGS": "--xla_cpu_use_fusion_emitters=true --xla_dump_to=/tmp/x"}
  assert cli.configure_xla(mine) == ("--xla_cpu_use_fusion_emitters=true --xla_dump_to=/tmp/x"
                                     " --xla_backend_optimization_level=2")
  mine = {"XLA_FLAGS": "--xla_backend_optimization_level=3"}
  assert cli.configure_xla(mine) == ("--xla_backend_optimization_level=3"
                                     " --xla_cpu_use_fusion_emitters=false")
  off = {cli.XLA_DEFAULTS_ENV: "0", "XLA_FLAGS": "--xla_dump_to=/tmp/x"}
  assert cli.configure_xla(off) == "--xla_dump_to=/tmp/x" and off["XLA_FLAGS"] == \
      "--xla_dump_to=/tmp/x"
  # A process pinned to one core (a report worker, or taskset's) compiles each program
  # as one part.
  assert cli.configure_xla({}, one_core=True) == " ".join(
      cli.XLA_DEFAULTS + ("--xla_cpu_parallel_codegen_split_count=1",))
  monkeypatch.setattr(cli, "_pinned_to_one_core", lambda: True)
  assert cli.configure_xla({}) == cli.configure_xla({}, one_core=True)
  mine = {"XLA_FLAGS": "--xla_cpu_parallel_codegen_split_count=4"}
  assert "split_count=1" not in cli.configure_xla(mine, one_core=True)
  # The tests themselves run with the command line's options (tests/conftest.py).
  assert all(flag in os.environ.get("XLA_FLAGS", "") for flag in cli.XLA_DEFAULTS)


def test_a_process_that_runs_rows_settles_its_garbage_collector():
  # In a child: the freeze and the threshold are the whole process's.
  code = ("import gc\n"
          "from experiments.runner import cli, report_worker\n"
          "before = (gc.get_freeze_count(), gc.get_threshold())\n"
          "report_worker.settle()\n"
          "frozen = gc.get_freeze_count()\n"
          "junk = [object() for _ in range(100)]\n"
          "cli.settle_gc()  # once per process: nothing more is frozen\n"
          "import sys\n"
          "print(before[0], before[1][0], frozen > 10000, gc.get_freeze_count() == frozen,"
          " gc.get_threshold(), 'jax' in sys.modules, 'matplotlib' in sys.modules)")
  result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=120)
  assert result.returncode == 0, result.stderr[-2000:]
  assert result.stdout.split() == ["0", "700", "True", "True", "(10000,", "10,", "10)",
                                   "True", "True"]


def test_long_runs_compile_with_xlas_fusion_emitters_unless_the_user_chose():
  ours = {"XLA_FLAGS": cli.configure_xla({})}
  assert cli.long_run_compiler_options("cpu", ours) == {"xla_cpu_use_fusion_emitters": True}
  assert cli.long_run_compiler_options("gpu", ours) == {}
  assert cli.long_run_compiler_options("cpu", {cli.XLA_DEFAULTS_ENV: "0"}) == {}
  mine = {"XLA_FLAGS": cli.configure_xla(
      {"XLA_FLAGS": "--xla_cpu_use_fusion_emitters=true"})}
  assert cli.long_run_compiler_options("cpu", mine) == {}
  # A short training (under LONG_RUN_MIN_FLOPS) keeps the quicker compile.
  assert cli.long_run_compiler_options("cpu", ours, flops=cli.LONG_RUN_MIN_FLOPS / 2) == {}
  assert cli.long_run_compiler_options("cpu", ours, flops=cli.LONG_RUN_MIN_FLOPS) == \
      cli.LONG_RUN_COMPILER_OPTIONS
  # The options reach XLA: the program compiles (an unknown option name would fail).
  compiled = jax.jit(lambda x: jnp.exp(x) + 1).lower(jnp.ones(3)).compile(
      cli.long_run_compiler_options("cpu", ours))
  np.testing.assert_allclose(compiled(jnp.zeros(3)), 2.0)


def test_large_float32_minibatch_programs_hand_their_elementwise_work_to_ynnpack():
  ours = {"XLA_FLAGS": cli.configure_xla({})}
  big = cli.ELEMENTWISE_MIN_ENTRIES
  assert cli.elementwise_compiler_options("cpu", "float32", big, ours) == \
      cli.ELEMENTWISE_COMPILER_OPTIONS
  assert cli.elementwise_compiler_options("cpu", "float32", big - 1, ours) == {}  # small
  assert cli.elementwise_compiler_options("cpu", "float64", big, ours) == {}
  assert cli.elementwise_compiler_options("gpu", "float32", big, ours) == {}
  assert cli.elementwise_compiler_options("cpu", "float32", big,
                                          {cli.XLA_DEFAULTS_ENV: "0"}) == {}
  mine = {"XLA_FLAGS": "--xla_cpu_experimental_ynn_fusion_type="}   # the user's choice
  assert cli.elementwise_compiler_options("cpu", "float32", big, mine) == {}
  # The option reaches XLA: the elementwise kernel becomes a YNNPACK fusion, and a lone
  # product stays one (the dot fusions are kept, not replaced).
  f = jax.jit(lambda A, X: (A @ X, jnp.sqrt(A) + 1))
  A, X = jnp.ones((64, 300)), jnp.ones((300, 8))
  plain = f.lower(A, X).compile().as_text()
  chosen = f.lower(A, X).compile(cli.ELEMENTWISE_COMPILER_OPTIONS).as_text()
  assert plain.count("kind=kCustom") == 1 and chosen.count("kind=kCustom") == 2
  np.testing.assert_allclose(f.lower(A, X).compile(cli.ELEMENTWISE_COMPILER_OPTIONS)(A, X)[1],
                             2.0)


def test_a_variant_of_an_experiment_without_variants_is_refused(tmp_path, capsys):
  assert cli.main(["experiments", "c1w3_planar", "--config=experiments/configs/c1w3_planar.py:"
                   "big", f"--workdir={tmp_path / 'run'}"]) == 2
  assert "unknown variant 'big': this experiment has no variants" in capsys.readouterr().err
  assert not (tmp_path / "run").exists()
