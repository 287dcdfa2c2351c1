"""The benchmark's second half: the machine's kind, its square-matmul peak, the
course-compatible float64 runs, the main job (the report) cold and warm, compile times
and the listing's start-up, each against its target (imported by ``benchmark.py``).

The report runs as a child process with its own ``XDG_CACHE_HOME``: an empty one is a
cold start (no persistent compilation cache, no cached data set), the same one again is
a warm start. Its rows' compile and training seconds come back in its ``report.json``.
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time
from typing import NamedTuple, Optional

import numpy as np

import jax
import jax.numpy as jnp

from benchmarks import numpy_reference

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]

# The report rows the main-job targets cover (the course experiments, C1W2-C2W2); every
# other row is held to its own training time plus OVERHEAD_S.
COURSE_ROWS = ("c1w2_logistic", "c1w3", "c1w4", "c2w1", "c2w2")
OVERHEAD_S = 1.0
# Programs of the small nets (the 2-D sets: moons, planar, circles, football): their
# compile target is tighter.
SMALL_NET_ROWS = ("c1w3_shallow", "c2w1_init", "c2w1_reg", "c2w2")
REPORT_TIMEOUT_S = 900
ISA_FLAGS = ("avx512f", "avx512bw", "avx512vl", "avx512_bf16", "avx512_fp16", "amx_tile",
             "avx2", "fma")


class Target(NamedTuple):
  """One measured figure and its target (``met`` None: information only)."""
  name: str
  value: str
  ratio: Optional[float] = None
  target: str = ""
  met: Optional[bool] = None


def at_most(name, value, ratio, limit):
  return Target(name, value, ratio, f"<= {limit:g}", ratio <= limit)


def at_least(name, value, ratio, limit):
  return Target(name, value, ratio, f">= {limit:g}", ratio >= limit)


# --- the machine's kind -------------------------------------------------------------

def cpu_kind():
  """{"model", "family_model", "isa", "flags"} from /proc/cpuinfo ("isa": AVX-512 or not)."""
  info = {"model": "unknown CPU", "family_model": "", "flags": []}
  try:
    text = pathlib.Path("/proc/cpuinfo").read_text()
  except OSError:
    text = ""
  fields = {}
  for line in text.splitlines():
    if ":" in line:
      key, value = (part.strip() for part in line.split(":", 1))
      fields.setdefault(key, value)
  info["model"] = fields.get("model name", info["model"])
  if "cpu family" in fields:
    info["family_model"] = f"family {fields['cpu family']} model {fields.get('model', '?')}"
  present = set(fields.get("flags", "").split())
  info["flags"] = [f for f in ISA_FLAGS if f in present]
  info["isa"] = ("AVX-512" if "avx512f" in present else
                 "AVX2, no AVX-512" if "avx2" in present else "no AVX2")
  return info


def kind_name(kind):
  """The RESULTS.md section a machine's figures go to: model and ISA."""
  extra = f", {kind['family_model']}" if kind["family_model"] else ""
  return f"{kind['model']}{extra} ({kind['isa']})"


# --- square-matmul peak ---------------------------------------------------------------

SQUARE_N = 2048


def square_product(dtype=jnp.float32, n=SQUARE_N):
  """A function that runs one n x n matmul in XLA and waits for it (compiled and run
  once here); 2 n^3 FLOPs per call."""
  x64 = dtype == jnp.float64
  with jax.enable_x64(x64):
    A = jax.random.normal(jax.random.key(0), (n, n), dtype)
    product = jax.jit(jnp.matmul)
    product(A, A).block_until_ready()

  def run():
    with jax.enable_x64(x64):  # a float64 call outside it would retrace in float32
      return product(A, A).block_until_ready()
  return run


def square_flops(seconds, n=SQUARE_N):
  return 2.0 * n ** 3 / seconds


def net_flops(layer_dims, m):
  """FLOPs of one full-batch iteration: forward W A (every layer), dW (every layer) and
  dA_prev = W^T dZ (every layer but the first), 2 n_l n_{l-1} m each."""
  pairs = [layer_dims[l] * layer_dims[l - 1] for l in range(1, len(layer_dims))]
  return 2.0 * m * (2 * sum(pairs) + sum(pairs[1:]))


def square_peak(dtype=jnp.float32, n=SQUARE_N, repeats=5):
  """FLOP/s of an n x n matmul in XLA on this machine (best of ``repeats``)."""
  run = square_product(dtype, n)
  best = np.inf
  for _ in range(repeats):
    start = time.perf_counter()
    run()
    best = min(best, time.perf_counter() - start)
  return square_flops(best, n)


# --- course-compatible float64 runs -------------------------------------------------

def course_compat_runs(data_dir, repeats):
  """{"two_layer"/"l_layer": {train_s, numpy64_s, costs, record}} of the C1W4 app in
  course-compatible mode (float64, the notebooks' initializer), against the course's
  NumPy float64 loop on the same net; None when the cat files are missing."""
  from dlcourse import data  # pylint: disable=import-outside-toplevel
  from experiments.runner import env as env_lib  # pylint: disable=import-outside-toplevel
  from experiments.runner import registry  # pylint: disable=import-outside-toplevel
  try:
    X, Y, _, _ = data.load_cats(data_dir)
  except Exception:  # noqa: BLE001  missing or unreadable: the rows say skipped
    return None
  experiment = registry.get("c1w4_deep_cats")
  app = experiment.app()
  out = {}
  for variant in ("two_layer", "l_layer"):
    config = experiment.get_config(variant)
    config.course_compat = True
    row = next(r for r in experiment.rows if (r.variant or "l_layer") == variant)
    best, record, peak = np.inf, None, 0.0
    for _ in range(repeats):
      record, _ = app.run(config, env_lib.Env.plain(data_dir))
      best = min(best, record["timings"]["train_s"])
      # The float64 peak in the same rounds (a drifting host moves both alike).
      peak = max(peak, square_peak(jnp.float64))
    hidden = (config.n_h,) if variant == "two_layer" else tuple(config.hidden_dims)
    dims = (X.shape[0], *hidden, 1)
    X64, Y64 = X.astype(np.float64), Y.astype(np.float64)
    numpy_best = np.inf
    for _ in range(max(1, repeats - 1)):
      start = time.perf_counter()
      numpy_reference.L_layer_model(X64, Y64, dims, learning_rate=config.learning_rate,
                                    num_iterations=config.num_iterations)
      numpy_best = min(numpy_best, time.perf_counter() - start)
    out[variant] = {"train_s": best, "numpy64_s": numpy_best, "record": record,
                    "course": row.course, "dims": dims, "m": int(X.shape[1]),
                    "iterations": int(config.num_iterations), "peak64": peak}
  return out


def _digits(run):
  """Whether a course-compatible record shows the course's numbers."""
  course, record = run["course"], run["record"]
  costs = dict((int(i), c) for i, c in record["costs"])
  ok = (abs(100 * record["train_accuracy"] - course.train) < 0.005
        and abs(100 * record["test_accuracy"] - course.test) < 0.005)
  if course.cost is not None:
    it, cost = course.cost
    ok = ok and costs.get(it) is not None and abs(costs[it] - cost) < 1e-6
  return ok


def course_compat_targets(runs):
  if runs is None:
    return [Target("course-compatible float64 runs (C1W4 cats)",
                   "skipped: the cat files are not in the data directory")]
  rows = []
  for variant, run in runs.items():
    name = f"course-compatible float64, C1W4 {variant} {list(run['dims'])}, " \
           f"{run['iterations']} it"
    rows.append(Target(f"{name}: ours (train_s)", f"{run['train_s']:.3f} s"))
    rows.append(at_least(f"{name}: NumPy float64 / ours", f"{run['numpy64_s']:.3f} s",
                         run["numpy64_s"] / run["train_s"], 2))
    rows += _float64_floor_rows(name, run)
    c = run["course"]
    r = run["record"]
    cost = dict((int(i), v) for i, v in r["costs"]).get(c.cost[0]) if c.cost else None
    shown = (f"{100 * r['train_accuracy']:.2f} / {100 * r['test_accuracy']:.2f}"
             + (f", cost {cost:.6f} at {c.cost[0]}" if cost is not None else ""))
    rows.append(Target(f"{name}: the course's digits ({c.train:g} / {c.test:g}"
                       + (f", {c.cost[1]:.6f}" if c.cost else "") + ")", shown, None,
                       "equal", _digits(run)))
  return rows


def _float64_floor_rows(name, run):
  """Every FLOP at the 2048^2 float64 peak of the run's own rounds: the least time any
  float64 loop could take, so NumPy's time over it is the most the ratio above can
  read on this machine (information: the target asks for 2)."""
  if not run.get("peak64"):
    return []
  floor = net_flops(run["dims"], run["m"]) * run["iterations"] / run["peak64"]
  return [Target(f"{name}: FLOP floor at the 2048^2 float64 peak (same rounds)",
                 f"{floor:.3f} s (peak {run['peak64'] / 1e9:.1f} GFLOP/s)"),
          Target(f"{name}: ours / that floor (no target)", "", run["train_s"] / floor),
          Target(f"{name}: NumPy float64 / that floor, the most 'NumPy / ours' could "
                 "read (no target)", "", run["numpy64_s"] / floor)]


# --- the main job -----------------------------------------------------------------

# ``python -m experiments`` pinned to one core before it starts (no preexec_fn: a fork
# of this multithreaded JAX process must not run Python before it execs).
_ONE_CORE_LAUNCHER = ("import os, runpy, sys; "
                      "os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); "
                      "sys.argv[0] = 'experiments'; "
                      "runpy.run_module('experiments', run_name='__main__', alter_sys=True)")


def run_report(args, cache_home, workdir, one_core=False):
  """(wall seconds, report.json) of ``python -m experiments report ARGS``; ``one_core``
  pins it to one core, as the report pins each of its workers."""
  env = dict(os.environ, XDG_CACHE_HOME=str(cache_home))
  env.pop("DLCOURSE_DATA_DIR", None)  # the data directory is what --data_dir says
  pinned = one_core and hasattr(os, "sched_setaffinity")
  launch = ["-c", _ONE_CORE_LAUNCHER] if pinned else ["-m", "experiments"]
  start = time.perf_counter()
  result = subprocess.run([sys.executable, *launch, "report", f"--workdir={workdir}", *args],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=REPORT_TIMEOUT_S)
  wall = time.perf_counter() - start
  if result.returncode != 0:
    raise RuntimeError(f"report {args} failed ({result.returncode}): "
                       f"{result.stderr.strip()[-500:]}")
  return wall, json.loads((pathlib.Path(workdir) / "report.json").read_text())


def main_job(data_dir, log, later_rows=True):
  """The report's wall times (cold, warm, generated data only) and its rows' timings."""
  out = {}
  only = "--only=" + ",".join(COURSE_ROWS)
  with tempfile.TemporaryDirectory() as tmp:
    tmp = pathlib.Path(tmp)
    if data_dir is not None:
      cache = tmp / "cache_all"
      out["cold_s"], out["cold"] = run_report([only, f"--data_dir={data_dir}"], cache,
                                              tmp / "cold")
      log(f"report, course rows, all data, cold: {out['cold_s']:.1f} s")
      out["warm_s"], out["warm"] = run_report([only, f"--data_dir={data_dir}"], cache,
                                              tmp / "warm")
      log(f"report, course rows, all data, warm: {out['warm_s']:.1f} s")
    out["generated_s"], out["generated"] = run_report([only], tmp / "cache_gen",
                                                      tmp / "generated")
    log(f"report, course rows, generated data, cold: {out['generated_s']:.1f} s")
    if later_rows:
      others = _later_prefixes()
      # One worker on one core, as each of the report's workers runs: the same numbers
      # as the report's (a float32 run on two cores rounds differently, and MNIST-1D's
      # search may then pick another width to retrain).
      out["later_s"], out["later"] = run_report(["--only=" + ",".join(others),
                                                 "--skip_gradcheck", "--jobs=1"],
                                                tmp / "cache_later", tmp / "later",
                                                one_core=True)
      log(f"report, later experiments' rows, one worker, one core, cold: "
          f"{out['later_s']:.1f} s")
  return out


def _later_prefixes():
  """Row ids of the experiments added after the course's C1W2-C2W2 set."""
  from experiments.runner import registry  # pylint: disable=import-outside-toplevel
  return [row.id for e in registry.experiments().values() for row in e.rows
          if not row.id.startswith(COURSE_ROWS)]


def _experiment_overheads(summary):
  """{experiment: (wall_s, train_s)} summed over its rows (one worker: they add up)."""
  totals = {}
  for row in summary["rows"]:
    wall, train = totals.get(row["experiment"], (0.0, 0.0))
    totals[row["experiment"]] = (wall + row["wall_s"], train + (row["train_s"] or 0.0))
  return totals


def main_job_targets(job):
  rows = []
  if "cold_s" in job:
    rows.append(at_most("report, course rows (C1W2-C2W2), all data, cold: wall s",
                        f"{job['cold_s']:.1f} s", job["cold_s"], 60))
    rows.append(at_most("report, course rows, all data, warm (compilation cache): wall s",
                        f"{job['warm_s']:.1f} s", job["warm_s"], 30))
  else:
    rows.append(Target("report, course rows, all data", "skipped: no course data"))
  rows.append(at_most("report, course rows, generated data only, cold: wall s",
                      f"{job['generated_s']:.1f} s", job["generated_s"], 20))
  if "cold" in job:
    rows.append(_work_row("report, course rows, all data, cold", job["cold"]))
  for name, (wall, train) in _experiment_overheads(job.get("later", {"rows": []})).items():
    rows.append(at_most(f"report, {name}: wall - training s (its rows, one worker)",
                        f"{wall:.1f} s wall, {train:.1f} s training", wall - train,
                        OVERHEAD_S * _row_count(job["later"], name)))
  return rows


def _work_row(name, summary):
  """The rows' work in core-seconds (each row runs on one pinned core): what two workers
  share, so half of it bounds the report's wall time from below."""
  wall = sum(row["wall_s"] for row in summary["rows"])
  train = sum(row["train_s"] or 0.0 for row in summary["rows"])
  compiling = sum(row["compile_s"] or 0.0 for row in summary["rows"])
  return Target(f"{name}: the rows' work, core-s (no target)",
                f"{wall:.1f} core-s: {train:.1f} training, {compiling:.1f} compiling",
                wall / 2, "", None)


def _row_count(summary, experiment):
  return sum(1 for row in summary["rows"] if row["experiment"] == experiment)


def compile_targets(job):
  """Every report row's compile seconds (the cold all-data run, else generated data)."""
  summary = job.get("cold") or job["generated"]
  rows = []
  for row in summary["rows"] + job.get("later", {"rows": []})["rows"]:
    seconds, parts = row["compile_s"], row.get("compile_parts_s") or {}
    if seconds is None or row["error"]:
      continue
    limit = 0.3 if row["id"].startswith(SMALL_NET_ROWS) else 1.0
    name = f"compile: report row {row['id']} [{row['mode']}]"
    if len(parts) > 1:
      # The target is per program; a row that compiles several times each one.
      program, seconds = max(parts.items(), key=lambda item: item[1])
      rows.append(at_most(f"{name}, its longest program of {len(parts)} ({program})",
                          f"{seconds:.3f} s of {row['compile_s']:.3f} s", seconds, limit))
    else:
      rows.append(at_most(name, f"{seconds:.3f} s", seconds, limit))
  return rows


# --- the listing's start-up ---------------------------------------------------------

def _best_wall(argv, repeats):
  best = np.inf
  for _ in range(repeats):
    start = time.perf_counter()
    subprocess.run([sys.executable, *argv], cwd=REPO_ROOT, check=True, capture_output=True,
                   timeout=60)
    best = min(best, time.perf_counter() - start)
  return best


def listing_seconds(repeats=3):
  return _best_wall(["-m", "experiments"], repeats)


def jax_import_seconds(repeats=3):
  """A fresh interpreter's ``import jax``: what every process that runs JAX (the CLI,
  each report worker) pays before its first line of work."""
  return _best_wall(["-c", "import jax"], repeats)


def jax_import_row(seconds):
  import ml_dtypes  # pylint: disable=import-outside-toplevel
  return Target(f"python -c 'import jax' (ml_dtypes {ml_dtypes.__version__}): wall s "
                "(no target)", f"{seconds:.3f} s", seconds, "", None)


def listing_target(seconds):
  return at_most("python -m experiments (the listing): wall s", f"{seconds:.3f} s",
                 seconds, 0.5)
