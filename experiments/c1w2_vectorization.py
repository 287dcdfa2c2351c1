"""Course 1, week 2: vectorization, timed.

The lecture times c = sum_i a_i b_i on two vectors of 10^6 elements: a Python for-loop
(about 500 ms) against np.dot (about 1.5 ms). Here the loop (on a bounded prefix of
``loop_n`` elements, extrapolated linearly to n), np.dot, jnp.dot (op by op) and a jitted
dot are timed in one run on the same vectors, and one logistic-regression gradient is
computed with explicit loops over the examples and features and vectorized (NumPy and a
jitted JAX function); the two agree to 1e-12 in float64 (``dlcourse.vectorization``).
"""
import numpy as np

from dlcourse import arrays, plots
from dlcourse import vectorization as vec
from dlcourse.errors import ConfigError
from experiments import runner

NAME = "c1w2_vectorization"


def check_sizes(config):
  if not 1 <= int(config.loop_n) <= int(config.n):
    raise ConfigError(f"loop_n must be in [1, n={config.n}], got {config.loop_n}")
  if int(config.logistic_loop_m) > int(config.logistic_m) or int(config.logistic_loop_m) < 1:
    raise ConfigError(f"logistic_loop_m must be in [1, logistic_m={config.logistic_m}], "
                      f"got {config.logistic_loop_m}")


def time_dots(config):
  a, b = vec.random_vectors(config.seed, config.n)
  ja, jb = arrays.device_array(a, a.dtype), arrays.device_array(b, b.dtype)
  reps = int(config.repeats)
  loop = vec.time_call(vec.loop_dot, a[:config.loop_n], b[:config.loop_n], repeats=1,
                       warmup=0)
  timed = {"np.dot": vec.time_call(vec.numpy_dot, a, b, repeats=reps),
           "jnp.dot": vec.time_call(vec.jax_dot, ja, jb, repeats=reps),
           "jax.jit(dot)": vec.time_call(vec.jitted_dot, ja, jb, repeats=reps)}
  times = {"for loop": vec.extrapolate(loop.best_s, config.loop_n, config.n),
           **{k: t.best_s for k, t in timed.items()}}
  medians = {k: t.median_s for k, t in timed.items()}
  prefix_error = abs(vec.loop_dot(a[:1000], b[:1000]) - vec.numpy_dot(a[:1000], b[:1000]))
  values_agree = abs(float(vec.jitted_dot(ja, jb)) - vec.numpy_dot(a, b)) / \
      max(abs(vec.numpy_dot(a, b)), 1.0)
  return times, loop.best_s, {"loop_vs_np_abs_diff_first_1000": prefix_error,
                              "jit_vs_np_rel_diff": values_agree,
                              "median_seconds": medians}


def time_logistic(config):
  w, b, X, Y = vec.random_logistic(config.seed, config.logistic_n_x, config.logistic_m)
  k = int(config.logistic_loop_m)
  reps = int(config.repeats)
  loop = vec.time_call(vec.logistic_grads_loop, w, b, X[:, :k], Y[:, :k], repeats=1, warmup=0)
  jw, jX, jY = (arrays.device_array(x, x.dtype) for x in (w, X, Y))
  jax_fn = lambda: [x.block_until_ready() for x in vec.logistic_grads_jax(jw, b, jX, jY)]
  times = {
      "loops (examples x features)": vec.extrapolate(loop.best_s, k, config.logistic_m),
      "NumPy vectorized": vec.time_call(vec.logistic_grads_numpy, w, b, X, Y,
                                        repeats=reps).best_s,
      "JAX vectorized, jitted": vec.time_call(jax_fn, repeats=reps).best_s,
  }
  dw_loop, db_loop = vec.logistic_grads_loop(w, b, X[:, :k], Y[:, :k])
  dw_vec, db_vec = vec.logistic_grads_numpy(w, b, X[:, :k], Y[:, :k])
  dw_jax, db_jax = vec.logistic_grads_jax(jw[:, :], b, jX[:, :k], jY[:, :k])
  diffs = {"loop_vs_numpy_max_abs_diff": float(max(np.max(np.abs(dw_loop - dw_vec)),
                                                   abs(db_loop - db_vec))),
           "loop_vs_jax_max_abs_diff": float(max(np.max(np.abs(dw_loop - np.asarray(dw_jax))),
                                                 abs(db_loop - float(db_jax))))}
  return times, loop.best_s, diffs


def ratios(times, reference):
  return {f"{reference} / {name}": vec.ratio(times[reference], t)
          for name, t in times.items() if name != reference}


def run(config, env):
  del env  # nothing to load
  check_sizes(config)
  with runner.precision(config):
    dots, loop_s, dot_checks = time_dots(config)
    logistic, logistic_loop_s, logistic_checks = time_logistic(config)
  metrics = {
      "n": int(config.n), "loop_n": int(config.loop_n), "loop_measured_s": loop_s,
      "dot_seconds": dots, "dot_ratios": {**ratios(dots, "for loop"),
                                          "np.dot / jax.jit(dot)": vec.ratio(
                                              dots["np.dot"], dots["jax.jit(dot)"])},
      "dot_checks": dot_checks,
      "logistic_n_x": int(config.logistic_n_x), "logistic_m": int(config.logistic_m),
      "logistic_loop_m": int(config.logistic_loop_m),
      "logistic_loop_measured_s": logistic_loop_s,
      "logistic_seconds": logistic,
      "logistic_ratios": ratios(logistic, "loops (examples x features)"),
      "logistic_checks": logistic_checks,
      "dtype": "float64" if runner.uses_float64(config) else "float32",
      "lecture": {"for loop_ms": 500, "np.dot_ms": 1.5},
  }
  metrics["headline"] = (
      f"for loop / np.dot {metrics['dot_ratios']['for loop / np.dot']:.0f}x, / jit "
      f"{metrics['dot_ratios']['for loop / jax.jit(dot)']:.0f}x; gradient loops / NumPy "
      f"{metrics['logistic_ratios']['loops (examples x features) / NumPy vectorized']:.0f}x,"
      f" loop == vectorized to {metrics['logistic_checks']['loop_vs_numpy_max_abs_diff']:.1e}")
  record = runner.result(config, metrics=metrics,
                         timings={"train_s": sum(dots.values()) + sum(logistic.values())})
  extrapolated = f"(timed on {config.loop_n:,} and scaled x{config.n / config.loop_n:g})"
  logistic_note = (f"(timed on m = {config.logistic_loop_m:,}, scaled "
                   f"x{config.logistic_m / config.logistic_loop_m:g})")
  figures = {
      "dot.png": plots.timing_bars(
          dots, notes={"for loop": extrapolated},
          title=f"c = sum a_i b_i, n = {config.n:,} ({metrics['dtype']})"),
      "logistic.png": plots.timing_bars(
          logistic, notes={"loops (examples x features)": logistic_note},
          title=f"One logistic-regression gradient, n_x = {config.logistic_n_x}, "
                f"m = {config.logistic_m:,}"),
  }
  return record, figures


def report_markdown(record):
  m = record["metrics"]
  def ms(s):
    return f"{1e3 * s:.4g}"
  def x(r):
    return "–" if r is None else f"{r:.3g}x"
  lines = [f"Dot product of two {m['n']:,}-element vectors ({m['dtype']}; the loop timed on "
           f"{m['loop_n']:,} elements and scaled). Lecture: loop 500 ms, np.dot 1.5 ms.", "",
           "| method | ms | loop / this |", "| --- | --- | --- |"]
  for name, s in m["dot_seconds"].items():
    lines.append(f"| {name} | {ms(s)} | {x(m['dot_ratios'].get(f'for loop / {name}', 1.0))} |")
  lines += ["", f"Logistic-regression gradient, n_x = {m['logistic_n_x']}, m = "
            f"{m['logistic_m']:,} (loops timed on m = {m['logistic_loop_m']:,} and scaled); "
            f"loop vs vectorized max |difference| = "
            f"{m['logistic_checks']['loop_vs_numpy_max_abs_diff']:.1e}.", "",
            "| method | ms | loops / this |", "| --- | --- | --- |"]
  for name, s in m["logistic_seconds"].items():
    r = m["logistic_ratios"].get(f"loops (examples x features) / {name}", 1.0)
    lines.append(f"| {name} | {ms(s)} | {x(r)} |")
  return "\n".join(lines)


if __name__ == "__main__":
  runner.launch(NAME, run)
