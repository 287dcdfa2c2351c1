"""What the apps share to build and score a model under a config (no I/O).

* precision: ``course_compat`` runs in float64 with the course's NumPy initializer;
  otherwise float32 with JAX keys, unless the config asks for ``dtype="float64"``.
"""
import contextlib
import time

import jax
import jax.numpy as jnp

from dlcourse import arrays, initializers
from dlcourse.models import dense


def uses_float64(config):
  return bool(config.get("course_compat", False)) or config.get("dtype", "float32") == "float64"


def precision(config):
  """Context that enables float64 for course-compatible (or float64) runs only."""
  return jax.enable_x64(True) if uses_float64(config) else contextlib.nullcontext()


def float_dtype(config):
  return jnp.float64 if uses_float64(config) else jnp.float32


def init_params(config, layer_dims, scheme, scale=None):
  """Course initializer (NumPy seed, float64) or JAX keys (``jax.random.key(seed)``)."""
  if config.get("course_compat", False):
    return initializers.course_initialize(config.seed, layer_dims, scheme,
                                          scale=scale or 0.01)
  return initializers.initialize(jax.random.key(config.seed), layer_dims, scheme,
                                 scale=scale or 0.01, dtype=float_dtype(config))


def train_test_accuracies(config, params, arch, train_x, train_y, test_x=None, test_y=None):
  """{"train_accuracy", "test_accuracy"} of ``params`` (test None without a test set),
  both from one compiled program."""
  dtype = float_dtype(config)
  sets = [(train_x, train_y)] + ([] if test_x is None else [(test_x, test_y)])
  accs = [float(a) for a in dense.accuracies(
      params, [(arrays.device_array(X, dtype), arrays.device_array(Y, dtype))
               for X, Y in sets], arch)]
  return {"train_accuracy": accs[0], "test_accuracy": accs[1] if len(accs) > 1 else None}


# JAX's own monitoring events (jax.monitoring) that together time a program's tracing,
# lowering to MLIR, and compiling or reading from the persistent compilation cache.
COMPILE_EVENTS = ("/jax/core/compile/jaxpr_trace_duration",
                  "/jax/core/compile/jaxpr_to_mlir_module_duration",
                  "/jax/core/compile/backend_compile_duration")


def timed_stage(fn, *args, **kwargs):
  """(fn(*args, **kwargs), compile_s, run_s) for a stage that trains without ``Env``'s
  fits (the first lessons' descents, C2W1's early stopping): compile_s is what JAX spent
  tracing, lowering and compiling meanwhile (``COMPILE_EVENTS``), run_s the rest of the
  stage's wall time. ``fn`` must return only once its work is done (host values, or
  ``jax.block_until_ready``)."""
  compiling = [0.0]

  def listen(event, duration_secs, **_):
    if event in COMPILE_EVENTS:
      compiling[0] += duration_secs

  jax.monitoring.register_event_duration_secs_listener(listen)
  start = time.perf_counter()
  try:
    out = fn(*args, **kwargs)
  finally:
    elapsed = time.perf_counter() - start
    jax.monitoring.unregister_event_duration_listener(listen)
  return out, compiling[0], elapsed - compiling[0]


def fit_result(config, fit, arch, train_x, train_y, test_x=None, test_y=None, *,
               dev_accuracy=None, metrics=None, cost_unit="iteration"):
  """The schema's record of one fit (``env.fit_gd`` / ``env.fit_minibatch``) with its
  accuracies on the training (and test) set."""
  from experiments.runner import schema  # pylint: disable=import-outside-toplevel
  return schema.result(
      config, costs=fit.costs, dev_accuracy=dev_accuracy,
      **train_test_accuracies(config, fit.params, arch, train_x, train_y, test_x, test_y),
      timings=fit_timings(fit), metrics=metrics, cost_unit=cost_unit)


def fit_timings(fit):
  """{"compile_s", "train_s"}: the fit's totals; a fit of several programs adds each
  one's (``stage_timings`` of ``fit_stages``)."""
  if not fit.programs:
    return {"compile_s": fit.compile_s, "train_s": fit.train_s}
  return stage_timings(fit_stages(fit))


def fit_stages(fit, name=None):
  """{stage: (compile_s, train_s)} of a fit, for ``stage_timings``: one per program of a
  fit of several (``FitResult.programs``: "<name>_<program>", or "<program>" without a
  name), else {name: the fit's totals} (a fit of one program needs the name)."""
  prefix = "" if name is None else f"{name}_"
  if fit.programs:
    return {f"{prefix}{program}": (compile_s, run_s)
            for program, compile_s, run_s in fit.programs}
  if name is None:
    raise ValueError("fit_stages of a fit of one program needs its stage name")
  return {name: (fit.compile_s, fit.train_s)}


def stage_timings(stages):
  """A record's timings for a run in stages ({stage: (compile_s, train_s)}; train_s None
  for a program only compiled, its short run counted in its compile): the totals
  "compile_s" and "train_s", and each stage's "<stage>_compile_s" and "<stage>_train_s"
  (the report and the benchmark read a row's stages as its programs)."""
  timings = {"compile_s": sum(c for c, _ in stages.values()),
             "train_s": sum(t for _, t in stages.values() if t is not None)}
  for stage, (compile_s, train_s) in stages.items():
    timings[f"{stage}_compile_s"] = compile_s
    if train_s is not None:
      timings[f"{stage}_train_s"] = train_s
  return timings
