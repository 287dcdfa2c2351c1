"""One report row, run in a worker process (or in the report's own process).

Kept apart from ``report`` so that a spawned worker imports only what a row needs.
"""
import os
import time
import warnings


def init_worker(slot=None, cores=None):
  """A worker's process-wide settings, before JAX starts: the report runs one worker per
  core, so each worker is pinned to a core of its own (``slot`` counts the workers
  started; XLA sizes its thread pool by the cores a process may use, so two workers do
  not fight over both cores), and JAX's compilation cache is on unless turned off."""
  pinned = False
  if slot is not None and cores:
    with slot.get_lock():
      index = slot.value
      slot.value += 1
    if hasattr(os, "sched_setaffinity"):
      os.sched_setaffinity(0, {cores[index % len(cores)]})
      pinned = True
  from experiments.runner import cli  # pylint: disable=import-outside-toplevel
  cli.configure_xla(one_core=pinned)
  cli.enable_compilation_cache(os.environ.get(cli.CACHE_ENV, "1") != "0")


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
