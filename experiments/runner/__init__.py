"""The run machinery: the CLI, the registry, run directories, checkpoints, metrics,
export and the report. The maths (``dlcourse``) imports none of it.

Submodules are loaded on first use (PEP 562), so that a config file importing
``experiments.runner.rows`` or listing the experiments does not load JAX:

    from experiments import runner
    runner.launch(NAME, run)           # cli: an app's entry point
    runner.Env.plain()                 # env: what an app's run(config, env) receives
    runner.precision(config), runner.init_params(...), runner.fit_result(...)  # models
    runner.result(config, costs=..., ...)                                     # schema
    runner.sklearn_set(env.cache_dir, data.moons)     # datacache: scikit-learn's sets, cached
"""
import importlib

_EXPORTS = {
    "launch": "cli", "main": "cli", "long_run_compiler_options": "cli",
    "compile_long_run": "long_runs",
    "Env": "env", "FitResult": "env", "TrainingDiverged": "env",
    "precision": "models", "float_dtype": "models", "uses_float64": "models",
    "init_params": "models", "train_test_accuracies": "models", "fit_result": "models",
    "fit_stages": "models", "stage_timings": "models", "timed_stage": "models",
    "result": "schema", "check_record": "schema", "draw_figures": "schema",
    "sklearn_set": "datacache",
}


def __getattr__(name):
  if name in _EXPORTS:
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
  raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
