"""Speed of dlcourse's compiled training against the machine's limits and other tools.

    python benchmarks/benchmark.py            # full run (a few minutes), updates RESULTS.md
    python benchmarks/benchmark.py --quick    # smoke run: tiny sizes, writes nothing

Everything in one run, on one machine, so that the ratios are comparable:

* the machine: matrix-product throughput (FLOP/s) for the exact shapes the training
  multiplies (best of XLA and NumPy/BLAS), and read bandwidth over an array of X's size;
* the L-layer cat net [12288, 20, 7, 5, 1] (2500 full-batch iterations, float32) and
  logistic regression on the cats (2000 iterations): ours (jitted, hand-written backward;
  and jax.grad), a NumPy float64 loop in the course's style (``numpy_reference``),
  PyTorch eager on the CPU when it is installed (``torch_reference``); the FLOP floor
  (FLOPs per iteration x iterations / measured throughput) and, for the memory-bound
  logistic regression, the bytes floor (two passes over X per iteration / bandwidth);
* 64-model learning-rate sweeps (``dlcourse.sweep``) against 64 sequential jitted runs
  of ``train.train_gd``, including a child process in which every core is a JAX device
  so that the models can be split over the cores;
* compile times, and time per iteration as m and the hidden width grow.

Wall times are the minimum of several runs (``--repeats``): other processes on a shared
machine only ever make a run slower, so the minimum is the best estimate of the cost.
The contestants of a comparison run round-robin (``race``), so a busy spell slows all
of them rather than one.
For the same reason the machine's speed for a shape is the best of every measurement of
that shape in the run (each is measured again at the end), so a busy moment cannot
lower a floor. Compilation is timed apart (cold: JAX's caches are cleared first).
"""
import argparse
import datetime
import functools
import json
import os
import pathlib
import platform
import re
import subprocess
import sys
import time
from typing import NamedTuple

import numpy as np

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a script: make dlcourse and benchmarks importable
  sys.path.insert(0, str(REPO_ROOT))

from experiments.runner import cli  # noqa: E402  (light: no JAX)

USER_XLA_FLAGS = os.environ.get("XLA_FLAGS")  # before the project's options join them
cli.configure_xla()  # the XLA options the command line and the report run with

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from benchmarks import course_runs, numpy_reference, torch_reference  # noqa: E402
from dlcourse import data, parallel, sweep, train  # noqa: E402
from dlcourse.models import dense, logistic  # noqa: E402

CAT_NET = (12288, 20, 7, 5, 1)
MOONS_NET = (2, 5, 2, 1)
RESULTS = REPO_ROOT / "benchmarks" / "RESULTS.md"
CHILD_TIMEOUT_S = 300


class Sizes(NamedTuple):
  """How much work each measurement does (full run vs --quick)."""
  l_layer_iterations: int
  logistic_iterations: int
  repeats: int
  short_repeats: int              # the sub-second races (logistic, moons): more runs
  reference_repeats: int          # NumPy / PyTorch loops (slow): fewer runs
  compile_repeats: int
  sweep_models: int
  sweep_iterations: dict          # problem -> iterations per measured sweep
  scaling_m: tuple
  scaling_width: tuple
  scaling_iterations: int


FULL = Sizes(2500, 2000, 3, 7, 2, 2, 64,
             {"logistic": 300, "moons": 2000, "l_layer": 30, "l_layer_gram": 300},
             (209, 2048, 16384), (20, 256, 1024), 20)
QUICK = Sizes(10, 10, 1, 1, 1, 1, 8,
              {"logistic": 5, "moons": 10, "l_layer": 2, "l_layer_gram": 5},
              (209,), (20,), 2)


# --- timing -----------------------------------------------------------------------

def best_time(fn, repeats):
  """(min wall time over ``repeats`` calls, last result); each call is waited for."""
  best, result = np.inf, None
  for _ in range(repeats):
    start = time.perf_counter()
    result = jax.block_until_ready(fn())
    best = min(best, time.perf_counter() - start)
  return best, result


def race(contestants, rounds):
  """{name: min seconds}: every contestant runs once per round, round after round, so a
  busy spell on a shared machine slows all of them rather than whichever ran then.
  A contestant may be a (function, rounds) pair to take part in fewer rounds."""
  best = {}
  for r in range(rounds):
    for name, entry in contestants.items():
      fn, own_rounds = entry if isinstance(entry, tuple) else (entry, rounds)
      if r < own_rounds:
        best[name] = min(best.get(name, np.inf), best_time(fn, 1)[0])
  return best


def timed_compile(jitted, *args, repeats=2, **kwargs):
  """(compiled, min seconds of trace + lower + compile).

  JAX caches traces and executables, so each repeat first clears those caches: every
  measurement is a cold compile, as a user's first call sees it.
  """
  best, compiled = np.inf, None
  for _ in range(repeats):
    jax.clear_caches()
    start = time.perf_counter()
    compiled = jitted.lower(*args, **kwargs).compile()
    best = min(best, time.perf_counter() - start)
  return compiled, best


# --- the machine ------------------------------------------------------------------

def _product_seconds(A, B, transpose_b, repeats, inner):
  """Best seconds of one A @ B (or A @ B^T): min over XLA and NumPy/BLAS."""
  Aj, Bj = jnp.asarray(A), jnp.asarray(B)
  product = jax.jit(lambda a, b: a @ (b.T if transpose_b else b))
  product(Aj, Bj).block_until_ready()
  Bt = B.T if transpose_b else B

  def xla():
    for _ in range(inner):
      out = product(Aj, Bj)
    return out

  def numpy():
    for _ in range(inner):
      out = A @ Bt
    return out

  return min(best_time(xla, repeats)[0], best_time(numpy, repeats)[0]) / inner


class LayerOne(NamedTuple):
  """Best measured cost of the first layer's two float32 products (~all the FLOPs)."""
  forward_s: float       # W1 (rows, n_x) @ X (n_x, m)
  backward_s: float      # dZ1 (rows, m) @ X^T (m, n_x)
  flops: float           # 2 * rows * n_x * m, for each of the two

  @property
  def throughput(self):
    """FLOP/s of the pair: both products' FLOPs over both products' best times."""
    return 2 * self.flops / (self.forward_s + self.backward_s)


# The bytes floor's blocked read (Machine.read_bandwidth): see the notes on logistic
# regression for why blocks of this width.
READ_BLOCK_FEATURES = 768


def read_block_cuts(n):
  """[0, c_1, ..., n]: n features in the fewest equal blocks of at most
  READ_BLOCK_FEATURES."""
  k = -(-n // READ_BLOCK_FEATURES)
  return [n * j // k for j in range(k + 1)]


@functools.partial(jax.jit, static_argnames="inner")
def _blocked_passes(blocks, vectors, inner):
  """``inner`` passes of z = sum_j X_j^T w_j over X's blocks, each w_j scaled by the last
  z so that no pass can be skipped (``Machine.read_bandwidth``); compiled once a run."""
  def one_pass(_, w):
    z = sum(block @ w_j for block, w_j in zip(blocks, w))
    return [w_j * (1 + 1e-30 * z[0]) for w_j in w]
  return jax.lax.fori_loop(0, inner, one_pass, vectors)


class Machine:
  """The machine's best measured speeds, per shape, over the whole run."""

  def __init__(self, repeats):
    self.repeats = repeats
    self.products = {}     # (rows, n_x, m) -> [forward_s, backward_s]
    self.bandwidths = {}   # (n_x, m) -> bytes/s

  def layer_one(self, rows, n_x, m):
    """Measures the two products of shape (rows, n_x, m) (again) and returns the best."""
    rng = np.random.default_rng(0)
    W = rng.standard_normal((rows, n_x), dtype=np.float32)
    X = rng.random((n_x, m), dtype=np.float32)
    dZ = rng.standard_normal((rows, m), dtype=np.float32)
    inner = max(1, min(20, int(2e8 / (rows * n_x * m))))  # ~0.1 s per measurement
    now = [_product_seconds(W, X, False, self.repeats, inner),
           _product_seconds(dZ, X, True, self.repeats, inner)]
    best = self.products.get((rows, n_x, m), [np.inf, np.inf])
    self.products[(rows, n_x, m)] = [min(a, b) for a, b in zip(best, now)]
    return self.best_layer_one(rows, n_x, m)

  def best_layer_one(self, rows, n_x, m):
    forward, backward = self.products[(rows, n_x, m)]
    return LayerOne(forward, backward, 2.0 * rows * n_x * m)

  def read_bandwidth(self, X, inner=20):
    """Bytes/s of one pass over X, the best of three reads: a sum of all its entries
    (XLA, NumPy), and the product X^T w by blocks of READ_BLOCK_FEATURES features (each
    block's w_j a vector of a few KB), ``inner`` products in one program, each w scaled
    by the last product so that none can be skipped: XLA emits each block's product as
    a kernel of its own and runs them side by side, the fastest read of X we found."""
    Xj = jnp.asarray(X)
    total = jax.jit(jnp.sum)
    total(Xj).block_until_ready()

    def xla():
      for _ in range(inner):
        out = total(Xj)
      return out

    def numpy():
      for _ in range(inner):
        out = X.sum()
      return out

    cuts = read_block_cuts(X.shape[0])
    blocks = [jnp.asarray(np.ascontiguousarray(X[a:b].T)) for a, b in zip(cuts, cuts[1:])]
    vectors = [jnp.full((b - a,), 1e-3, X.dtype) for a, b in zip(cuts, cuts[1:])]

    jax.block_until_ready(_blocked_passes(blocks, vectors, inner))
    blocked = lambda: jax.block_until_ready(_blocked_passes(blocks, vectors, inner))
    seconds = min(best_time(xla, self.repeats)[0], best_time(numpy, self.repeats)[0],
                  best_time(blocked, self.repeats)[0])
    key = X.shape
    self.bandwidths[key] = max(self.bandwidths.get(key, 0.0), X.nbytes * inner / seconds)
    return self.bandwidths[key]

  def refresh(self, X):
    """Measures every shape seen once more (a quieter moment can only help)."""
    for shape in list(self.products):
      self.layer_one(*shape)
    self.read_bandwidth(X)


net_flops = course_runs.net_flops


def flop_floor_seconds(layer_dims, m, iterations, one):
  """iterations x (layer 1's two products at their measured speed + the other layers'
  FLOPs at layer 1's throughput: a generous floor, small products run slower)."""
  rest = net_flops(layer_dims, m) - 2 * one.flops
  return iterations * (one.forward_s + one.backward_s + rest / one.throughput)


# --- data and our trainer -----------------------------------------------------------

def cat_data():
  """(X (12288, 209) float32, Y, source): the course's cats, or random pixels of the
  same shape when the data files are not there (the timings do not depend on values)."""
  data_dir = data.resolve_data_dir(None) or REPO_ROOT.parent / "shared" / "data"
  try:
    X, Y, _, _ = data.load_cats(data_dir)
    source = "train_catvnoncat.h5"
  except Exception:  # noqa: BLE001  any missing/unreadable file: fall back, and say so
    rng = np.random.RandomState(0)
    X, Y = rng.rand(12288, 209), (rng.rand(1, 209) > 0.65).astype(np.float64)
    source = "random pixels (cat files not found)"
  return X.astype(np.float32), Y.astype(np.float32), source


def xavier_params(layer_dims, dtype=np.float32):
  return {k: jnp.asarray(v) for k, v in
          numpy_reference.initialize_parameters_deep(layer_dims, 1, dtype).items()}


def ours(arch, params, X, Y, learning_rate, iterations, method, sizes):
  """(a function running the compiled train_gd_jit once, its compile seconds)."""
  static = dict(arch=arch, num_iterations=iterations, record_every=100, method=method)
  compiled, compile_s = timed_compile(train.train_gd_jit, params, X, Y, learning_rate,
                                      repeats=sizes.compile_repeats, **static)
  return (lambda: compiled(params, X, Y, learning_rate)), compile_s


# --- the measurements (raw seconds; ratios are formed at the end) -------------------

def measure_l_layer(X, Y, sizes, machine, compiles, log):
  iters = sizes.l_layer_iterations
  arch = dense.Architecture.make(CAT_NET)
  params = xavier_params(CAT_NET)
  Xj, Yj = jnp.asarray(X), jnp.asarray(Y)
  X64, Y64 = X.astype(np.float64), Y.astype(np.float64)
  contestants = {}
  contestants["manual_s"], compiles["L-layer, manual"] = ours(
      arch, params, Xj, Yj, 0.0075, iters, "manual", sizes)
  contestants["autodiff_s"], compiles["L-layer, jax.grad"] = ours(
      arch, params, Xj, Yj, 0.0075, iters, "autodiff", sizes)
  gram = jax.jit(sweep.train_gram, static_argnames=("arch", "num_iterations",
                                                   "record_every", "method"))
  compiled_gram, compiles["L-layer, Gram form (sweep.train_gram)"] = timed_compile(
      gram, params, Xj, Yj, 0.0075, repeats=sizes.compile_repeats, arch=arch,
      num_iterations=iters)
  contestants["gram_s"] = lambda: compiled_gram(params, Xj, Yj, 0.0075)
  contestants["numpy64_s"] = (lambda: numpy_reference.L_layer_model(
      X64, Y64, CAT_NET, num_iterations=iters), sizes.reference_repeats)
  contestants["numpy32_s"] = (lambda: numpy_reference.L_layer_model(
      X, Y, CAT_NET, num_iterations=iters, dtype=np.float32), sizes.reference_repeats)
  if torch_reference.available():
    contestants["torch_s"] = (lambda: torch_reference.L_layer_model(
        X, Y, CAT_NET, num_iterations=iters), sizes.reference_repeats)
  contestants["matmul"] = lambda: machine.layer_one(CAT_NET[1], CAT_NET[0], X.shape[1])
  # The 2048^2 peak in the same rounds as ours: a host whose speed drifts during the run
  # (2026-12-07: 243 GFLOP/s at the start, 318 at the end) then moves both alike. Each
  # round takes the best of five back-to-back products, as square_peak does: a single
  # product after the other contestants read 187 GFLOP/s where five read 271-281.
  square, square_best = course_runs.square_product(jnp.float32), []
  contestants["square"] = lambda: square_best.append(best_time(square, 5)[0])
  out = dict(race(contestants, sizes.repeats), iterations=iters)
  del out["square"]   # the probe's own wall time; its products are in square_best
  out["square_s"] = min(square_best)
  out.setdefault("torch_s", None)
  log(f"L-layer: {out}")
  return out


def measure_logistic(X, Y, sizes, machine, compiles, log):
  iters = sizes.logistic_iterations
  arch = logistic.architecture(X.shape[0])
  params = logistic.initialize_zeros(X.shape[0])
  Xj, Yj = jnp.asarray(X), jnp.asarray(Y)
  X64, Y64 = X.astype(np.float64), Y.astype(np.float64)
  contestants = {}
  contestants["manual_s"], compiles["logistic, manual"] = ours(
      arch, params, Xj, Yj, 0.005, iters, "manual", sizes)
  contestants["autodiff_s"], compiles["logistic, jax.grad"] = ours(
      arch, params, Xj, Yj, 0.005, iters, "autodiff", sizes)
  contestants["numpy32_s"] = lambda: numpy_reference.logistic_model(X, Y, iters,
                                                                    dtype=np.float32)
  contestants["numpy64_s"] = (lambda: numpy_reference.logistic_model(X64, Y64, iters),
                              sizes.reference_repeats)
  if torch_reference.available():
    contestants["torch_s"] = (lambda: torch_reference.logistic_model(X, Y, iters),
                              sizes.reference_repeats)
  contestants["bandwidth"] = lambda: machine.read_bandwidth(X)
  out = dict(race(contestants, sizes.short_repeats), iterations=iters, x_bytes=X.nbytes)
  out.setdefault("torch_s", None)
  log(f"logistic: {out}")
  return out


def sweep_problem(arch, X, Y, scheme, K, iterations):
  """Stacked params, learning rates 10^U[-4, -1] and the shared arrays of a K-model sweep."""
  hypers = sweep.random_search(K, seed=0, learning_rate_log10=(-4, -1))
  params = sweep.init_models(hypers.seed, arch.layer_dims, scheme)
  return params, jnp.asarray(hypers.learning_rate, jnp.float32), jnp.asarray(X), \
      jnp.asarray(Y)


def sweep_runner(arch, params, X, Y, lrs, iterations, first_layer, sizes):
  """(a function running one compiled K-model program, its compile seconds)."""
  compiled, compile_s = timed_compile(
      sweep.train_models_jit, params, X, Y, lrs, repeats=sizes.compile_repeats, arch=arch,
      num_iterations=iterations, record_every=iterations, first_layer=first_layer)
  return (lambda: compiled(params, X, Y, lrs)), compile_s


def sequential_runner(arch, params, X, Y, lrs, iterations):
  """A function making K sequential calls of the jitted single-model trainer."""
  K = lrs.shape[0]
  single = train.train_gd_jit.lower(sweep.model(params, 0), X, Y, lrs[0], arch=arch,
                                     num_iterations=iterations,
                                     record_every=iterations).compile()
  models = [sweep.model(params, k) for k in range(K)]
  return lambda: [single(models[k], X, Y, lrs[k]) for k in range(K)]


def measure_sweeps(X, Y, sizes, machine, compiles, log):
  K, its = sizes.sweep_models, sizes.sweep_iterations
  out = {"models": K}
  # Logistic regression: the vmapped trainer and the Gram form (what run_sweep picks).
  arch = logistic.architecture(X.shape[0])
  params, lrs, Xj, Yj = sweep_problem(arch, X, Y, "zeros", K, its["logistic"])
  contestants = {"sequential_s": sequential_runner(arch, params, Xj, Yj, lrs,
                                                   its["logistic"])}
  contestants["primal_s"], compiles[f"logistic sweep, {K} models"] = sweep_runner(
      arch, params, Xj, Yj, lrs, its["logistic"], "primal", sizes)
  contestants["gram_s"], compiles[f"logistic sweep, {K} models, Gram form"] = sweep_runner(
      arch, params, Xj, Yj, lrs, its["logistic"], "gram", sizes)
  out["logistic"] = dict(race(contestants, sizes.short_repeats),
                         iterations=its["logistic"])
  log(f"logistic sweep: {out['logistic']}")
  # The moons model on one core (the models split over the cores: see measure_cores).
  Xm, Ym = (a.astype(np.float32) for a in data.moons())
  arch = dense.Architecture.make(MOONS_NET)
  params, lrs, Xj, Yj = sweep_problem(arch, Xm, Ym, "he", K, its["moons"])
  contestants = {"sequential_s": sequential_runner(arch, params, Xj, Yj, lrs, its["moons"])}
  contestants["primal_s"], compiles[f"moons sweep, {K} models"] = sweep_runner(
      arch, params, Xj, Yj, lrs, its["moons"], "primal", sizes)
  out["moons"] = dict(race(contestants, sizes.short_repeats), iterations=its["moons"])
  log(f"moons sweep: {out['moons']}")
  # The cat net: its FLOP rate against the machine's for its (K * 20)-row products.
  arch = dense.Architecture.make(CAT_NET)
  params, lrs, Xj, Yj = sweep_problem(arch, X, Y, "xavier", K, its["l_layer"])
  contestants = {}
  contestants["primal_s"], compiles[f"L-layer sweep, {K} models"] = sweep_runner(
      arch, params, Xj, Yj, lrs, its["l_layer"], "primal", sizes)
  contestants["gram_s"], compiles[f"L-layer sweep, {K} models, Gram form"] = sweep_runner(
      arch, params, Xj, Yj, lrs, its["l_layer_gram"], "gram", sizes)
  contestants["matmul"] = lambda: machine.layer_one(K * CAT_NET[1], CAT_NET[0], X.shape[1])
  out["l_layer"] = dict(race(contestants, sizes.repeats), iterations=its["l_layer"],
                        gram_iterations=its["l_layer_gram"])
  log(f"L-layer sweep: {out['l_layer']}")
  return out


def child_env(environ, cores, xla_defaults, user_xla_flags):
  """The split-sweep child's environment: one JAX device per core; with
  ``xla_defaults`` False, the project's XLA options off (DLCOURSE_XLA_DEFAULTS=0) and
  XLA_FLAGS as the user set them before this process added the project's."""
  env = dict(environ, JAX_NUM_CPU_DEVICES=str(cores), JAX_PLATFORMS="cpu")
  if not xla_defaults:
    env[cli.XLA_DEFAULTS_ENV] = "0"
    env.pop("XLA_FLAGS", None)
    if user_xla_flags is not None:
      env["XLA_FLAGS"] = user_xla_flags
  return env


def measure_cores(sizes, log, xla_defaults=True):
  """The moons sweep with its models split over every core, measured in a child process
  in which each core is a JAX device (JAX fixes its device count at start-up); the child
  also times the sequential runs, so the ratio is measured in one environment.
  ``xla_defaults=False``: the child compiles with XLA's own options, as the library
  does outside the command line (DLCOURSE_XLA_DEFAULTS=0: XLA's fusion emitters)."""
  cores = os.cpu_count() or 1
  if cores < 2:
    return None
  env = child_env(os.environ, cores, xla_defaults, USER_XLA_FLAGS)
  args = [sys.executable, str(pathlib.Path(__file__).resolve()), "--child-cores",
          "--repeats", str(sizes.short_repeats)] + (["--quick"] if sizes is QUICK else [])
  try:
    done = subprocess.run(args, env=env, capture_output=True, text=True,
                          timeout=CHILD_TIMEOUT_S, check=True)
  except (subprocess.SubprocessError, OSError) as error:
    log(f"multi-core sweep skipped: {error}")
    return None
  result = json.loads(done.stdout.strip().splitlines()[-1])
  log(f"moons sweep over {cores} cores{'' if xla_defaults else ', XLA own options'}: "
      f"{result}")
  return result


def child_cores(sizes):
  """Runs inside the child: prints one JSON line of raw seconds."""
  K, iterations = sizes.sweep_models, sizes.sweep_iterations["moons"]
  devices = jax.device_count()
  Xm, Ym = (a.astype(np.float32) for a in data.moons())
  arch = dense.Architecture.make(MOONS_NET)
  params, lrs, Xj, Yj = sweep_problem(arch, Xm, Ym, "he", K, iterations)
  mesh = parallel.sweep_mesh(models=devices)
  split = sweep.shard_models(params, mesh), sweep.shard_models(lrs, mesh)
  X_all, Y_all = parallel.replicate(Xj, mesh), parallel.replicate(Yj, mesh)
  contestants = {"sequential_s": sequential_runner(arch, params, Xj, Yj, lrs, iterations)}
  contestants["split_s"], compile_s = sweep_runner(arch, split[0], X_all, Y_all, split[1],
                                                   iterations, "primal", sizes)
  print(json.dumps(dict(race(contestants, sizes.repeats), devices=devices,
                        iterations=iterations, models=K, compile_s=compile_s,
                        xla_flags=os.environ.get("XLA_FLAGS", ""))))


def measure_scaling(sizes, machine, compiles, log):
  """Time per iteration of the cat-shaped net as m and the first hidden width grow."""
  table = []
  rng = np.random.RandomState(0)
  cases = [(m, 20) for m in sizes.scaling_m] + [(209, n) for n in sizes.scaling_width
                                                if n != 20]
  for m, width in cases:
    dims = (12288, width, 7, 5, 1)
    X = jnp.asarray(rng.rand(12288, m).astype(np.float32))
    Y = jnp.asarray((rng.rand(1, m) > 0.5).astype(np.float32))
    arch = dense.Architecture.make(dims)
    params = xavier_params(dims)
    its = sizes.scaling_iterations
    compiled, compile_s = timed_compile(train.train_gd_jit, params, X, Y, 0.001,
                                        repeats=sizes.compile_repeats,
                                        arch=arch, num_iterations=its, record_every=its)
    seconds = race({"ours": lambda: compiled(params, X, Y, 0.001),
                    "matmul": lambda: machine.layer_one(width, 12288, m)},
                   sizes.repeats)["ours"]
    table.append({"m": m, "n_1": width, "dims": dims, "iterations": its,
                  "seconds": seconds, "compile_s": compile_s})
    compiles[f"L-layer n_1={width}, m={m}"] = compile_s
    log(f"scaling m={m} n_1={width}: {1e3 * seconds / its:.2f} ms/it")
  return table


# --- ratios and verdicts ------------------------------------------------------------

Row = course_runs.Target   # (name, value, ratio, target, met); met None: information


def _rate(x):
  return f"{x / 1e9:.1f} GFLOP/s"


def _check(name, value, ratio, target, at_most):
  return (course_runs.at_most if at_most else course_runs.at_least)(name, value, ratio,
                                                                     target)


def l_layer_rows(r, machine, m, run_peak):
  """``run_peak``: the best 2048^2 rate seen in the whole run (shown beside the one
  measured in the L-layer's own rounds, which the target reads)."""
  one = machine.best_layer_one(CAT_NET[1], CAT_NET[0], m)
  floor = flop_floor_seconds(CAT_NET, m, r["iterations"], one)
  square_peak = course_runs.square_flops(r["square_s"])
  peak_floor = net_flops(CAT_NET, m) * r["iterations"] / square_peak
  name = f"L-layer {list(CAT_NET)}, {r['iterations']} it"
  manual = r["manual_s"]
  rows = [
      Row(f"{name}: ours, manual backward", f"{manual:.3f} s"),
      Row(f"{name}: ours, jax.grad", f"{r['autodiff_s']:.3f} s"),
      Row(f"{name}: FLOP floor at the 2048^2 matmul peak (measured in the same rounds)",
          f"{peak_floor:.3f} s (peak {_rate(square_peak)}; best in the run "
          f"{_rate(run_peak)})"),
      _check(f"{name}: ours / FLOP floor at the 2048^2 peak", "", manual / peak_floor,
             1.5, True),
      Row(f"{name}: FLOP floor at these shapes' best speed",
          f"{floor:.3f} s (matmul {_rate(one.throughput)})"),
      Row(f"{name}: ours / FLOP floor at these shapes' best speed (no target)", "",
          manual / floor),
      _check(f"{name}: NumPy float64 / ours", f"{r['numpy64_s']:.3f} s",
             r["numpy64_s"] / manual, 4, False),
      _check(f"{name}: NumPy float32 / ours", f"{r['numpy32_s']:.3f} s",
             r["numpy32_s"] / manual, 2, False),
      _check(f"{name}: manual / jax.grad", "", manual / r["autodiff_s"], 1.10, True),
  ]
  if r["torch_s"] is None:
    rows.append(Row(f"{name}: PyTorch eager / ours", "skipped (torch not installed)"))
  else:
    rows.append(_check(f"{name}: PyTorch eager / ours", f"{r['torch_s']:.3f} s",
                       r["torch_s"] / manual, 2, False))
  rows.append(Row(f"{name}: ours / Gram-form trainer (same iterates; no target)",
                  f"{r['gram_s']:.3f} s", manual / r["gram_s"]))
  return rows


def logistic_rows(r, machine, x_shape):
  bandwidth = machine.bandwidths[x_shape]
  floor = 2 * r["x_bytes"] * r["iterations"] / bandwidth
  name = f"logistic regression, {r['iterations']} it"
  manual = r["manual_s"]
  rows = [
      Row(f"{name}: ours, manual backward", f"{manual:.3f} s"),
      Row(f"{name}: ours, jax.grad", f"{r['autodiff_s']:.3f} s"),
      Row(f"{name}: bytes floor", f"{floor:.3f} s (2 passes over X at "
          f"{bandwidth / 1e9:.0f} GB/s)"),
      _check(f"{name}: ours / bytes floor", "", manual / floor, 1.5, True),
      _check(f"{name}: NumPy float32 / ours", f"{r['numpy32_s']:.3f} s",
             r["numpy32_s"] / manual, 1, False),
      _check(f"{name}: manual / jax.grad", "", manual / r["autodiff_s"], 1.10, True),
      # Memory-bound: float64 moves twice the bytes, so ~2x is all float32 can gain.
      Row(f"{name}: NumPy float64 / ours (memory-bound: no target)",
          f"{r['numpy64_s']:.3f} s", r["numpy64_s"] / manual),
  ]
  if r["torch_s"] is not None:
    rows.append(Row(f"{name}: PyTorch eager / ours (no target)", f"{r['torch_s']:.3f} s",
                    r["torch_s"] / manual))
  return rows


def sweep_rows(s, cores, machine, m):
  K = s["models"]
  rows = []

  def rate(seconds, iterations):
    return f"{K * iterations / seconds:,.0f} model-it/s"

  r = s["logistic"]
  seq, it = r["sequential_s"], r["iterations"]
  rows.append(Row(f"logistic: {K} sequential jitted runs x {it} it", rate(seq, it)))
  rows.append(Row("logistic sweep, vmapped trainer / sequential (no target: see notes)",
                  rate(r["primal_s"], it), seq / r["primal_s"]))
  rows.append(_check("logistic sweep, Gram form (run_sweep's choice) / sequential",
                     rate(r["gram_s"], it), seq / r["gram_s"], 4, False))
  r = s["moons"]
  seq, it = r["sequential_s"], r["iterations"]
  rows.append(Row(f"moons [2,5,2,1]: {K} sequential jitted runs x {it} it", rate(seq, it)))
  one_core = seq / r["primal_s"]
  if cores is None:
    rows.append(_check("moons sweep, one device / sequential", rate(r["primal_s"], it),
                       one_core, 4, False))
  else:
    rows.append(Row("moons sweep, one device / sequential (no target)",
                    rate(r["primal_s"], it), one_core))
    rows.append(_check(f"moons sweep, models split over {cores['devices']} cores / "
                       f"sequential", rate(cores["split_s"], cores["iterations"]),
                       cores["sequential_s"] / cores["split_s"], 4, False))
    own = cores.get("xla_own")
    if own is not None:
      rows.append(Row("moons sweep split / sequential, both compiled with XLA's own fusion "
                      "emitters (the library's default outside the command line; no "
                      "target)", rate(own["split_s"], own["iterations"]),
                      own["sequential_s"] / own["split_s"]))
  r = s["l_layer"]
  one = machine.best_layer_one(K * CAT_NET[1], CAT_NET[0], m)
  achieved = K * net_flops(CAT_NET, m) * r["iterations"] / r["primal_s"]
  rows.append(_check(f"L-layer sweep, {K} models: FLOP rate / matmul throughput",
                     f"{_rate(achieved)} of {_rate(one.throughput)}",
                     achieved / one.throughput, 0.70, False))
  primal = K * r["iterations"] / r["primal_s"]
  gram = K * r["gram_iterations"] / r["gram_s"]
  rows.append(Row("L-layer sweep, Gram form / vmapped trainer (no target)",
                  f"{gram:,.0f} vs {primal:,.0f} model-it/s", gram / primal))
  return rows


def scaling_table(cases, machine):
  table = []
  for c in cases:
    one = machine.best_layer_one(c["n_1"], 12288, c["m"])
    floor = flop_floor_seconds(c["dims"], c["m"], c["iterations"], one)
    table.append({"m": c["m"], "n_1": c["n_1"],
                  "ms_per_it": 1e3 * c["seconds"] / c["iterations"],
                  "gflops": net_flops(c["dims"], c["m"]) * c["iterations"] / c["seconds"] / 1e9,
                  "floor_ratio": c["seconds"] / floor, "compile_s": c["compile_s"]})
  return table


# --- reporting --------------------------------------------------------------------

def _verdict(row):
  if row.met is None:
    return "info" if row.ratio is not None else ""
  return "met" if row.met else "MISSED"


def format_rows(rows):
  width = max(len(r.name) for r in rows)
  value_width = max(len(r.value) for r in rows)
  lines = [f"| {'measurement':<{width}} | {'value':<{value_width}} | {'ratio':>6} | "
           f"{'target':<7} | {'result':<6} |",
           f"|{'-' * (width + 2)}|{'-' * (value_width + 2)}|{'-' * 8}|{'-' * 9}|{'-' * 8}|"]
  for row in rows:
    ratio = "" if row.ratio is None else f"{row.ratio:.2f}"
    lines.append(f"| {row.name:<{width}} | {row.value:<{value_width}} | {ratio:>6} | "
                 f"{row.target:<7} | {_verdict(row):<6} |")
  return "\n".join(lines)


def format_compiles(compiles):
  lines = ["| program | compile (trace + lower + compile) | < 1 s |", "|---|---:|---|"]
  for name, seconds in compiles.items():
    lines.append(f"| {name} | {seconds:.3f} s | {'met' if seconds < 1 else 'MISSED'} |")
  return "\n".join(lines)


def format_scaling(table):
  lines = ["| m | n_1 | ms / iteration | GFLOP/s | time / FLOP floor | compile |",
           "|---:|---:|---:|---:|---:|---:|"]
  for r in table:
    lines.append(f"| {r['m']} | {r['n_1']} | {r['ms_per_it']:.2f} | {r['gflops']:.1f} | "
                 f"{r['floor_ratio']:.2f} | {r['compile_s']:.2f} s |")
  return "\n".join(lines)


def machine_description():
  model = "unknown CPU"
  try:
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
      if line.startswith("model name"):
        model = line.split(":", 1)[1].strip()
        break
  except OSError:
    pass
  memory = ""
  try:
    kb = int(pathlib.Path("/proc/meminfo").read_text().split()[1])
    memory = f", {kb / 2**20:.0f} GiB memory"
  except (OSError, ValueError, IndexError):
    pass
  return f"{model}, {os.cpu_count()} cores{memory}, {platform.system()} {platform.machine()}"


def versions():
  import jaxlib
  import ml_dtypes
  out = {"python": platform.python_version(), "jax": jax.__version__,
         "jaxlib": jaxlib.__version__, "ml_dtypes": ml_dtypes.__version__,
         "numpy": np.__version__,
         "backend": f"{jax.default_backend()} ({jax.device_count()} device)"}
  out["torch"] = torch_reference.version() if torch_reference.available() else "not installed"
  return out


NOTES = """\
* Floors: the FLOP floor charges the first layer's two products (W1 X and dZ1 X^T: ~98 %
  of the FLOPs) at the best speed measured for exactly those shapes in this run (XLA or
  NumPy's BLAS), and the other layers' FLOPs at the same rate. The bytes floor is two
  passes over X per iteration at the best read bandwidth measured over X itself (10 MB:
  it stays in L3 on these machines, so this is cache, not DRAM, bandwidth): the best
  of a sum of X's entries (XLA, NumPy) and, since 2026-12-07 (a later session), a
  product X^T w in blocks of 768 features (``Machine.read_bandwidth``): on the Zen 4
  the floor read 131-132 GB/s with it (~140 GB/s in a loop of its own) where the sums
  read X at 110-128 GB/s. The second
  L-layer floor charges every FLOP at the machine's 2048^2 matmul peak, measured in the
  L-layer's own rounds (since 2026-12-07; before, the best of the run's start and end,
  which on a drifting host could come from a faster spell than ours).
* The L-layer net since 2026-12-07: a float32 full-batch loop on two cores carries W1
  as two column blocks, [W_a W_b] over two halves of X's features, each an array of its
  own for the whole loop (``dense.ColumnBlocks``; see dense's "first layer in column
  blocks"): Z1 = W_a X_a + W_b X_b and dW_j = dZ1 X_j^T / m, two independent products per
  pass, and nothing joined or cut in the loop. The loop alone went from 1.26-1.29 to
  1.03-1.05 ms per iteration (the whole benchmark row 3.5-3.7 -> 2.8 s). Its profile
  (jax.profiler, 300 iterations): the forward's blocks 0.51-0.53 ms side by side, dW's
  blocks 0.47-0.50 ms, the two blocks' updates 0.05-0.06 ms each, ~0.05 ms the rest.
  Carrying the blocks transposed (W_j^T, so that dW_j^T = X_j dZ1^T reads X's own rows
  on the left and no block is transposed) was slower: 1.13-1.19 against 1.09-1.11 ms.
  Float64 gained nothing (2.78-2.88 ms either way). What is below is the history of the
  layout up to then.
* Why the L-layer net misses the 2048^2-peak floor and the NumPy ratios (profiled on a
  2-core Xeon with AVX-512, 2026-12-06, jax.profiler per operation): the two products
  with X are ~85 % of an iteration. XLA:CPU runs dots in YNNPACK, which repacks the
  *right-hand* operand on every call. With X there (W1 X in either stored order) the
  forward took 0.89-0.97 ms of a 1.75 ms iteration in float32; the same product with
  X as a compile-time constant (packed once) took 0.63 ms. So the forward now reads the
  examples-major copy on the left, (X^T W1^T)^T: 0.73 ms, the iteration 1.55 ms on two
  cores (2.99 -> 2.17 ms on one). What remains: the forward on two cores is only ~1.3x
  its one-core time (YNNPACK divides this product's work by the 20 output columns), the
  backward dZ1 X^T (0.59 ms) repacks X^T each call (0.49 ms when constant), and the
  W1 update (1 MB, one thread) takes ~0.08 ms. The forward's cap is its 20 output
  columns: the library's float32 kernels are 16 columns wide, so 20 cost nearly as much
  as 32. X^T (209 x 12288) times a 12288 x N right side on one pinned core (2026-12-06,
  night): 665 us at N = 16 (124 GFLOP/s), 1008 us at N = 20 (102), 1132 us at N = 32
  (145); unpinned, 640 / 808 / 998 us, the library giving one core 16 columns and the
  other 4 (hence the halves over the examples). In the loop (jax.profiler, 300
  iterations, 2 cores) an iteration was the forward's halves 0.61-0.67 ms side by side,
  dW's halves 0.51 ms, the W1 update 0.08 ms, the concatenation of dW's halves 0.06 ms
  and ~0.05 ms for the rest. Also tried then, each slower than the halves above (ms per
  iteration, interleaved with the code as it is, which took 1.34-1.44): dW^T = X dZ^T
  with X on the left (whole 1.48-1.59, in halves of the features 1.46-1.51), and dW in
  halves of the examples, summed (the forward's copies reused, no concatenation:
  1.50-1.63). Padding W1 to 32 rows was slower; so was fusing each iteration's
  backward with the next forward over blocks of X (2.5-5 ms).
  A first try at splitting the products by hand was slower too; measured again in the
  loop (2026-12-06, evening) with each half an array of its own, made once before the
  loop, two independent products run side by side on the two cores: the forward in
  halves of the examples and float32's dW in halves of the features took an iteration
  from 1.40 to 1.23-1.29 ms (float32), the float64 L-layer net's from 3.25 to 2.65 ms
  and the two-layer net's from 1.49 to 1.28-1.31 ms (``dense._halves``; float64's dW in
  halves was slower, and so were halves on one core and in a sweep). Float64 products
  run at 39-52 GFLOP/s per core (XT W^T and dZ XT); the two-layer net's 7-row products
  gained most from the examples-major order (one core: 3.9 -> 2.1 ms per iteration).
* The report's course rows: the row "the rows' work, core-s" sums what its rows cost on
  their pinned cores; its ratio is half of that, the least two workers can take. The
  float64 and float32 cat runs (C1W4) are about two thirds of it once warm. Until
  2026-12-06 a row also compiled ~40 single operations (initialization, accuracy and
  the decision-boundary grid evaluated op by op: 328 compiles for the generated-data
  rows in one worker, now 95), and the notebook's 10000 shuffles took 0.43 s per C2W2
  row (a RandomState built per epoch; one reseeded now: 13x faster). A C2W2 program (moons, Adam)
  spends ~80 % of its ~0.7 s compile in LLVM on ~100 fused kernels (one kernel per
  fusion; compile profile, 2026-12-04). Until 2026-12-06 its epoch held two traced
  copies of the step (the scan over the full batches, and the partial last batch, 300 =
  4 x 64 + 44); the partial batch is now padded to 64 columns and masked, one copy: on
  one idle core the Adam program's trace, lowering and compile took 0.71 -> 0.47 s
  JAX-keyed and 0.53-0.60 -> 0.34 s with the course's permutation table. LLVM at -O2 instead of -O3
  (the project's default now) took 0.80 to 0.73 s there and halved the MNIST-1D
  programs' compiles (the MLP's 1.61 to 0.66 s); their training ran within ~5 % (the
  search's step unchanged within noise, the all-tools row 3-5 % slower). A JAX-keyed C2W2 run
  spends two thirds of its training in the epochs' shuffles (67 against 23 us per epoch
  with a permutation table): jax.random.permutation sorts, and XLA:CPU's sort of 211
  keys takes ~34 us; drawing all 5000 epochs' permutations in one batched sort is no
  faster (171 ms for the 1.05 M keys). Since 2026-12-06 the runner draws them up front
  all the same (``minibatch.keyed_permutations``, the same bits; 0.16 s for 5000 x 300,
  its program compiled once per process in ~0.2 s; since 2026-12-07 each round of
  JAX's shuffle is one sort of uint64 words bits << 32 | position, the stable order
  of a key-value sort: 0.17 -> 0.05 s for 5000 x 300 on one core, and intro_letters'
  40 x 2912 table, two rounds, 0.035 -> 0.009 s): the sort leaves the training
  program, whose trace, lowering and compile took 0.37-0.45 -> 0.23-0.29 s (one idle
  core, JAX-keyed C2W2 rows). Since 2026-12-06 (night) the learning rate, decay rate and
  decay interval are the optimizer's state (``optax.inject_hyperparams`` over
  ``schedules.course_decay``), not constants: the 18 C2W2 rows lower to 8 programs, one
  per optimizer and precision, with the same costs to the bit. The other 10 rows' compile
  rows read ~0.1 s: their lowering and a hit in the compilation cache, which the report
  keeps on. The 8 that compile are the ones measured against 0.3 s. perf of the Adam
  program's XLA compile (2026-12-07, 20 compiles of 0.26 s, one core): LLVM ~50 % (IR
  passes 26 %, machine code 22 %), HLO passes 6 %. LLVM's own options
  (``--xla_backend_extra_options``) took it to 0.25 s (-fast-isel), 0.23 s (and no loop
  or SLP vectorizer) or 0.24 s (no machine scheduler), for slower kernels;
  ``--xla_backend_optimization_level=0`` to 0.11 s, but the row then trained in 0.52
  instead of 0.29 s (C2W1's dropout row 9.6 instead of 1.2 s).
  XLA:CPU's own options for the JAX-keyed Adam program (2026-12-07, one core; trace
  0.046 s, lowering 0.042 s, XLA 0.26 s): ``--xla_cpu_max_isa=AVX2`` and no
  concurrency-optimized scheduler changed nothing; through
  ``--xla_backend_extra_options``, ``xla_cpu_disable_loop_unrolling`` took XLA's part to
  0.24 s but trained C2W2's rows ~10 % slower and changed float results (C2W1's JAX
  dropout row 95.73 -> 95.26 % train), ``xla_cpu_use_multi_output_fusion`` 0.27-0.29 s,
  ``xla_cpu_flatten_after_fusion`` 0.34-0.40 s, ``xla_cpu_optimize_for_size`` and
  ``xla_cpu_disable_tiled_emitter`` no change. ``optax.flatten`` around the optimizer
  (one Adam kernel for the six leaves instead of ~18): ~10 % less to compile, the
  course's digits kept, but its state a flat vector, not the course's v["dW1"]; not
  taken.
* The warm report on the Zen 4 (2026-12-07): ~57 core-s of CPU (user + sys) for 28.4 s
  of wall, so the two cores stay busy throughout: the rows 53 core-s (42.7 training, of
  which the cat rows 33.5; 3.3 compiling, i.e. the lowering and a cache hit; 7.0 other,
  mostly figures and data), the main process's figures and the workers' start-up (~1 s
  each) the rest. Two rows were waste: C2W1's JAX-keyed dropout row trained 1.72 s, most
  of it JAX's Threefry hash rolled into a loop and emitted by the legacy emitters (a
  long run's compile then: 0.70 s; since 2026-12-07, late, its masks are drawn ahead:
  ``env.MASKS_AHEAD_MIN_DRAWS``), and C1W3's scikit-learn
  baseline ran in both modes for the same result, importing scikit-learn (0.7-0.9 s) in
  each worker that ran it (``Row.modes``: once now). The memory-bound rows pay for
  sharing the memory: the logistic rows trained 1.86 / 0.63 s (course / JAX) alone on
  one core and 2.4 / 1.0 s beside the other worker's cat rows; the float64 L-layer row
  15.9 s alone and 14.9-16.3 s beside them. Per-iteration choices measured and not
  taken (one core): the float32 two-layer net with 8 hidden units instead of 7 trains
  at 0.88 instead of 1.02 ms per iteration (the matrix library's 8-wide tiles), but
  padding the hidden layer means a loop layout for W1, b1 and W2 together, for ~0.3 s
  of one row; the float64 two-layer's dW1 as (X dZ1^T)^T, 1.40 -> 1.27 ms, with other
  bits.
* MNIST-1D's random search (24 masked [40, 256, 256, 10] nets, batches of 100), one core,
  per step (profile, 2026-12-04): ~45 % matrix products, ~20 % the dropout masks'
  random bits (JAX lowers threefry on the CPU as a rolled loop, 5 passes over the
  arrays in memory), ~30 % elementwise work (batch norm, Adam, ReLU), the rest copies.
  Since 2026-12-07 MNIST-1D's trainers lower the hash unrolled (``runner.long_runs``:
  the same bits, one straight-line kernel; passed to each long run's lowering, while
  every other program keeps JAX's loop, which compiles faster): one core each, the
  search trained in 83.6 -> 67.4 s, the all-tools row 21.1 -> 17.5 s and the dropout
  row 17.3 / 16.9 -> 14.2 / 13.1 s, with the same accuracies to the last digit.
  Unrolled, XLA fused each mask's hash into both its readers (forward and backward):
  since 2026-12-07 (later) the loop draws each step's masks a step ahead and carries
  them in (``loop``'s ``draw``; the same bits), one core, 200 epochs, 8 models: the
  dropout row 13.2 -> 11.0 s, the all-tools row 15.8 -> 13.4 s, and the search's four
  programs 59.8 -> 53.3 s (the two side by side), each compiling ~0.1-0.2 s longer. The
  backward's W^T dZ ran in XLA's generic dot (6.6 ms of 46) until a transposed copy
  gave it to the matrix library (``dense.transpose_times``: 9 % off the step). Since
  2026-12-06 (evening) the search trains its models in three width buckets (64, 128,
  256: ``mnist1d.width_buckets``), one program each: its 24 models' 100 epochs took
  115-121 s of training as one 256-wide program and 44.8 s as three (same process, one
  core, back to back), for ~5.5 s more compiling. Its initialization is a program of
  its own (``mnist1d.init_models``; ~0.8 s of the training program's compile with the
  emitters, ~0.4 s on its own with the default options).
* manual / jax.grad <= 1.10 reads "the hand-written backward is no more than 10 % slower".
* Logistic regression against NumPy float32 (target: at least as fast) is a race of two
  memory-bound loops over the same 10 MB X, two passes per iteration each: on the 2-core
  Xeon (2026-12-07) four back-to-back reruns of the measurement read ours 0.735-0.808 s
  against NumPy's 0.760-0.775 s (0.94-1.05x), so the verdict flips with the run. Tried
  for one pass over X per iteration (each block of examples' forward and dW while it is
  in cache; the same iterates): blocks of 16-105 examples as static slices, 0.76-1.50 s
  against 0.74 s for the plain loop; a loop over blocks, one or two chains, 1.65-2.81 s
  (each block's products run single-threaded outside the matrix library's fused path).
  On the Zen 4 (2026-12-07, two cores): each of the two products, in a loop of its own,
  reads X at 126-128 GB/s (81 us per pass); both together 168 us per iteration against
  the program's 185-188 us, the rest being the iteration's small kernels. Compiled
  with XLA's own fusion emitters the program ran in 0.364-0.365 s against 0.375-0.383 s
  (the same bits), NumPy in 0.355-0.357 s: still behind, so not taken. The loss's
  ``lax.cond`` costs nothing measurable here (185 vs 187 us per iteration computed
  always; the cat nets within 1 %).
* Logistic regression against NumPy float64 and PyTorch is memory-bound on both sides:
  float32 moves half the bytes of float64, so about 2x is the most it can gain; the 4x
  and 2x targets are read as the L-layer net's.
* Logistic sweep: the vmapped trainer turns 64 bandwidth-bound matrix-vector products
  into one compute-bound (64, 12288) x (12288, 209) product. At best matmul speed that is
  2 * 12288 * 209 * 2 FLOPs per model-iteration against two passes over X for a single
  run, i.e. at most ~4x on this machine, so it cannot reach 4x. ``run_sweep`` instead
  trains the first layer in its Gram form (``sweep.train_gram``: W1 = s W1_0 + C X^T,
  Z1 = s Z0 + C X^T X, the same iterates; m^2 instead of n_x m work per unit), which is
  what the target is measured on.
* Moons sweep: a single run of the [2,5,2,1] net costs ~5 us per iteration, almost all of
  it per-operation overhead on one core; vmap shares that overhead among the models. On
  one pinned core (2026-12-06) the vmapped trainer reached ~300 k model-it/s from 16
  models up (1.5x the sequential runs' ~200 k: 3.3 us per model-iteration, flat in the
  number of models); the one-device row above runs in an unpinned two-core process,
  where XLA's thread pool splits these small kernels and loses. Per iteration of 64
  models (profile, one core, ~250 us): the first layer's batched product ~46 us, the
  cost's log(1 + e^Z) ~44 us (computed every iteration: the loop keeps the first
  iteration's cost of each block), ReLU's backward ~32 us. Without the cost at all (a
  throwaway patch, J = 0; 2026-12-07, the child process of the split row, two runs
  each) the split sweep took 0.19-0.20 s against 0.22-0.27 s and the sequential runs
  0.61 against 0.70-0.72 s. Since 2026-12-07 (Zen 4 session) the loop computes the
  loss only on the iterations it records (``loop``'s ``need_cost``: a ``lax.cond``,
  one trace of the step, the same bits): on the Zen 4, in the split row's child, the
  sequential runs 0.71-0.74 -> 0.63-0.64 s and the split 0.215-0.227 -> 0.165-0.183 s
  (3.5-3.8x). That Zen 4 had read 4.07x on 2026-11-21, before the issue-10 work; a
  bisection over the history (the child of each commit's own benchmark, same host)
  put the loss in two places: the one training loop (5ba8364: sequential 0.56 ->
  0.71 s, split 0.116 -> 0.180 s; the cost computed every iteration since its blocks
  became one loop with a dynamic trip count, one trace of the step), and the
  command line's legacy fusion emitters (split 0.18 -> 0.215 s). XLA's own fusion
  emitters (not the project's legacy default) made the sweep 1.21x faster (302 k -> 366 k
  model-it/s) and the split over two cores 2.78x -> 3.26x the sequential runs (both
  compiled with them; Xeon); on the Zen 4 with the loss on demand, 0.120-0.123 s, 5.1x,
  for a compile of 0.33-0.35 s instead of 0.27 s: the info row after the split row
  measures this in the same run. Not adopted for these programs, which compile 2-3x
  slower with them and train for under a second. Split over the cores
  (``parallel.sweep_mesh(models=cores)`` in a process started with
  ``JAX_NUM_CPU_DEVICES=<cores>``) the halves run side by side; the sequential runs
  cannot use the second core. Also tried (2026-12-07, one pinned core, 64 models): the
  tiny layers' products written as unrolled sums of broadcasts (XLA fuses them with
  their neighbours): in the forward and W^T dZ, 298 k -> 340-347 k model-it/s (dW = dZ A^T
  as a broadcast-and-reduce too: 204 k; all three so: 46 k); YNN fusion types DOT or
  INDIVIDUAL_DOT alone: within 5 %; Eigen for every dot: 124-132 k. In the split child,
  ``--xla_cpu_multi_thread_eigen=false``: no change (2.90-2.97x against 2.99-3.01x).
  Per iteration of 32 models on one core (~105 us, jax.profiler): dW2's batched
  product 22 us, the cost's log(1 + e^-|z|) 22 us, ReLU's backward 16 us. Since the
  loss is computed on demand (Zen 4, 2026-12-07, the split child, ~80 us per iteration
  on each device): dW2's batched product (32 x [2, 300] x [300, 5], in YNNPACK) 27 us,
  ReLU's backward (a compare-select over 32 x 5 x 300) 17 us, the output layer's dZ 9
  us, about fifteen other kernels 1-5 us each.
* Report figures (2026-12-06): the per-row cost curves and decision boundaries skip
  tight_layout (fixed margins; it drew each figure once more to measure it: 99 -> 68 ms
  per decision boundary, 66 -> 41 ms per cost curve; a figure whose labels the fixed
  margins do not hold falls back to it), and the decision boundaries skip mathtext
  labels (66 -> 53-55 ms CPU). The report's timings take a row's totals once:
  intro_letters' totals and its two losses' stages were summed together before, twice
  its real compile and training time (its "wall - training" row read 1.4 s then).
* MNIST-1D's trainers (minutes of training) compile with XLA's own fusion emitters
  (``runner.long_run_compiler_options``): 10 epochs on one core trained 10-17 % faster
  and compiled ~1 s slower (1.2-1.5 -> 2.1-2.5 s); every other program keeps the legacy
  emitters. ``--xla_cpu_opt_preset=FAST_COMPILE`` changed neither (the MLP: 1.18-1.24 s
  with the emitters, 0.48-0.51 s without); perf finds no single hot spot in those
  compiles (per-kernel MLIR pattern sets and contexts, LLVM, Python). perf of the
  all-tools program's compile (2026-12-07, one core, 6 compiles of 1.9 s): LLVM 34 %
  (its IR passes 17 %, machine code 15 %), the emitters' MLIR passes 21 %, XLA's HLO
  passes 6 %, thunk emission 5 %; a pinned worker runs XLA's parallel codegen on its
  one core. With the dropout masks drawn ahead, the legacy emitters would compile the
  dropout row's program in 0.58-0.68 s instead of 1.5-1.7 s, and train it 13-16 %
  slower (100 epochs: 6.27-6.36 against 5.5-5.6 s): more than the compile saves.
  Measured again (2026-12-07, 40 epochs, one core, compile / training, with the
  emitters -> without): the MLP 1.37 / 1.72 -> 0.70 / 2.10 s, dropout 1.93 / 2.22 ->
  0.95 / 2.73 s, batch norm 1.65 / 2.35 -> 0.92 / 2.63 s, all tools 2.14 / 2.55 ->
  1.26 / 3.04 s (still over 1 s, and its float32 results changed: train 94.85 ->
  94.83 %); LLVM at -O1 for these programs changed neither figure.
* Other matrix libraries for the L-layer net's dots (2026-12-06, late; float32, two cores,
  ms per iteration): YNNPACK (XLA's default) 1.47, Eigen
  (``--xla_cpu_experimental_ynn_fusion_type=``) 1.61, XNNPACK 1.58, oneDNN 3.41; the
  default stays. Float64's dots run in YNNPACK too (``ynn_fusion`` in the compiled
  HLO; an earlier note here said Eigen): with XLA's YNN fusions off (Eigen), the
  float64 two-layer loop took 3.56 instead of 1.27 ms per iteration and the L-layer
  5.83 instead of 3.71 ms (two cores, Zen 4, 2026-12-07). One core, the forward
  X^T W1^T at 39 GFLOP/s against 57 for the backward's dZ1 X^T (its K is 209, not
  12288), with ~62 GFLOP/s per core at 2048^2: the float64 forward is the float64 rows'
  gap. Not X's repacking: the forward summed over blocks of X's features that each
  stay in L2 (512-2048 of them, one array each) took 2.52-2.64 ms against 2.58 ms whole
  (one core, 2026-12-07), and dW in column blocks 1.99-2.06 against 1.98 ms; it is the
  library's kernel on these shapes (~40 GFLOP/s). On the Zen 4 (2026-12-07, one pinned
  core; 2048^2 float64 at 47-50 GFLOP/s per core): X^T W1^T at 37.6 and dZ1 X^T at 38.5
  GFLOP/s with 20 rows; with the two-layer net's 7 rows the forward 38.9 but dZ1 X^T
  19.2 (NumPy's BLAS: 26-34 and 12.5-21). Padding dZ1 to 8 rows took that product
  1.75 -> 1.53 ms, and X dZ1^T (8 rows) 1.34 ms; not taken: ~0.3 ms of a 2.7 ms
  iteration once transposed back, for one net's float64 rows and another rounding.
  What did help there (2026-12-07, afternoon): float64 loops on two cores carry W1 in
  the float32 loops' column blocks (``dense.splits_first_layer``), each block's two
  products side by side: the course-compatible C1W4 runs, back to back in one process,
  4.50-4.53 -> 3.55-3.64 s (two-layer) and 9.0-11.3 -> 8.1-9.3 s (L-layer), with the
  course's digits (the last cost 0.04855478562877006 -> ...004). On the Xeon the same
  blocks had measured even in float64 (2.78-2.88 ms per iteration either way). Where
  the two-layer's time goes now (jax.profiler, 200 iterations, Zen 4): per iteration
  the two blocks' dZ1 X_j^T products 0.80 ms each and their forwards 0.50 ms each,
  side by side, the rest ~0.1 ms; alone on one core the same products take 0.53 and
  0.44 ms, so running both blocks at once costs each ~30 % (they share the memory
  system: X^T in float64 is 20.5 MB). dW_j^T = X_j dZ1^T from the stored X_j^T (the
  library reading its left operand transposed) took 1.65 against 0.53 ms.
* Start-up (2026-12-06, late): ml_dtypes 0.7.0 took ~0.5 s to import (perf: numpy's
  ``PyUFunc_AddLoop``; 0.6.0: 3 ms), paid by every process that imports JAX, so
  pyproject.toml keeps it below 0.7: a report worker's start went from 0.92-1.00 to
  0.40 s, the course rows' warm report from 31.2 to 30.3 s (one host, back to back). A
  process that runs rows then freezes its imports' objects and collects its youngest
  generation every 10000 allocations (``runner.cli.settle_gc``): the five first-lesson
  rows on one core spent 0.34 s in the garbage collector, now 0.08 s (gc.callbacks; plus
  one full collection before the freeze, once per process);
  the warm report's CPU time read 56.2-57.8 -> 55.4-55.5 core-s. Since then the
  one-worker runs (the later experiments' rows above) import matplotlib before their
  first row, ~0.25 s that intro_letters' row, the first, used to carry.
* Dropout's random bits (MNIST-1D): JAX's "rbg" and "unsafe_rbg" keys trained the
  dropout row 1.6-1.8x slower on the CPU than threefry (10 epochs, one core: 1.33-1.45
  against 0.81 s), so the default keys stay. Threefry unrolled in every program (tried
  process-wide, 2026-12-07) made a 3-layer net's initialization compile in 0.45-0.83
  instead of 0.27-0.33 s, so only the long runs take it.
* Initialization programs' random draws (2026-12-07, morning): on the CPU each draw of
  random bits is one more Threefry loop for XLA to compile (~45 ms each, one core),
  while hashing a layer's values takes microseconds. Threefry's counters are each
  element's flat index, so a draw of shape (n, m) is the first n m values of a longer
  draw with the same key: ``draws.stacked`` draws a net's layers (one key each) as one
  vmapped (L, N) draw and cuts each array out of its row, the same bits
  (tests/test_draws.py, and the inits and masks against one draw per array). He-type
  inits draw the uniforms stacked and apply JAX's sqrt(2) erfinv(u) per array, so that
  XLA folds the scheme's factor (and a masked net's rescale) into sqrt(2) as before;
  drawing the normals stacked changed some weights by 1 ulp. MNIST-1D's init programs
  (eight [40, 100, 100, 10] nets, one core) compiled in 0.34-0.42 -> 0.23-0.26 s, the
  softmax regression's 0.23 -> 0.19-0.21 s; the MNIST-1D rows' "wall - training"
  read 23.7 -> 21.7 s in the benchmark (a faster spell of the host too), with the same
  accuracies to the last digit. Its training programs, whose dropout masks are now one
  draw per step for both hidden layers, compiled and trained within noise of before.
* Eager operations outside the programs (2026-12-07, morning): every jnp operation run
  op by op compiles a program of its own the first time it meets a shape (~10 ms each
  on one core). The first lesson's circle-area app ran its gradient check, the optimum's
  cost and its descents' inputs op by op: ~40 programs; now three (its row's "wall -
  training" 1.51-1.58 -> 0.89 s). A fit's divergence check ran isfinite and all per
  parameter (12 programs for C2W2's six leaves; now one per params structure), the
  hand-written optimizers made their state's zeros per leaf (6; now on the host,
  ``arrays.zeros_like``), and the gradient-checking app raveled its params to read
  their dtype (7; now none): a C2W2 command-line run compiles 8 programs instead of 25
  (1.80-1.86 -> 1.71-1.77 s with a warm compilation cache), c2w1_gradient_checking 5
  instead of 28. The report's course rows did not move (11.4-11.7 s on generated data,
  back to back): a worker already shared these programs among its rows.
* The course-compatible float64 rows' floor (since 2026-12-07, evening): every FLOP at
  the 2048^2 float64 peak measured in the same rounds. On the Zen 4 (one check run, peak
  95.6-99.8 GFLOP/s) the L-layer net's floor is 5.4 s: NumPy's 13.7 s is 2.54x it, so
  "NumPy / ours >= 2" asks for a loop within 1.27x of the float64 peak on products of
  20 columns, where the matrix library's kernel runs at ~78 % of its square-product
  speed (37.6-38.5 against 47-50 GFLOP/s per core, above); ours ran at 1.48x the floor
  (8.0 s), the two-layer net at 1.68x (3.0 s, NumPy 3.72x). The float32 L-layer net
  runs at 1.17x its floor.
* Measured and not taken (2026-12-07, evening, Zen 4, one pinned core unless said):
  XLA:CPU's small-while-loop hoisting (``--xla_backend_extra_options=
  xla_cpu_small_while_loop_byte_threshold=1e8``), which emits a whole small loop as one
  kernel, cannot take a loop holding a matrix-library (YNN) product; with YNN off as
  well, C2W2's mini-batch rows trained 0.12-0.16 -> 0.075-0.11 s each (the course's
  digits kept), but C2W1's full-batch football rows 0.13-0.69 -> 0.33-1.09 s, and the
  float32 rows rounded differently (C2W1's JAX L2 row 92.42 -> 92.89 % train); the
  programs compiled 0.24 s faster to 0.08 s slower: not taken. ``dense.transpose_times``' copy for
  MNIST-1D's 100-wide nets (vmapped over 8 models each product is 8x larger than the
  per-model size the threshold sees): 40 epochs, the MLP trained 1.51-1.52 -> 1.45-1.48
  s and the all-tools net 2.28-2.30 -> 2.22-2.26 s, but the latter compiled 2.12-2.14
  -> 2.30-2.35 s: a wash at 200 epochs, not taken. JAX's rolled Threefry loop for the
  tiny draws that derive keys (fold_in, split), unrolled in MNIST-1D's init program
  (four of its five loops): compile 0.27 -> 0.24 s, the same bits; ~0.03 s a program,
  not taken. ``--xla_llvm_disable_expensive_passes``: C2W2's course Adam program
  compiled in 0.396-0.398 s either way. ``xla_cpu_use_multi_output_fusion`` for
  MNIST-1D's MLP (Adam's three kernels per leaf: m, v and the update): training
  1.51-1.52 against 1.52-1.53 s. Logistic regression's loop, per iteration
  (jax.profiler, 2000 iterations, two cores): dW's product 93 us and the forward's 79
  us of ~185 us, W's update 5 us, ~10 small kernels ~1 us each; each product alone in
  a loop of its own reads X in 79.5-81.5 us, and the course's order is no faster (X
  dZ^T 86 us, w^T X 165 us).
* The legacy fusion emitters' elementwise kernels (2026-12-07, evening, Zen 4, one
  core): LLVM vectorizes them behind a run-time check that the output buffer differs
  from every input's, and runs a scalar loop when it does not, as when XLA updates a
  loop-carried array in place. intro_letters' Adam update of W1 (64 x 1210: W +
  (-lr) m c1 / (sqrt(v c2) + eps)) took 178 us per step that way (0.65 of the row's 1.6
  s per net; the same kernel in a loop of its own: 176 us legacy, 23 us with XLA's own
  emitters, 84 us NumPy). Compiled with XLA's own emitters throughout the row trained
  in 1.86-1.91 instead of 3.17-3.20 s but compiled in 2.03-2.22 instead of 0.88-0.90 s
  (three programs), the same accuracies: a wash for this row. In a loop of its own (77,440 entries, legacy emitters), W + sqrt(v s_t)
  written in place took 106 us and 19.6 us when the loop also carried the old W (so
  the kernel had to write elsewhere), against 13.6 us with XLA's emitters; w s_t + v in
  place 22.4 against 5.9 us. In the training step an optimization barrier around the
  old W, or around Adam's updates, left the kernel as it was (XLA fused the update
  into the in-place write all the same), so there is no cheap way around it from JAX.
  What does help: YNNPACK's elementwise fusions (``--xla_cpu_experimental_ynn_fusion_
  type`` with ELTWISE beside the default INDIVIDUAL_DOT), whose kernels write in place
  at full speed: the same kernel 106 -> 27 us, w s_t + v 22.4 -> 7.0 us. Since
  2026-12-07 (evening) a float32 mini-batch program whose largest parameter has 2^14
  entries or more compiles with them (``cli.elementwise_compiler_options``):
  intro_letters' row (one core, cold) trained 3.17-3.33 -> 2.07-2.17 s and compiled
  0.88-1.06 -> 0.76-0.85 s, with the same accuracies to the last digit. Process-wide
  the option slowed the float64 course-compatible cat rows by ~5 % (the L-layer 15.1-15.9
  -> 16.0-16.7 s on one core), C2W1's football rows by 10-30 % (small arrays) and the
  course's float64 logistic regression (1.84 -> 2.13 s in one run of two), so nothing
  else takes it. The keyed shuffles' table (``minibatch.keyed_permutations``, a few large
  Threefry draws and a sort) compiles with the hash unrolled since then
  (``long_runs.compile_hashing``; the same permutations): in a report worker
  intro_letters' 0.31 -> 0.19 s and C2W2's 0.21 -> 0.14 s, the rows' compile 0.82 ->
  0.66 s (letters) and 0.51 -> 0.42 s (C2W2's JAX-keyed GD, the first to draw). The C1W4 cat nets' updates are not hurt measurably (float64 on one
  core: W1's update 119 against 90 us of a 6-7 ms iteration; float32 on two cores:
  2.85-3.25 against 2.72-2.89 s for 2500 iterations), nor C2W1's digits (0.70 / 0.45 s
  training either way).
* C2W1's JAX-keyed dropout row (2026-12-07, late, Zen 4): its full-batch loop drew each
  step's masks (30000 steps of 4853 entries) with JAX's Threefry hash inside the step;
  since then ``env.fit_gd`` draws a chunk's masks before its loop in a program that only
  hashes (``train.dropout_masks_ahead``, compiled with the hash unrolled) and trains in
  a program that holds no hash (``run(..., noise=...)``), for a fit of
  ``env.MASKS_AHEAD_MIN_DRAWS`` entries or more. One pinned core, ten chunks: as a long
  run (the hash unrolled in the loop, XLA's own emitters) it compiled in 0.79-0.86 s and
  trained in 0.71 s; drawn ahead, 0.19-0.25 s (masks) + 0.37 s (training) compiling and
  0.53 s training, 0.21 s of it hashing, the costs and parameters the same to the bit.
  Its command line on two cores: compile 0.53-0.56 -> 0.44-0.46 s (the training program
  0.28-0.29 s), training 0.70-1.31 -> 0.43 s, 95.73 % train and cost 0.167994 either way.
* Measured and not taken (2026-12-07, late, Zen 4; one pinned core unless said):
  - Compile time per kernel. A program of k independent [5, 64] float64 kernels
    compiled in ~3.5 ms per elementwise kernel and ~13 ms per row sum over 64 columns:
    XLA:CPU rewrites a reduction of 32 or more terms as a reduce-window of width 32 (an
    unfused kernel of its own, ~15 KB of optimized LLVM IR) then a reduce.
    ``--xla_disable_hlo_passes=tree_reduction_rewriter`` took ten such sums 0.148 ->
    0.046 s, but C2W2's course Adam program only 0.28 -> 0.27 s and its GD program 0.225
    -> 0.21 s (five reduce-windows each), and it changes the summation order of every
    large sum: not taken. LLVM at -O1: the Adam row's compile_s 0.38-0.39 against
    0.41-0.43 s. The float64 W^T dZ of the moons net (5 x 64, XLA's naive dot emitter,
    the program's largest kernel at 54 KB of IR) through a transposed copy: 0.277 ->
    0.265 s. The Adam program's trace and lowering (~0.086 s of its ~0.36 s) are spread
    over JAX's own tracing and MLIR lowering.
  - Logistic regression. NumPy's float32 products (OpenBLAS, two threads) read X in
    72-77 us each, XLA's (YNNPACK) in ~80 us: the 8 % between them is the race. The
    products as XLA reductions (multiply-and-sum fusions, either layout of X) took the
    2000 iterations 0.68-0.77 s against 0.346 s; YNNPACK's dots off, 0.39-0.44 s.
  - The float64 first layer. YNNPACK's float64 kernel takes the forward's 20 output
    columns as if they were 24-32 (two cores, X^T (209 x 12288) times W1^T: n_1 = 16
    1.25 ms, 20 2.02 ms, 24 2.05 ms, 4 0.44 ms); as 16 + 4 columns the whole product
    takes 1.69 ms, but the column-blocks loop already runs it as two halves side by
    side in 1.55 ms, where the 16 + 4 split gains nothing (1.55-1.60 ms; 8 + 8 + 4:
    1.95-2.03 ms), and the course-compatible L-layer run read 7.88-9.16 s split against
    8.36-8.80 s (noise). The course's order for the float64 blocks, W_j X_j from row
    blocks of X (1.35-1.60 ms in a loop of its own against 1.555 ms), trained that row
    in 8.71-9.22 s against 7.27-7.45 s (four alternations in one process): not taken.
  - MNIST-1D's emitters. The all-tools row, 40 epochs: 2.80 s of training with XLA's
    own emitters, 3.36 s with the legacy ones (jax.profiler). The difference is in the
    vmapped [8, 100, 100] elementwise kernels: batch norm's and ReLU's backward
    (``multiply_select_fusion``) 62 us a call legacy against under 13 us, Adam's
    moment updates of W2 45-60 against ~14 us. XLA writes each of them over an operand
    that dies there (the buffer assignment puts batch norm's backward in the buffer of
    the dot before it): the in-place case of the note above. The emitters that avoid it
    are what keep these programs over 1 s to compile.
  - The moons random search on the command line with the models split over two
    devices: XLA's own emitters trained it in 0.68 instead of 0.90 s and compiled it in
    0.45 instead of 0.36 s; unsplit, 1.89 against 2.03 s for 0.47 against 0.34 s of
    compile; the cats search trained slower with them in its Gram form (9.44 against
    8.18 s) and the same in its primal form (200 iterations: 16.16-16.23 against
    16.26-16.29 s, for 0.11 s more compiling).
    A rule for small nets' sweeps alone would save ~0.1 s a run: not taken.
  - intro_letters' row beyond its training (2.5 s, target 1 s): generating the images
    0.41-0.62 s when the cache is cold (the bilinear warp 0.33 s: NumPy gathers over
    3276 images x 4840 sub-pixels, kept for its bits), four figures ~0.6 s (each
    confusion matrix 0.14 s, the image grid 0.16-0.21 s, the cost curve 0.05 s, plus
    the first figure's ~0.08 s of matplotlib set-up), compiling 0.67 s (four programs)
    and evaluating 0.15 s.
* Measured and not taken (2026-12-07, a later session, Zen 4; two cores unless said):
  - Logistic regression in column blocks. With w cut into blocks of 768 features, each
    carried as a vector of its own (the ``dense.ColumnBlocks`` of the L-layer net, but
    16 of them), the float32 loop trained in 0.267-0.286 s against 0.365-0.371 s (the
    hand-written backward; jax.grad's 0.269-0.277 against 0.365-0.373), and in this
    benchmark's own measurement 0.274-0.284 s against NumPy's 0.351-0.357 s (1.26-1.28x
    where the whole loop reads 0.90-0.96x); float64 0.79-0.90 against 0.88-1.04 s. The
    gain is XLA's: below ~1100-1200 features per block it emits each block's
    matrix-vector product as a kernel of its own (a tiled loop in LLVM IR) instead of
    calling the matrix library, and runs the blocks side by side (blocks of 1536
    features took 0.51-0.56 s, of 1229 0.39-0.43 s, of 1118 0.30-0.32 s). Not taken,
    for two reasons. Its 32 product kernels compile in 0.57-0.66 s against 0.13-0.16 s
    for the whole loop, more than a cold 2000-iteration run saves (the command line's
    C1W2 row: compile 0.16-0.19 -> 0.71-0.89 s cold). And the runner's programs take
    lambda as a traced value (one program for a row with L2 and one without): with it
    the loop copied every block at every iteration (the L2 term's conditional reads
    them while the update writes them in place) and ran slower than whole, 0.50-0.51
    against 0.39-0.44 s.
  - A traced lambda of 0 in the cat loops (the runner's full-batch programs) against a
    static 0: the float32 L-layer net, 500 iterations, 0.61-0.71 against 0.56-0.60 s;
    float64, 1000 iterations, 3.37-3.46 against 3.24-3.74 s (noise-level). A static 0
    changed the float32 JAX rows' roundings (C1W4's L-layer cost at 2400: 0.070291 ->
    0.068763) and would cost C2W1's L2 rows their shared program: not taken.
  - Logistic regression as a plain loop (w a vector, the two products written out)
    trained in 0.343-0.349 s against ours 0.364-0.372 s: XLA compiles our dW as a
    [209] x [209, 12288] vector-matrix product (87 us a call) and the plain loop's as
    [209, 1]^T x [209, 12288] (80 us). Written as a column or behind a barrier in
    ``dense``, ours stayed XLA's one-dimensional form.
  - Small programs' compile. C2W2's course Adam program, XLA's part alone (one pinned
    core, best of five): 0.280 s; LLVM -O1 0.260, -O0 0.105 (but the row trained in
    0.34 instead of 0.15 s); -fast-isel 0.258; no loop or SLP vectorizer 0.260; both
    and no machine schedulers 0.245; ``xla_cpu_disable_loop_unrolling`` 0.261;
    ``xla_cpu_optimize_for_size`` 0.274. The padded batch's kept count (a convert, a
    reduce-window and a reduce every step) replaced by a constant: the row's compile_s
    0.385-0.395 -> 0.373-0.376 s. Tracing takes 0.05 s and lowering 0.04 s. Nothing
    short of -O0 brings the row under 0.3 s.
  - The moons random search's training program alone compiled with XLA's own emitters
    (the command line, the same ranking and accuracies): split over two devices,
    compile 0.33-0.38 -> 0.48-0.49 s and training 0.90-0.95 -> 0.72-0.74 s; on one
    device 0.30-0.33 -> 0.44 s and 2.0-2.5 -> 1.95-2.07 s. About 0.1 s a run at best,
    for a program already over the small nets' 0.3 s: still not taken (the moons split
    row would read ~5x instead of 3.95-3.98x).
  - MNIST-1D with the legacy emitters and YNNPACK's elementwise fusions (40 epochs, the
    MLP, one core): compile 0.75 s, as with the legacy emitters alone, but training
    2.37 s against 2.22 s (legacy) and 1.88 s (XLA's own emitters), and other test
    accuracies (63.61 -> 63.69 %). ``xla_cpu_emitter_verification_level`` 0 or 2 left
    the emitters' compile at 1.43-1.50 s.
* Measured and not taken (2026-12-07, the session after; Zen 4, a host in a slow spell):
  - Logistic regression's w in column blocks, again (random X of the cats' shape, a
    plain float32 loop of 2000 iterations with 1-D blocks, two cores): 9, 10, 11, 12 and
    16 blocks trained in 0.31, 0.28, 0.34, 0.29 and 0.25 s (compile 0.42-0.53 s)
    against 0.34-0.43 s whole (compile 0.11-0.15 s); an earlier pass read 4 blocks 0.31
    then 0.42 s and 8 blocks 0.50-0.52 s. No clean threshold in the block size shows
    through this host's noise. The compiled programs hold plain dots, no YNNPACK
    fusions, with or without ``xla_cpu_experimental_ynn_fusion_type=`` (off). Through
    the library's own path (``dense.ColumnBlocks`` of (1, 768) blocks, each product
    behind a barrier) 16 blocks trained slower than whole: 0.51-0.54 against
    0.37-0.40 s, compiling in 0.89-1.02 against 0.28-0.35 s. A scan over the blocks
    (each block's dw, update and next forward in turn, so that a block is read once per
    iteration while in cache) took 0.92-1.23 s: the scan copies each block it slices.
  - The float64 first layer on one pinned core (the report's workers run so), X^T
    (209 x 12288) times a 12288 x N matrix: N = 8 1.02 ms, 16 1.80, 20 3.13, 24 3.02,
    32 3.36, 64 6.99 ms (33-49 GFLOP/s; the 2048^2 float64 product 44.3 GFLOP/s on
    that core); the course's order W1 X 25 GFLOP/s. W1 as 16 + 4 rows: the forward
    3.02 -> 2.71 ms with other bits, dW1 3.18 -> 4.63 ms (the same bits); float32 1.17
    -> 1.18 and 1.86 -> 1.65 ms. Not taken.
  - An AVX2 stand-in: ``--xla_cpu_max_isa=AVX2`` with OpenBLAS held to its Haswell
    kernels left the 2048^2 float32 product at 194 against 197 GFLOP/s (XLA) and 182
    against 189 (NumPy): the Zen 4 runs AVX-512 on 256-bit units, so it cannot stand
    in for a Zen 3, which this project's benchmark has still to meet.
"""


# What the profiles say about each target that has missed (the notes above hold the
# detail): RESULTS.md prints it beside the miss. A miss that no entry explains prints
# NO_PROFILE, and tests/test_benchmark_results.py fails on any MISSED row of RESULTS.md
# without an entry: profile a new miss before reading anything into it.
MISSED_WHY = (
    (r"^L-layer \[[\d, ]+\], \d+ it: (ours / FLOP floor at the 2048\^2 peak|"
     r"NumPy float(32|64) / ours)$",
     "The two products with X take ~85 % of an iteration (jax.profiler per operation, "
     "2-core Xeon, 2026-12-06), and the first layer's 20 units fill two of the matrix "
     "library's 16-column float32 kernels: X^T W1^T on one core took 665 us at 16 "
     "columns, 1008 us at 20, 1132 us at 32. On the Zen 4 ours runs at 1.12-1.35x the "
     "2048^2-peak floor, and NumPy's own loop times vary by a third between runs on "
     "these shared hosts, so the NumPy ratios move with NumPy's time. Notes: 'Why the "
     "L-layer net misses'."),
    (r"^logistic regression, \d+ it: (NumPy float32 / ours|ours / bytes floor)$",
     "Both loops are bound by reading X (10 MB, from cache) twice per iteration: "
     "NumPy's two-thread OpenBLAS products read it in 72-77 us each, XLA's (YNNPACK) in "
     "~80 us (Zen 4, 2026-12-07), and ours runs at 1.19-1.31x the bytes floor, so the "
     "verdict flips with the run. W in 16 column blocks ran 1.26-1.28x NumPy, for "
     "0.4-0.5 s more compiling and a copy of every block per iteration under the "
     "runner's traced lambda. Notes: 'Logistic regression against NumPy float32', "
     "'Measured and not taken'."),
    (r"^moons sweep, models split over \d+ cores / sequential$",
     "A [2, 5, 2, 1] step is dozens of kernels of a few microseconds (jax.profiler: "
     "dW2's batched product 27 us, ReLU's backward 17 us, ~15 others 1-5 us per "
     "iteration of 32 models). The command line's legacy fusion emitters, kept because "
     "these programs compile 2-3x faster with them, run those kernels slower than XLA's "
     "own: the info row after this one, compiled with XLA's own, reads 3.64-5.22x. "
     "Notes: 'Moons sweep'."),
    (r"^course-compatible float64, .*: NumPy float64 / ours$",
     "The L-layer net: NumPy's own float64 loop is only 2.3-2.9x the float64 FLOP "
     "floor, so 2x asks for a loop within 1.14-1.45x of the 2048^2 float64 peak, on a "
     "first layer whose 20 output columns the matrix library's float64 kernel runs as "
     "24 (one core, X^T times a 12288 x N matrix: 1.80 ms at N = 16, 3.02-3.13 ms at "
     "20, 3.02 ms at 24; Zen 4, 2026-12-07); ours ran at 1.49-1.95x the floor. The "
     "two-layer net (met in most runs) has more room, NumPy reading 3.7-4.8x its floor, "
     "and misses when the host slows ours (1.68-2.50x its floor). "
     "Notes: 'The course-compatible float64 rows' floor', 'The float64 first layer'."),
    (r"^report, course rows, all data, warm",
     "About 57 core-seconds of work for two cores (the rows 53: training 42.7, of "
     "which the cat rows 33.5; lowering and compilation-cache hits 3.3; figures and "
     "data 7.0; Zen 4, 2026-12-07), so two workers need ~28.5 s at best: the target "
     "holds only while the host runs at its faster speed. Notes: 'The warm report on "
     "the Zen 4'."),
    (r"^report, mnist1d: wall - training",
     "Compiling: MNIST-1D's trainers compile with XLA's own fusion emitters, 19-23 s "
     "over its rows (about half of it the search's 8 programs). The emitters double "
     "each compile (perf: LLVM 34 %, their MLIR passes 21 %) and train 10-17 % faster, "
     "which over the rows' ~130 s of training saves more than it costs. Notes: "
     "'MNIST-1D's trainers'."),
    (r"^report, intro_letters: wall - training",
     "Beyond training: generating the images 0.41-0.62 s with a cold cache (the "
     "bilinear warp, kept for its bits), four figures ~0.6 s, compiling 0.67 s (four "
     "programs), evaluating 0.15 s. Notes: 'Measured and not taken' (intro_letters' "
     "row)."),
    (r"^compile: report row mnist1d_",
     "XLA's own fusion emitters (the MNIST-1D row above): with the legacy ones the MLP "
     "compiled in 0.70 instead of 1.37 s and trained 22 % slower (40 epochs, one core, "
     "2026-12-07). Notes: 'MNIST-1D's trainers'."),
    (r"^compile: report row (c1w|c2w)",
     "A small net's program is ~100 fused kernels: XLA's part of C2W2's Adam program "
     "takes 0.26-0.28 s on one core, half of it LLVM (perf), after 0.05 s of tracing "
     "and 0.04 s of lowering; among LLVM's and XLA's options only -O0 brings it under "
     "0.3 s, and then these rows train ~2x slower. Notes: 'Small programs' compile'."),
)
NO_PROFILE = "no profile recorded for this miss: profile it before reading into it"


def why_missed(name):
  """What the profiles say about a missed target ``name`` (``MISSED_WHY``), or None."""
  return next((why for pattern, why in MISSED_WHY if re.search(pattern, name)), None)


def missed_table(misses):
  """Markdown: the missed targets ((name, figure) pairs), grouped by what explains them."""
  if not misses:
    return "Missed: none."
  groups = {}
  for name, figure in misses:
    groups.setdefault(why_missed(name) or NO_PROFILE, []).append(f"{name} ({figure})")
  lines = ["### Missed targets, and what the profiles say", "",
           "| missed in this run (figure, target) | what the profiles say |", "|---|---|"]
  for why, names in groups.items():
    lines.append(f"| {'; '.join(names)} | {why} |")
  return "\n".join(lines)


def report(rows, more, compiles, scaling, source, sizes, elapsed, kind, peaks):
  """The markdown section of this machine kind (RESULTS.md keeps one per kind)."""
  stamp = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
  vers = ", ".join(f"{k} {v}" for k, v in versions().items())
  missed = [(r.name, f"{r.ratio:.2f}, target {r.target}") for r in list(rows) + list(more)
            if r.met is False] + [
      (f"compile: {n}", f"{s:.3f} s, target < 1 s") for n, s in compiles.items() if s >= 1]
  quick = " (--quick: tiny sizes, the ratios mean nothing)" if sizes is QUICK else ""
  return "\n".join([
      f"## {course_runs.kind_name(kind)}{quick}", "",
      f"* date: {stamp}", f"* machine: {machine_description()}",
      f"* CPU: {kind['model']}{', ' + kind['family_model'] if kind['family_model'] else ''};"
      f" ISA: {kind['isa']}; flags: {' '.join(kind['flags']) or 'none of ' + ', '.join(course_runs.ISA_FLAGS)}",
      f"* 2048^2 matmul peak (XLA): {_rate(peaks['float32'])} float32, "
      f"{_rate(peaks['float64'])} float64",
      f"* versions: {vers}",
      f"* data: {source}; float32 unless named; wall times are the minimum of "
      f"{sizes.repeats} runs ({sizes.short_repeats} for the sub-second logistic and "
      f"moons races, {sizes.reference_repeats} for the NumPy/PyTorch float64 loops), "
      "compilation excluded and timed apart; a shared machine's load only ever "
      "slows a run down", f"* whole benchmark: {elapsed:.0f} s", "",
      "### Training speed", "", format_rows(rows), "",
      "### Course-compatible runs, the main job, compile times, start-up", "",
      format_rows(more), "",
      missed_table(missed), "", "Notes:", "", NOTES,
      f"### Compile times of the benchmark's programs (cold, min of {sizes.compile_repeats})",
      "", format_compiles(compiles), "",
      "### Scaling: the cat-shaped net [12288, n_1, 7, 5, 1], time per iteration", "",
      format_scaling(scaling), ""])


RESULTS_HEADER = """# Benchmark results

Written by `python benchmarks/benchmark.py` (rerun it rather than editing by hand): one
section per kind of machine it ran on (CPU model and ISA); a run replaces its own kind's
section and keeps the others.
"""


def merge_results(existing, kind_title, section):
  """RESULTS.md text with ``section`` in place of the one titled ``kind_title``."""
  sections, current = {}, None
  for line in (existing or "").splitlines():
    if line.startswith("## "):
      current = line[3:].split(" (--quick")[0].strip()
      sections[current] = []
    if current is not None:
      sections[current].append(line)
  sections[kind_title] = section.splitlines()
  ordered = [kind_title] + [k for k in sections if k != kind_title]
  return RESULTS_HEADER + "\n" + "\n".join("\n".join(sections[k]).rstrip() + "\n"
                                             for k in ordered)


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
  parser.add_argument("--results", default=None,
                      help=f"markdown file to write (default: {RESULTS.relative_to(REPO_ROOT)}"
                           " for a full run, nothing for --quick)")
  parser.add_argument("--repeats", type=int, default=None, help="runs per wall time (min)")
  parser.add_argument("--child-cores", action="store_true", help=argparse.SUPPRESS)
  args = parser.parse_args(argv)
  sizes = QUICK if args.quick else FULL
  if args.repeats:
    sizes = sizes._replace(repeats=args.repeats, short_repeats=args.repeats)
  if args.child_cores:
    child_cores(sizes)
    return 0
  start = time.perf_counter()
  log = lambda message: print(f"[{time.perf_counter() - start:6.1f} s] {message}", flush=True)
  kind = course_runs.cpu_kind()
  X, Y, source = cat_data()
  log(f"data: {source}; {machine_description()}; {course_runs.kind_name(kind)}; "
      f"flags {' '.join(kind['flags'])}")
  peaks = {"float32": course_runs.square_peak(jnp.float32),
           "float64": course_runs.square_peak(jnp.float64)}
  log(f"2048^2 matmul peak: {_rate(peaks['float32'])} float32, {_rate(peaks['float64'])} "
      "float64")
  machine, compiles = Machine(sizes.repeats + 2), {}
  l_layer = measure_l_layer(X, Y, sizes, machine, compiles, log)
  logistic_ = measure_logistic(X, Y, sizes, machine, compiles, log)
  sweeps = measure_sweeps(X, Y, sizes, machine, compiles, log)
  cores = measure_cores(sizes, log)
  if cores is not None:
    cores["xla_own"] = measure_cores(sizes, log, xla_defaults=False)
  scaling = measure_scaling(sizes, machine, compiles, log)
  more = measure_course_runs(sizes, log)
  peaks["float32"] = max(peaks["float32"], course_runs.square_peak(jnp.float32))
  machine.refresh(X)
  m = X.shape[1]
  rows = (l_layer_rows(l_layer, machine, m, peaks["float32"])
          + logistic_rows(logistic_, machine, X.shape) + sweep_rows(sweeps, cores, machine, m))
  elapsed = time.perf_counter() - start
  text = report(rows, more, compiles, scaling_table(scaling, machine), source, sizes,
                elapsed, kind, peaks)
  print("\n" + text)
  path = args.results or (None if args.quick else RESULTS)
  if path:
    path = pathlib.Path(path)
    old = path.read_text() if path.is_file() else ""
    path.write_text(merge_results(old, course_runs.kind_name(kind), text))
    print(f"wrote {path} (section: {course_runs.kind_name(kind)})")
  return 0


def measure_course_runs(sizes, log):
  """The targets beyond training speed (skipped with --quick: each runs the report)."""
  if sizes is QUICK:
    return [course_runs.Target("course-compatible runs, the main job", "skipped (--quick)"),
            course_runs.listing_target(course_runs.listing_seconds(1)),
            course_runs.jax_import_row(course_runs.jax_import_seconds(1))]
  data_dir = data.resolve_data_dir(None) or REPO_ROOT.parent / "shared" / "data"
  data_dir = data_dir if (pathlib.Path(data_dir) / data.CAT_TRAIN_FILE).is_file() else None
  runs = course_runs.course_compat_runs(data_dir, sizes.reference_repeats) if data_dir \
      else None
  log("course-compatible runs: " + ("skipped (no cat files)" if runs is None else ", ".join(
      f"{k} ours {v['train_s']:.2f} s, NumPy {v['numpy64_s']:.2f} s" for k, v in runs.items())))
  job = course_runs.main_job(data_dir, log)
  listing, jax_import = course_runs.listing_seconds(), course_runs.jax_import_seconds()
  log(f"listing: {listing:.3f} s; import jax: {jax_import:.3f} s")
  return (course_runs.course_compat_targets(runs) + course_runs.main_job_targets(job)
          + course_runs.compile_targets(job) + [course_runs.listing_target(listing),
                                                 course_runs.jax_import_row(jax_import)])


if __name__ == "__main__":
  sys.exit(main())
