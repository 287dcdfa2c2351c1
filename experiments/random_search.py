"""Course 2, week 3: a random search over the learning rate (and optionally L2 lambda),
every model trained at once by ``dlcourse.sweep`` and ranked by dev accuracy."""
import jax

from dlcourse import data, parallel, plots, sweep
from dlcourse.errors import ConfigError
from dlcourse.models import dense
from experiments import runner

NAME = "random_search"

# Per problem: the architecture, its initializer, and what the dev set is.
PROBLEMS = {
    "cats": dict(layer_dims=(12288, 20, 7, 5, 1), scheme="xavier",
                 dev="the course's test set (test_catvnoncat.h5, 50 pictures)"),
    "moons": dict(layer_dims=(2, 5, 2, 1), scheme="he",
                  dev="a fresh make_moons(300, noise=.2) sample (seed config.moons.dev_seed)"),
}


def load(config, data_dir, cache_dir=None, warn=None):
  """(X, Y, X_dev, Y_dev) of the configured problem, as float64 NumPy (the moons cached
  in ``cache_dir``, ``runner.sklearn_set``)."""
  if config.problem == "cats":
    return data.load_cats(data_dir)
  if config.problem == "moons":
    dev_seed = int(config.moons.dev_seed)
    if dev_seed == 3:
      raise ConfigError("config.moons.dev_seed must differ from the training sample's "
                        "seed 3 (the dev set would be the training set)")
    return (*runner.sklearn_set(cache_dir, data.moons, warn),
            *runner.sklearn_set(cache_dir, data.moons, warn, seed=dev_seed))
  raise ConfigError(f"problem must be one of {tuple(PROBLEMS)}, got {config.problem!r}")


def hypers_of(config):
  """The num_points sampled configurations (every model starts from config.seed)."""
  return sweep.random_search(
      int(config.num_points), seed=int(config.search_seed),
      learning_rate_log10=tuple(config.learning_rate_log10),
      lambd_log10=tuple(config.lambd_log10) if config.search_lambd else None,
      init_seed=int(config.seed))


def _mesh(config):
  """None, or a mesh over every device (of every process): the examples split over it
  (``data``) or the models (``models``)."""
  dist = config.distributed
  parallel.initialize_distributed(dist.coordinator_address, dist.num_processes,
                                  dist.process_id)
  if config.parallel == "none":
    return None
  if config.parallel == "data":
    return parallel.data_mesh()
  if config.parallel == "models":
    return parallel.sweep_mesh(models=jax.device_count())
  raise ConfigError(f"parallel must be 'none', 'data' or 'models', got {config.parallel!r}")


def run(config, env):
  # ConfigError for an unknown problem.
  X, Y, X_dev, Y_dev = load(config, env.data_dir, env.cache_dir, env.warn)
  problem = PROBLEMS[config.problem]
  num_iterations = int(config[config.problem].num_iterations)
  mesh = _mesh(config)
  with runner.precision(config):
    arch = dense.Architecture.make(problem["layer_dims"])
    result = sweep.run_sweep(
        arch, hypers_of(config), X, Y, X_dev, Y_dev, num_iterations=num_iterations,
        scheme=problem["scheme"], dtype=runner.float_dtype(config),
        record_every=int(config.record_every), method=config.method, mesh=mesh,
        first_layer=config.first_layer)
  best = result.table[0]
  costs = result.costs[best["model"]].tolist()
  iterations = range(0, num_iterations, int(config.record_every))
  best_costs = [[int(i), float(c)] for i, c in zip(iterations, costs)]
  models_x_iterations = result.hypers.num_models * num_iterations
  record = runner.result(
      config, costs=best_costs, train_accuracy=best["train_accuracy"],
      dev_accuracy=best["dev_accuracy"],
      timings={"compile_s": result.compile_s, "train_s": result.train_s,
               "model_iterations_per_s": models_x_iterations / result.train_s},
      metrics={"problem": {"name": config.problem, "layer_dims": list(arch.layer_dims),
                           "num_iterations": num_iterations,
                           "train_examples": int(X.shape[1]),
                           "dev_examples": int(X_dev.shape[1]), "dev_set": problem["dev"],
                           "first_layer": result.first_layer},
               "best": best, "table": result.table,
               "devices": jax.device_count(), "processes": jax.process_count()})
  title = f"{config.problem}: {result.hypers.num_models}-point random search"
  figures = {
      "accuracy_vs_lr.png": plots.accuracy_vs_learning_rate(result.table, title=title),
      "best_cost.png": plots.cost_curve(best_costs, title=f"{config.problem}, best model",
                                        learning_rate=best["learning_rate"]),
  }
  return record, figures


if __name__ == "__main__":
  runner.launch(NAME, run)
