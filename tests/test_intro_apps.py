"""The first lessons' apps end to end, with small configs: the numbers they report."""
import json
import subprocess
import sys

import numpy as np
import pytest

from experiments import runner
from experiments import (c1w1_relu_neuron, c1w2_vectorization, intro_circle_area,
                         intro_learning_rate, intro_letters)
from experiments.configs import c1w1_relu_neuron as c1w1_relu_neuron_config
from experiments.configs import c1w2_vectorization as c1w2_vectorization_config
from experiments.configs import intro_circle_area as intro_circle_area_config
from experiments.configs import intro_learning_rate as intro_learning_rate_config
from experiments.configs import intro_letters as intro_letters_config

CONFIGS = ("intro_circle_area", "intro_learning_rate", "intro_letters", "c1w1_relu_neuron",
           "c1w2_vectorization")


def _run(app, config, cache_dir=None):
  record, figures = app.run(config, runner.Env.plain(cache_dir=cache_dir))
  runner.check_record(dict(record, experiment=app.NAME))
  json.dumps(record, allow_nan=False)  # strict JSON: no NaN / inf anywhere
  assert figures and all(png.startswith(b"\x89PNG") for png in figures.values())
  if hasattr(app, "report_markdown"):
    assert app.report_markdown(record).strip()
  return record, figures


def test_configs_import_no_jax():
  code = ("import sys\n" + "".join(f"import experiments.configs.{n}\n" for n in CONFIGS)
          + "assert 'jax' not in sys.modules and 'numpy' not in sys.modules, "
            "sorted(m for m in sys.modules if m in ('jax', 'numpy'))\n")
  subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("name", CONFIGS)
def test_configs_declare_the_contract(name):
  module = sys.modules[f"experiments.configs.{name}"]
  assert module.DATA_FILES == ()
  assert module.REPORT and all(row.id.startswith(name) for row in module.REPORT)
  doc = module.__doc__
  assert "Commands:" in doc and f"python -m experiments {name}" in doc
  config = module.get_config()
  for row in module.REPORT:  # every row's overrides name real fields
    for key in row.overrides:
      assert key in config, (row.id, key)


def test_circle_area_learns_3_14():
  record, figures = _run(intro_circle_area, intro_circle_area_config.get_config())
  m = record["metrics"]
  assert abs(m["theta"] - 3.14) < 1e-4 and not m["diverged"]
  assert m["gradient_check_max_rel_diff"] < 1e-13
  assert m["max_stable_learning_rate"] == pytest.approx(2 / 34004.16832)
  compared = m["scalings_at_compare_rate"]
  assert compared["none"]["diverged"] and compared["none"]["theta"] is None
  assert not compared["rms"]["diverged"] and abs(compared["rms"]["theta"] - 3.14) < 1e-3
  assert record["costs"][0][0] == 0 and record["costs"][-1][1] < 1e-5
  assert set(figures) == {"fit.png", "cost.png"}
  # The descents' compiling is compile time, not training (runner.timed_stage).
  assert set(record["timings"]) == {"compile_s", "train_s"}
  assert min(record["timings"].values()) >= 0


def test_circle_area_generated_standardized_is_near_pi():
  config = intro_circle_area_config.get_config()
  config.update(data="generated", scaling="standardize", learning_rate=0.5)
  m = _run(intro_circle_area, config)[0]["metrics"]
  assert abs(m["theta"] - np.pi) < 0.005 and m["m"] == 1000


def test_circle_area_runs_as_three_programs():
  # The descents, the optimum's cost and the gradient check each compile one program;
  # made op by op on the device they took ~40 (~0.4 s). 37 circles: shapes no other
  # test compiled.
  from tests.test_programs import counted_compiles   # pylint: disable=import-outside-toplevel
  config = intro_circle_area_config.get_config()
  config.update(data="generated", num_generated=37, scaling="standardize", learning_rate=0.5)
  with counted_compiles() as seen:
    _run(intro_circle_area, config)
  assert len(seen) <= 3


def test_circle_area_divergence_is_reported_not_crashed():
  config = intro_circle_area_config.get_config()
  config.learning_rate = 1e-3  # 17 times the stable limit 5.9e-5
  record = _run(intro_circle_area, config)[0]
  m = record["metrics"]
  assert m["diverged"] and m["theta"] is None and "diverged" in m["theta_note"]
  assert m["blew_up_at"] is not None and len(record["costs"]) == m["blew_up_at"] + 1


def test_learning_rate_runs_shrink_or_diverge_as_predicted():
  record, figures = _run(intro_learning_rate, intro_learning_rate_config.get_config())
  for problem in ("bowl", "circle"):
    runs = record["metrics"][problem]["runs"]
    assert [r["diverged"] for r in runs] == [False, False, True]
    for r in runs:
      assert r["step_length_ratio"] == pytest.approx(r["predicted_step_ratio"], rel=1e-6)
      steps = np.array(r["step_lengths"])
      assert np.all(np.diff(steps) < 0) if r["predicted_step_ratio"] < 1 else \
          np.all(np.diff(steps) > 0)
    assert runs[2]["final_cost"] > runs[2]["initial_cost"]
  assert set(figures) == {"bowl.png", "circle.png", "step_lengths.png"}
  assert set(record["timings"]) == {"compile_s", "train_s"}
  assert min(record["timings"].values()) >= 0
  # The config's docstring quotes the recorded steps of the bowl runs.
  bowl = record["metrics"]["bowl"]["runs"]
  for r in bowl[1:]:
    quoted = ", ".join(f"{s:.3g}" for s in r["step_lengths"][:3])
    assert quoted in intro_learning_rate_config.__doc__


def test_learning_rate_refuses_wrong_rate_lists():
  config = intro_learning_rate_config.get_config()
  config.bowl_rates = (0.1, 0.2)
  with pytest.raises(ValueError, match="three positive learning rates"):
    intro_learning_rate.run(config, runner.Env.plain())


def _tiny_letters():
  config = intro_letters_config.get_config()
  config.update(train_per_letter=2, test_per_letter=1, hidden_dims=(32,), num_epochs=8,
                learning_rate=1e-3)
  return config


def test_letters_train_well_above_chance(tmp_path):
  record, figures = _run(intro_letters, _tiny_letters(), cache_dir=tmp_path)
  m = record["metrics"]
  assert m["chance"] == pytest.approx(1 / 26)
  assert m["untrained_test_accuracy"] < 0.12
  assert record["test_accuracy"] == m["softmax"]["test_accuracy"] > 5 * m["chance"]
  assert m["softmax"]["test_accuracy_unseen_fonts"] > 3 * m["chance"]
  assert 0 <= m["quadratic"]["test_accuracy"] <= 1
  assert m["m_train"] == 14 * 26 * 2 and m["m_test_unseen_fonts"] == 7 * 26
  assert m["data_source"] == "generated" and record["cost_unit"] == "epoch"
  assert {"samples.png", "cost.png", "confusion_softmax.png",
          "confusion_quadratic.png"} <= set(figures)


def test_letters_cache_is_verified_and_rewritten(tmp_path):
  config = _tiny_letters()
  config.update(train_per_letter=1, test_only=("Computer Modern Sans",))
  first, source, _ = intro_letters.load_letters(config, tmp_path)
  assert source == "generated"
  (path,) = tmp_path.glob("letters_*.npz")
  again, source, _ = intro_letters.load_letters(config, tmp_path)
  assert source == "cache"
  for k in first:
    np.testing.assert_array_equal(first[k], again[k])
  # A tampered copy fails its checksum and is regenerated (and rewritten).
  with np.load(path) as f:
    arrays = {k: f[k] for k in f.files}
  arrays["train_X"][0, 0] += 0.5
  np.savez(path, **arrays)
  regenerated, source, _ = intro_letters.load_letters(config, tmp_path)
  assert source == "generated"
  np.testing.assert_array_equal(regenerated["train_X"], first["train_X"])
  assert intro_letters.load_letters(config, tmp_path)[1] == "cache"
  path.write_bytes(b"not a zip file")  # a truncated/garbled file, likewise
  assert intro_letters.load_letters(config, tmp_path)[1] == "generated"
  assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temp files left
  # Another seed is another file.
  config.seed = 1
  assert intro_letters.load_letters(config, tmp_path)[1] == "generated"
  assert len(list(tmp_path.glob("letters_*.npz"))) == 2
  # Without a cache directory nothing is written anywhere and the data are the same.
  config.seed = 0
  assert intro_letters.load_letters(config, None)[1] == "generated"


def test_relu_neuron_and_net():
  config = c1w1_relu_neuron_config.get_config()
  config.net.num_iterations = 1000
  record, figures = _run(c1w1_relu_neuron, config)
  m = record["metrics"]
  assert m["gradient_check_max_rel_diff"] < 1e-12
  assert 30 < m["kink_size"] < 60 and 2.0 < m["a"] < 3.5   # the generating formula's shape
  assert m["net_test_rmse"] < 0.5 * m["neuron_test_rmse"]
  assert not m["neuron_diverged"]
  assert set(figures) == {"fit.png", "net.png", "cost.png"}
  # Two models train: the neuron's descent and the net, each timed (the totals are both).
  t = record["timings"]
  assert set(t) == {"compile_s", "train_s", "neuron_compile_s", "neuron_train_s",
                    "net_compile_s", "net_train_s"}
  assert t["compile_s"] == pytest.approx(t["neuron_compile_s"] + t["net_compile_s"], abs=2e-4)
  assert t["train_s"] == pytest.approx(t["neuron_train_s"] + t["net_train_s"], abs=2e-4)
  assert min(t.values()) >= 0


def test_vectorization_agrees_and_times():
  config = c1w2_vectorization_config.get_config()
  config.update(n=20_000, loop_n=2_000, logistic_m=400, logistic_loop_m=40, repeats=2)
  m = _run(c1w2_vectorization, config)[0]["metrics"]
  assert m["logistic_checks"]["loop_vs_numpy_max_abs_diff"] < 1e-12
  assert m["logistic_checks"]["loop_vs_jax_max_abs_diff"] < 1e-12
  assert m["dot_checks"]["loop_vs_np_abs_diff_first_1000"] < 1e-10
  assert m["dot_checks"]["jit_vs_np_rel_diff"] < 1e-12
  assert set(m["dot_seconds"]) == {"for loop", "np.dot", "jnp.dot", "jax.jit(dot)"}
  assert all(s > 0 for s in m["dot_seconds"].values())
  # The extrapolation is the measured prefix scaled by n / loop_n.
  assert m["dot_seconds"]["for loop"] == pytest.approx(10 * m["loop_measured_s"])
  with pytest.raises(ValueError, match="loop_n"):
    config.loop_n = 10 * config.n
    c1w2_vectorization.run(config, runner.Env.plain())
