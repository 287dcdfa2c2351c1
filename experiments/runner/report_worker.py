"""One report row, run in a worker process (or in the report's own process).

Kept apart from ``report`` so that a spawned worker imports only what a row needs.
"""
import os
import time
import warnings


def init_worker():
  """A worker's process-wide settings, before JAX is imported: the report runs one worker
  per core, so each worker's XLA keeps to one thread rather than fighting for both."""
  flags = os.environ.get("XLA_FLAGS", "")
  if "intra_op_parallelism_threads" not in flags:
    os.environ["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false "
                               "intra_op_parallelism_threads=1").strip()
  from experiments.runner import cli  # pylint: disable=import-outside-toplevel
  cli.enable_compilation_cache(os.environ.get(cli.CACHE_ENV, "1") != "0")


def run_row(experiment, config, data_dir):
  """(record, figures, error, wall_s) of ``experiment`` (a ``registry.Experiment``)
  under ``config``."""
  from dlcourse.errors import DLCourseError  # pylint: disable=import-outside-toplevel
  from experiments.runner import env  # pylint: disable=import-outside-toplevel
  start = time.perf_counter()
  try:
    with warnings.catch_warnings():
      # scikit-learn's deprecation notices about future defaults say nothing about this
      # run's result and would bury the report's own lines.
      warnings.simplefilter("ignore", FutureWarning)
      record, figures = experiment.app().run(
          config, env.Env.plain(data_dir, cache_dir=env.default_cache_dir()))
  except DLCourseError as e:
    return None, None, str(e), time.perf_counter() - start
  return record, figures, None, time.perf_counter() - start
