"""MNIST-1D: course shapes, checksum, the app's cache, a short training run, the search."""
import pathlib
import types

import numpy as np
import pytest

pytest.importorskip("mnist1d")

from dlcourse import mnist1d  # noqa: E402
from dlcourse.errors import ConfigError, DataError, ShapeError  # noqa: E402
from experiments import mnist1d as app  # noqa: E402
from experiments.configs import mnist1d as configs  # noqa: E402
from experiments.runner import report  # noqa: E402


@pytest.fixture(scope="module")
def arrays():
  return mnist1d.generate()


def stand_in_env(cache_dir):
  """What the app uses of the runner's Env: cache_dir and warn (messages collected)."""
  messages = []
  return types.SimpleNamespace(cache_dir=cache_dir, warn=messages.append), messages


def test_course_shapes_and_the_recorded_checksum(arrays):
  assert arrays["train_x"].shape == (40, 4000) and arrays["train_x"].dtype == np.float32
  assert arrays["test_x"].shape == (40, 1000)
  assert arrays["train_y"].shape == (10, 4000) and arrays["test_y"].shape == (10, 1000)
  np.testing.assert_array_equal(arrays["train_y"].sum(axis=0), 1)
  # The package still builds what the published table was measured on.
  assert mnist1d.checksum(arrays) == configs.EXPECTED_CHECKSUM


def test_conversion_transposes_and_one_hots():
  raw = {"x": np.arange(6.0).reshape(2, 3), "y": np.array([2, 0]),
         "x_test": np.ones((1, 3)), "y_test": np.array([9])}
  course = mnist1d.to_course_shapes(raw)
  np.testing.assert_array_equal(course["train_x"], raw["x"].T)
  np.testing.assert_array_equal(np.argmax(course["train_y"], axis=0), [2, 0])
  assert course["test_y"].shape == (10, 1) and course["test_y"][9, 0] == 1
  with pytest.raises(DataError, match="labels"):
    mnist1d.one_hot([3, 10])


def test_checksum_sees_any_change(arrays):
  digest = mnist1d.checksum(arrays)
  changed = dict(arrays, test_x=arrays["test_x"].copy())
  changed["test_x"][0, 0] += 1e-6
  assert mnist1d.checksum(changed) != digest
  assert mnist1d.checksum(dict(arrays, train_x=arrays["train_x"].astype(np.float64))) != digest


def test_validation_rejects_bad_arrays(arrays):
  mnist1d.validate(arrays)
  bad = dict(arrays, train_x=arrays["train_x"].copy())
  bad["train_x"][3, 7] = np.nan
  with pytest.raises(DataError, match="non-finite"):
    mnist1d.validate(bad)
  with pytest.raises(ShapeError):
    mnist1d.validate(dict(arrays, test_x=arrays["test_x"][:39]))


def test_generation_leaves_the_global_random_state_alone(monkeypatch):
  import mnist1d.data as package
  def fake_make_dataset(args):
    np.random.seed(args.seed)   # what the package does
    return {"x": np.zeros((1, 40)), "y": np.zeros(1, int), "x_test": np.zeros((1, 40)),
            "y_test": np.zeros(1, int)}
  monkeypatch.setattr(package, "make_dataset", fake_make_dataset)
  np.random.seed(123)
  expected = np.random.RandomState(123).rand()
  mnist1d.generate_raw()
  assert np.random.rand() == expected


def test_cache_is_written_once_and_reused(arrays, tmp_path, monkeypatch):
  calls = []
  monkeypatch.setattr(mnist1d, "generate", lambda seed: calls.append(seed) or arrays)
  config = configs.get_config()
  env, messages = stand_in_env(tmp_path)
  first, info = app.load_data(config, env)
  assert info["source"] == "generated" and info["matches_expected"] and not messages
  path = app.cache_path(tmp_path, 42)
  assert path.exists() and not list(tmp_path.glob("*.tmp*"))
  second, info = app.load_data(config, env)
  assert info["source"] == "cache" and calls == [42]
  for name in mnist1d.ARRAY_NAMES:
    np.testing.assert_array_equal(second[name], first[name])


def test_a_changed_generator_is_reported(arrays, tmp_path, monkeypatch):
  """A recorded checksum that the package no longer builds: the data is regenerated
  and the warning says that the generator's output changed."""
  monkeypatch.setattr(mnist1d, "generate", lambda seed: arrays)
  config = configs.get_config()
  env, messages = stand_in_env(tmp_path)
  app.load_data(config, env)                     # a good cache
  config.expected_checksum = "0" * 64
  _, info = app.load_data(config, env)
  assert info["source"] == "generated" and not info["matches_expected"]
  assert any("CHANGED" in m and "0" * 64 in m for m in messages), messages
  assert any("regenerating" in m for m in messages)


def test_a_corrupted_cache_is_regenerated(arrays, tmp_path, monkeypatch):
  monkeypatch.setattr(mnist1d, "generate", lambda seed: arrays)
  config = configs.get_config()
  env, messages = stand_in_env(tmp_path)
  app.load_data(config, env)
  path = app.cache_path(tmp_path, 42)
  tampered = dict(arrays, train_x=arrays["train_x"] + 1)
  np.savez(path, checksum=np.array(mnist1d.checksum(arrays)), **tampered)
  fresh, info = app.load_data(config, env)
  assert info["source"] == "generated" and any("do not match" in m for m in messages)
  np.testing.assert_array_equal(fresh["train_x"], arrays["train_x"])
  assert app.read_cache(path)[0] is not None     # rewritten sound


def test_a_cache_that_cannot_be_written_costs_a_warning_not_the_run(arrays, tmp_path,
                                                                    monkeypatch):
  monkeypatch.setattr(mnist1d, "generate", lambda seed: arrays)
  blocked = tmp_path / "a_file"
  blocked.write_text("where the cache directory would be")
  env, messages = stand_in_env(blocked / "data")
  got, info = app.load_data(configs.get_config(), env)
  assert info["source"] == "generated"
  np.testing.assert_array_equal(got["train_x"], arrays["train_x"])
  assert len(messages) == 1 and messages[0].startswith("mnist1d: not cached (cannot write ")


def test_no_cache_dir_means_no_files(arrays, monkeypatch):
  monkeypatch.setattr(mnist1d, "generate", lambda seed: arrays)
  env, _ = stand_in_env(None)
  _, info = app.load_data(configs.get_config(), env)
  assert info["source"] == "generated"


def test_short_training_run_beats_chance(arrays, tmp_path, monkeypatch):
  """A small BN MLP, 8 epochs of in-order Adam steps (320), two seeds in one program: far
  above the 10 % of guessing on the test set; the record follows the schema."""
  monkeypatch.setattr(mnist1d, "generate", lambda seed: arrays)
  config = configs.get_config("batchnorm")
  config.hidden_dims, config.num_epochs, config.num_seeds = (32, 32), 8, 2
  config.record_every = 3
  env, _ = stand_in_env(tmp_path)
  record, figures = app.run(config, env)
  assert record["test_accuracy"] > 0.4
  assert record["train_accuracy"] > record["test_accuracy"] - 0.05
  seeds = record["metrics"]["seeds"]["test"]["values"]
  assert len(seeds) == 2 and seeds[0] != seeds[1]       # two different seeds
  assert [x for x, _ in record["costs"]] == [0, 3, 6] and record["cost_unit"] == "epoch"
  assert len(record["metrics"]["test_curve"]) == 2
  assert record["costs"][-1][1] < record["costs"][0][1]
  assert "cost.png" in figures
  assert "| 68 |" in app.report_markdown(record)
  # Two programs, timed apart: the initialization's and the training's; their sum is the
  # row's compile_s, which the report shows, and the benchmark checks each one.
  timings = record["timings"]
  parts = report._parts(timings, "compile_s")
  assert sorted(parts) == ["seeds", "seeds_init"] and min(parts.values()) > 0
  assert timings["compile_s"] == pytest.approx(sum(parts.values()), abs=2e-4)
  assert timings["train_s"] == timings["seeds_train_s"] > 0


@pytest.mark.parametrize("num_epochs", [4, 5])
def test_init_program_and_final_accuracy(arrays, num_epochs):
  """init_models gives each model init_one's start (the draws of its seed), and Trained.
  final is the accuracy of the returned params, whether the last block ends the run
  (4 epochs in blocks of 2: its evaluation is reused) or a shorter rest follows (5)."""
  import jax
  import jax.numpy as jnp
  config = configs.get_config("dropout")
  config.hidden_dims, config.num_epochs, config.num_seeds, config.record_every = (16,), \
      num_epochs, 2, 2
  arch = app.architecture(config)
  X, Y = arrays["train_x"][:, :400], arrays["train_y"][:, :400]
  spec = app.make_spec(config, arch, num_epochs, X.shape[1])
  hypers = app.seed_hypers(config, 2, 16)
  hypers = app.Hypers(jnp.asarray(hypers.seed, jnp.int32), *(
      jnp.asarray(v, jnp.float32) for v in hypers[1:4]), jnp.asarray(hypers.width, jnp.int32),
      jnp.asarray(hypers.log_decay_base, jnp.float32))
  start = app.init_models(hypers, spec=app.init_spec(spec), dtype="float32")
  one = app.init_one(jax.tree.map(lambda v: v[1], hypers), spec=spec, dtype="float32")
  np.testing.assert_array_equal(start.params["W1"][1], one.params["W1"])
  np.testing.assert_array_equal(jax.random.key_data(start.dropout_key[1]),
                                jax.random.key_data(one.dropout_key))
  assert not np.array_equal(start.params["W1"][0], start.params["W1"][1])
  eval_sets = ((jnp.asarray(X), jnp.asarray(Y)),
               (jnp.asarray(arrays["test_x"]), jnp.asarray(arrays["test_y"])))
  trained = app.train_models(hypers, start, jnp.asarray(X), jnp.asarray(Y), eval_sets,
                             spec=spec)
  assert trained.curves.shape == (num_epochs // 2, 2, 2)
  for k in range(2):
    params = jax.tree.map(lambda v: v[k], trained.params)
    for s, (Xe, Ye) in enumerate(eval_sets):
      assert trained.final[k, s] == app.model_accuracy(spec, params, {}, Xe, Ye)


def test_search_shapes_and_a_dev_split_disjoint_from_test(arrays):
  config = configs.get_config("search")
  config.search_num, config.search_num_epochs, config.width_range = 3, 2, (8, 16)
  config.num_epochs, config.num_seeds, config.record_every = 2, 2, 1
  config.batchnorm, config.lr_decay = False, "none"   # fewer ops: a quicker compile
  searched = app.run_search(config, arrays)
  table = searched["table"]
  assert len(table) == 3
  assert all(8 <= row["width"] <= 16 for row in table)
  assert [row["dev_accuracy"] for row in table] == sorted(
      (row["dev_accuracy"] for row in table), reverse=True)
  assert searched["dev_split"] == {"train": 3500, "dev": 500}
  assert len(searched["seeds"]["test"]["values"]) == 2
  # The dev columns are the last 500 training examples: none of them is a test example.
  _, _, X_dev, _ = mnist1d.dev_split(arrays["train_x"], arrays["train_y"], config.num_dev)
  dev = {col.tobytes() for col in X_dev.T}
  assert not dev & {col.tobytes() for col in arrays["test_x"].T}
  assert len(dev) == 500


def test_training_flops_pick_the_compile_options():
  """Softmax regression's 200 epochs are too short for the emitters; the MLP's are not."""
  from experiments.runner import cli
  ours = {"XLA_FLAGS": cli.configure_xla({}, one_core=False)}
  for variant, long_run in (("logistic", False), ("mlp", True)):
    config = configs.get_config(variant)
    spec = app.make_spec(config, app.architecture(config), config.num_epochs, 4000)
    flops = app.training_flops(spec, config.num_seeds, 4000)
    assert (cli.long_run_compiler_options("cpu", ours, flops=flops) != {}) == long_run
  mlp = configs.get_config("mlp")
  spec = app.make_spec(mlp, app.architecture(mlp), 200, 4000)
  assert app.training_flops(spec, 8, 4000) == 6.0 * (40 * 100 + 100 * 100 + 100 * 10) \
      * 4000 * 200 * 8


def test_width_buckets_hold_each_width_in_the_narrowest_bucket():
  widths = np.array([32, 33, 64, 65, 128, 129, 200, 256])
  np.testing.assert_array_equal(app.width_buckets(widths, 256),
                                [64, 64, 64, 128, 128, 256, 256, 256])
  np.testing.assert_array_equal(app.width_buckets(widths, 256, levels=1), [256] * 8)
  np.testing.assert_array_equal(app.width_buckets([3, 5, 9], 10, levels=4), [5, 5, 10])


def test_search_buckets_train_each_model_as_its_own_masked_net(arrays):
  """The search's models, trained in width buckets, score as each one trained alone in
  a bucket of its own width (the same draws and masks): bucketing only groups them."""
  config = configs.get_config("search")
  config.search_num, config.search_num_epochs, config.width_range = 4, 1, (4, 16)
  config.batchnorm, config.lr_decay, config.keep_prob_range = False, "none", (1.0, 1.0)
  X_tr, Y_tr, X_dev, Y_dev = mnist1d.dev_split(arrays["train_x"], arrays["train_y"], 500)
  X_tr, Y_tr = X_tr[:, :1000], Y_tr[:, :1000]
  hypers = app.search_hypers(config)
  buckets = app.width_buckets(hypers.width, 16)
  assert len(set(buckets.tolist())) >= 2, hypers.width   # the draw spans two buckets
  final, timings = app.search_models(config, hypers, X_tr, Y_tr, X_dev, Y_dev)
  assert sorted(timings) == sorted(set(buckets.tolist()))
  assert all(t.init_s > 0 and t.compile_s > 0 and t.train_s > 0 for t in timings.values())
  for k in [int(np.flatnonzero(buckets == width)[-1]) for width in set(buckets.tolist())]:
    one = app.Hypers(*(np.asarray(field)[k:k + 1] for field in hypers))
    alone, _ = app.search_models(config, one, X_tr, Y_tr, X_dev, Y_dev)
    np.testing.assert_allclose(alone[0], final[k], atol=1e-3)


def test_benchmark_init_is_one_uniform_draw_per_array():
  """PyTorch's U(-1/sqrt(n_in), 1/sqrt(n_in)) with one key per array (W1, b1, W2, ...):
  the draws are hashed together (draws.stacked), the bits are those of one draw each,
  vmapped over models as init_models runs it."""
  import jax
  import jax.numpy as jnp
  dims = (7, 6, 5, 3)
  def reference(key):
    keys = jax.random.split(key, 2 * (len(dims) - 1))
    out = {}
    for l in range(1, len(dims)):
      bound = 1.0 / np.sqrt(dims[l - 1])
      out[f"W{l}"] = jax.random.uniform(keys[2 * l - 2], (dims[l], dims[l - 1]), jnp.float32,
                                        -bound, bound)
      out[f"b{l}"] = jax.random.uniform(keys[2 * l - 1], (dims[l], 1), jnp.float32,
                                        -bound, bound)
    return out
  keys = jax.random.split(jax.random.key(0), 3)
  ours = jax.jit(jax.vmap(lambda k: app.benchmark_init(k, dims, jnp.float32)))(keys)
  want = jax.jit(jax.vmap(reference))(keys)
  assert sorted(ours) == sorted(want)
  for name in want:
    np.testing.assert_array_equal(ours[name], want[name])


def test_width_masking_is_the_narrow_net(x64):
  """A max-width net whose extra units are masked trains exactly like a net of that
  width initialized with the same kept weights (gradients of the masked weights are 0)."""
  import jax
  import jax.numpy as jnp
  from dlcourse.models import dense
  wide = dense.Architecture.make((6, 8, 8, 3), hidden="relu", output="softmax")
  narrow = dense.Architecture.make((6, 5, 5, 3), hidden="relu", output="softmax")
  rng = np.random.RandomState(0)
  full = {f"{p}{l}": jnp.asarray(rng.uniform(-0.5, 0.5, shape)) for l in (1, 2, 3)
          for p, shape in (("W", (wide.layer_dims[l], wide.layer_dims[l - 1])),
                           ("b", (wide.layer_dims[l], 1)))}
  params = jax.jit(app.mask_width, static_argnums=(1, 2))(full, wide, 5)
  np.testing.assert_allclose(params["W2"][:5, :5], full["W2"][:5, :5] * np.sqrt(8 / 5))
  small = {"W1": params["W1"][:5], "b1": params["b1"][:5], "W2": params["W2"][:5, :5],
           "b2": params["b2"][:5], "W3": params["W3"][:, :5], "b3": params["b3"]}
  X, Y = jnp.asarray(rng.randn(6, 9)), jnp.asarray(np.eye(3)[:, rng.randint(0, 3, 9)])
  grad_fn = jax.jit(dense.cost_and_grads, static_argnums=3)
  J, grads = grad_fn(params, X, Y, wide, 0.3)
  J_small, grads_small = grad_fn(small, X, Y, narrow, 0.3)
  np.testing.assert_allclose(J, J_small, rtol=1e-12)
  np.testing.assert_allclose(grads["W2"][:5, :5], grads_small["W2"], rtol=1e-12)
  assert not np.any(grads["W1"][5:]) and not np.any(grads["W2"][5:])
  assert not np.any(grads["W3"][:, 5:])


def test_bad_configs_are_refused_before_compiling(arrays):
  config = configs.get_config("logistic")
  config.batchnorm = True
  with pytest.raises(ConfigError, match="batch norm needs hidden"):
    app.train_config(config, arrays)
  config = configs.get_config()
  config.batch_size = 300
  with pytest.raises(ConfigError, match="divide"):
    app.train_config(config, arrays)
  config = configs.get_config()
  config.optimizer = "adamm"
  with pytest.raises(ConfigError, match="optimizer"):
    app.train_config(config, arrays)
  with pytest.raises(ValueError, match="variant"):
    configs.get_config("everything")


def test_any_optax_optimizer_by_name():
  import optax
  assert isinstance(app.make_optimizer("optax:adamw", 1e-3), optax.GradientTransformation)
  assert isinstance(app.make_optimizer("adam", 1e-3), optax.GradientTransformation)
  with pytest.raises(ConfigError, match="optax:<name>"):
    app.make_optimizer("optax:no_such_thing", 1e-3)


def test_toolbox_variant_runs_every_tool_and_the_search_in_one_record(arrays, monkeypatch):
  """The toolbox variant (every report row plus the search in one run), tiny: each tool's
  row carries its own settings and per-seed summaries, the timings add up its programs,
  and its markdown is the report's table with the search's best."""
  monkeypatch.setattr(mnist1d, "generate", lambda seed: arrays)
  config = configs.get_config("toolbox")
  config.hidden_dims, config.num_epochs, config.num_seeds, config.record_every = (8,), 1, 1, 1
  config.search_num, config.search_num_epochs, config.width_range = 2, 1, (4, 8)
  env, _ = stand_in_env(None)
  record, figures = app.run(config, env)
  rows = record["metrics"]["toolbox"]
  assert list(rows) == [*app.TOOLBOX_ROWS, "search"]
  assert rows["logistic"]["settings"]["model"] == "logistic"
  assert rows["dropout"]["settings"]["keep_prob"] == configs.TOOLS["dropout"]["keep_prob"]
  assert rows["all"]["settings"]["batchnorm"] and rows["all"]["settings"]["init"] == "he"
  assert all(0.0 <= row["test"]["mean"] <= 1.0 for row in rows.values())
  assert record["test_accuracy"] == rows["all"]["test"]["mean"]   # the main row
  assert 4 <= rows["search"]["best"]["width"] <= 8
  parts = [rows[name][k] for name in app.TOOLBOX_ROWS for k in ("compile_s", "train_s")]
  assert record["timings"]["train_s"] + record["timings"]["compile_s"] > sum(parts)
  markdown = app.report_markdown(record)
  assert markdown.count("\n| ") == len(rows) + 1 and "Search best (dev" in markdown
  assert figures["search.png"].startswith(b"\x89PNG")


def test_decay_is_a_traced_number_so_decay_and_mlp_share_a_program(arrays):
  """The learning-rate decay is Hypers.log_decay_base (0: none), not a constant: the MLP
  and its decay row lower to one training program (compiled once, through JAX's
  compilation cache), and an unknown or bad decay is still refused before compiling."""
  import jax.numpy as jnp
  X, Y = arrays["train_x"][:, :200], arrays["train_y"][:, :200]
  texts = set()
  for variant in ("mlp", "decay"):
    config = configs.get_config(variant)
    config.hidden_dims, config.num_epochs, config.num_seeds = (8,), 1, 1
    arch = app.architecture(config)
    spec = app.make_spec(config, arch, 1, X.shape[1])
    hypers = app.seed_hypers(config, 1, 8)
    assert float(hypers.log_decay_base[0]) == (
        0.0 if variant == "mlp" else np.log(config.decay_base))
    hypers = app.Hypers(*(jnp.asarray(v) for v in hypers))
    start = app.init_models(hypers, spec=app.init_spec(spec), dtype="float32")
    X_, Y_ = jnp.asarray(X, jnp.float32), jnp.asarray(Y, jnp.float32)
    texts.add(app.train_models.lower(hypers, start, X_, Y_, ((X_, Y_),), spec=spec).as_text())
  assert len(texts) == 1
  for bad in ({"lr_decay": "cosine"}, {"lr_decay": "exponential", "decay_base": 1.5},
              {"lr_decay": "exponential", "decay_base": 0.0}):
    config = configs.get_config("mlp")
    config.update(bad)
    with pytest.raises(ConfigError):
      app.make_spec(config, app.architecture(config), 1, X.shape[1])



@pytest.mark.parametrize("variant", ["dropout", "all"])
def test_grad_fn_handed_its_drawn_masks_equals_drawing_them_itself(arrays, variant):
  """The loop draws a step's dropout masks a step ahead (GradFn.draw) and hands them
  back as ``noise``: the same cost, gradients and batch-norm state as drawing inside."""
  import jax
  import jax.numpy as jnp
  config = configs.get_config(variant)
  config.hidden_dims = (16, 16)
  arch = app.architecture(config)
  X = jnp.asarray(arrays["train_x"][:, :100], jnp.float32)
  Y = jnp.asarray(arrays["train_y"][:, :100], jnp.float32)
  spec = app.make_spec(config, arch, 1, X.shape[1])
  params, state = app.init_model(spec, 0, 16, jnp.float32)
  grad_fn = app.make_grad_fn(spec, jnp.float32(config.lambd), jnp.float32(0.7))
  key = jax.random.key(4)
  masks = grad_fn.draw(key, X.shape[1])
  assert sorted(masks) == [1, 2] and masks[1].shape == (16, 100)
  itself = jax.jit(grad_fn)(params, state, X, Y, key)
  handed = jax.jit(grad_fn)(params, state, X, Y, jax.random.key(5), noise=masks)
  for a, b in zip(jax.tree.leaves(itself), jax.tree.leaves(handed)):
    np.testing.assert_array_equal(a, b)
  other = jax.jit(grad_fn)(params, state, X, Y, jax.random.key(5))
  assert not np.array_equal(other[1]["W1"], itself[1]["W1"])   # the masks matter
  assert app.make_grad_fn(app.make_spec(configs.get_config("mlp"), arch, 1, 100),
                          0.0, 1.0).draw(key, 100) is None   # no dropout, nothing drawn
