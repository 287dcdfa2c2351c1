"""The first lesson: learning the circle's area instead of programming it.

Programming: area = 3.14 * r^2. Learning: a model h = theta * x with the feature x = r^2,
fit to examples (r, area) by gradient descent on J(theta) = 1/(2m) sum (theta x - y)^2,
dJ/dtheta = 1/m sum (theta x - y) x (``dlcourse.intro``). theta is the variable; X and Y
are constants of the problem. The curvature c = mean(x^2) fixes the usable learning
rates (alpha < 2 / c); scaling the feature changes c, which the comparison shows.
"""

import jax
import jax.numpy as jnp
import numpy as np

from dlcourse import arrays, intro, plots
from dlcourse.errors import ConfigError
from experiments import runner

NAME = "intro_circle_area"
DATA = ("table", "generated")


def circles(config):
  """(r, area, extra): the fitted circles and, for the plot, the generated ones."""
  if config.data not in DATA:
    raise ConfigError(f"data must be one of {DATA}, got {config.data!r}")
  r, area = intro.circle_table()
  if config.data == "table":
    return r, area, None
  r_gen, area_gen = intro.circle_samples(config.seed, config.num_generated, config.noise)
  return r_gen, area_gen, (r_gen, area_gen)


@jax.jit
def _relative_difference(p, z, y, mask):
  """max |hand-derived - jax.grad| / (1 + |jax.grad|) of J(w, b) at p (one compiled
  program)."""
  manual = intro.line_grads(p, z, y, mask)
  auto = jax.grad(intro.line_cost)(p, z, y) * mask
  return jnp.max(jnp.abs(manual - auto) / (1.0 + jnp.abs(auto)))


_line_cost = jax.jit(intro.line_cost)


def gradient_check(z, y, mask, points=(0.0, 1.0, 3.14, 10.0)):
  """Largest |hand-derived - jax.grad| of J(w, b) over a few points, float64. The
  points are made on the host (``mask``: a host array): each eager operation on the
  device would compile on its own."""
  data = [arrays.device_array(a) for a in (z, y, mask)]
  return max(float(_relative_difference(
      arrays.device_array([w, 0.5 * w if mask[1] else 0.0]), *data)) for w in points)


def fit(x, y, scaling_kind, learning_rate, num_steps):
  """GD from w = b = 0 on the scaled feature; returns (scaling, mask, z, Descent)."""
  scaling = intro.fit_scaling(x, scaling_kind)
  z, mask = intro.apply_scaling(x, scaling), intro.intercept_mask(scaling)
  descent = intro.descend(intro.line_cost, intro.line_grads, np.zeros(2), learning_rate,
                          num_steps, tuple(arrays.device_array(a) for a in (z, y, mask)))
  return scaling, mask, z, descent


def converged_at(descent, optimum_cost, tol=1e-6):
  """First iteration k with J_k - J* <= tol (J_0 - J*): the excess cost cut a million
  times; None when it never got there (or diverged)."""
  gap = descent.costs - optimum_cost
  hits = np.flatnonzero(gap <= tol * (descent.costs[0] - optimum_cost))
  return int(hits[0]) if hits.size and not descent.diverged else None


def scaling_facts(x, y, kind, learning_rate, num_steps):
  scaling, mask, z, descent = fit(x, y, kind, learning_rate, num_steps)
  c = intro.line_curvature(z, mask)
  optimum = intro.line_optimum(z, y, mask)
  j_opt = float(_line_cost(*(arrays.device_array(a) for a in (optimum, z, y))))
  theta, intercept = intro.to_theta(descent.params[-1], scaling)
  facts = {"curvature": c, "max_stable_learning_rate": 2.0 / c,
           "learning_rate": float(learning_rate), "diverged": descent.diverged,
           "blew_up_at": descent.blew_up_at,
           "iterations_to_optimum": converged_at(descent, j_opt),
           "final_cost": float(descent.costs[-1]),
           "theta": None if descent.diverged else theta,
           "intercept": None if descent.diverged else intercept,
           "gradient_check_max_rel_diff": gradient_check(z, y, mask)}
  return facts, descent, scaling


def run(config, env):
  del env  # generated data, nothing cached
  r, area, extra = circles(config)
  x = intro.area_feature(r)
  with runner.precision(config):
    (main, descent, scaling), compile_s, train_s = runner.timed_stage(
        scaling_facts, x, area, config.scaling, config.learning_rate, config.num_iterations)
    compared = {}
    for kind in intro.SCALINGS:
      compared[kind], more_compile_s, more_train_s = runner.timed_stage(
          scaling_facts, x, area, kind, config.compare_rate, config.num_iterations)
      compile_s, train_s = compile_s + more_compile_s, train_s + more_train_s
  theta_exact, _ = intro.to_theta(intro.line_optimum(
      intro.apply_scaling(x, scaling), area, intro.intercept_mask(scaling)), scaling)
  every = max(1, int(config.record_every))
  costs = [[k, float(J)] for k, J in enumerate(descent.costs) if k % every == 0]
  metrics = {
      "theta": main["theta"], "intercept": main["intercept"],
      "theta_least_squares": theta_exact, "pi": np.pi, "m": int(x.shape[1]),
      **{k: v for k, v in main.items() if k not in ("theta", "intercept")},
      "compare_rate": float(config.compare_rate),
      "scalings_at_compare_rate": {k: v[0] for k, v in compared.items()},
  }
  if main["diverged"]:
    metrics["theta_note"] = (f"diverged at learning_rate {config.learning_rate:g} > 2/c = "
                             f"{main['max_stable_learning_rate']:.3g}; no theta")
  metrics["headline"] = (metrics["theta_note"] if main["diverged"] else
                         f"theta = {main['theta']:.6f} (pi = {np.pi:.6f}) from m = "
                         f"{metrics['m']} circles")
  record = runner.result(config, costs=costs, metrics=metrics,
                         timings={"compile_s": compile_s, "train_s": train_s},
                         cost_unit="iteration")
  series = {f"{config.scaling}, lr {config.learning_rate:g}": costs}
  for kind, (facts, d, _) in compared.items():
    label = f"{kind}, lr {config.compare_rate:g}" + (" (diverged)" if facts["diverged"] else "")
    series[label] = [[k, float(J)] for k, J in enumerate(d.costs)]
  theta_shown = main["theta"] if main["theta"] is not None else float("nan")
  intercept_shown = main["intercept"] or 0.0
  figures = {
      "fit.png": plots.circle_fit(
          *intro.circle_table(), theta_shown, extra=extra, intercept=intercept_shown,
          title=f"area = theta r^2 learned from {x.shape[1]} circles "
                f"(scaling: {config.scaling})"),
      "cost.png": plots.cost_curve(None, series=series,
                                   title="cost J during gradient descent, by feature scaling"),
  }
  return record, figures


def _num(value, fmt):
  return "–" if value is None else format(value, fmt)


def report_markdown(record):
  m = record["metrics"]
  lines = [f"theta = {_num(m['theta'], '.6f')} (least squares {m['theta_least_squares']:.6f}, "
           f"pi = {np.pi:.6f}) from m = {m['m']} circles; curvature c = {m['curvature']:.6g}, "
           f"so GD needs learning_rate < 2/c = {m['max_stable_learning_rate']:.3g}.", "",
           f"Every scaling at learning_rate {m['compare_rate']:g}:", "",
           "| scaling | c | 2/c | diverged | iterations until J - J* < 1e-6 (J0 - J*) | theta |",
           "| --- | --- | --- | --- | --- | --- |"]
  for kind, f in m["scalings_at_compare_rate"].items():
    lines.append(f"| {kind} | {f['curvature']:.6g} | {f['max_stable_learning_rate']:.3g} | "
                 f"{f['diverged']} | {_num(f['iterations_to_optimum'], 'd')} | "
                 f"{_num(f['theta'], '.6f')} |")
  return "\n".join(lines)


if __name__ == "__main__":
  runner.launch(NAME, run)
