"""One report row, run in a worker process (or in the report's own process).

Kept apart from ``report`` so that a spawned worker imports only what a row needs.
"""
import os
import time
import warnings


def init_worker(slot=None, cores=None, compilation_cache=True):
  """A worker's process-wide settings, before JAX starts: the report runs one worker per
  core, so each worker is pinned to a core of its own (``slot`` counts the workers
  started; XLA sizes its thread pool by the cores a process may use, so two workers do
  not fight over both cores), and JAX's compilation cache is on unless the report's
  ``--nocompilation_cache`` (``compilation_cache``) or DLCOURSE_COMPILATION_CACHE=0
  turns it off."""
  if slot is not None and cores:
    with slot.get_lock():
      index = slot.value
      slot.value += 1
    if hasattr(os, "sched_setaffinity"):
      os.sched_setaffinity(0, {cores[index % len(cores)]})
  from experiments.runner import cli  # pylint: disable=import-outside-toplevel
  cli.configure_xla()  # sees the affinity: one core takes the one-core options
  cli.enable_compilation_cache(compilation_cache)
  settle()


def settle():
  """Imports what every row uses (JAX, matplotlib, the runner), then ``cli.settle_gc``:
  for a process that runs rows (a worker, or the report's own with one job)."""
  # pylint: disable=import-outside-toplevel,unused-import
  import jax  # noqa: F401
  from dlcourse import plots  # noqa: F401  (matplotlib)
  from experiments.runner import cli, env, schema  # noqa: F401
  cli.settle_gc()


def run_row(experiment, config, data_dir, skip_figures=()):
  """(record, figures, error, wall_s) of ``experiment`` (a ``registry.Experiment``)
  under ``config``; figures as PNG bytes, without the names in ``skip_figures``."""
  from dlcourse.errors import DLCourseError  # pylint: disable=import-outside-toplevel
  from experiments.runner import env, schema  # pylint: disable=import-outside-toplevel
  start = time.perf_counter()
  try:
    with warnings.catch_warnings():
      # scikit-learn's deprecation notices about future defaults say nothing about this
      # run's result and would bury the report's own lines.
      warnings.simplefilter("ignore", FutureWarning)
      record, figures = experiment.app().run(
          config, env.Env.plain(data_dir, cache_dir=env.default_cache_dir()))
      figures = schema.draw_figures(figures, skip_figures)
  except DLCourseError as e:
    return None, None, str(e), time.perf_counter() - start
  return record, figures, None, time.perf_counter() - start


def gradient_checks():
  """[(title, GradCheckReport, seconds)] on three small nets, in float64 (the report's
  gradient-check section; run in a worker beside the rows). The moons and digits come
  through the cache, as the rows' do."""
  # pylint: disable=import-outside-toplevel
  import jax
  from dlcourse import data
  from dlcourse.models import dense
  from experiments.runner import datacache, env
  cache_dir = env.default_cache_dir()
  cases = []
  with jax.enable_x64(True):
    X, Y = data.planar_flower()
    cases.append(("tanh net [2, 4, 1] on the planar flower",
                  dense.Architecture((2, 4, 1), ("tanh", "sigmoid")), X, Y, 0.0))
    X, Y = datacache.sklearn_set(cache_dir, data.moons)
    cases.append(("ReLU net [2, 5, 3, 1] with L2 (lambda 0.7) on the moons",
                  dense.Architecture.make((2, 5, 3, 1)), X, Y, 0.7))
    X, labels = datacache.sklearn_set(cache_dir, data.digits)
    X, labels = X[:, :200], labels[:, :200]
    cases.append(("softmax net [64, 8, 10] on 200 digits",
                  dense.Architecture.make((64, 8, 10), output="softmax"), X,
                  data.one_hot(labels, 10), 0.0))
    results = []
    for title, arch, X, Y, lambd in cases:
      start = time.perf_counter()
      report = _check(arch, X, Y, lambd)
      results.append((title, report, time.perf_counter() - start))
  return results


def _check(arch, X, Y, lambd):
  # pylint: disable=import-outside-toplevel
  import jax
  import jax.numpy as jnp
  from dlcourse import gradcheck, initializers
  from dlcourse.models import dense
  X, Y = jnp.asarray(X, jnp.float64), jnp.asarray(Y, jnp.float64)
  params = initializers.initialize(jax.random.key(0), arch.layer_dims, "he",
                                   dtype=jnp.float64)
  cost = lambda p: dense.cost(p, X, Y, arch, lambd)
  manual = lambda p: dense.cost_and_grads(p, X, Y, arch, lambd)[1]
  return gradcheck.check_gradients(cost, manual, params)
