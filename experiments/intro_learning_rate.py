"""The learning rate, too small / right / too large (the lesson's three pictures).

Gradient descent w := w - alpha dJ/dw from one start with three rates, on a 1-D quadratic
J(w) = c/2 (w - w*)^2 + J_min (a "bowl") and on the circle problem
J(theta) = 1/(2m) sum (theta r^2 - area)^2 (curvature c = mean(r^4) = 34004). On any
quadratic the error is multiplied by 1 - alpha c per step, so each step's length is
|1 - alpha c| times the previous one: shorter and shorter while |1 - alpha c| < 1,
longer and longer (divergence, detected and reported) once alpha c > 2.
"""

import jax.numpy as jnp
import numpy as np

from dlcourse import intro, plots
from dlcourse.errors import ConfigError
from experiments import runner

NAME = "intro_learning_rate"
LABELS = ("too small", "right", "too large")
MAX_STEPS_LISTED = 50   # step lengths kept in result.json per run


def check_rates(name, rates):
  rates = tuple(float(a) for a in rates)
  if len(rates) != 3 or not all(a > 0 for a in rates):
    raise ConfigError(f"{name} must be three positive learning rates (too small, right, "
                      f"too large), got {rates}")
  return rates


def bowl_runs(config, rates):
  c, w_star, j_min = config.bowl.curvature, config.bowl.w_star, config.bowl.j_min
  data = (jnp.asarray(c), jnp.asarray(w_star), jnp.asarray(j_min))
  runs = [intro.descend(intro.bowl_cost, intro.bowl_grads, jnp.array([config.bowl.start]),
                        a, config.num_steps, data) for a in rates]
  def curve(w):
    return 0.5 * c * (w - w_star) ** 2 + j_min
  return runs, c, curve


def circle_runs(config, rates):
  r, area = intro.circle_table()
  x = intro.area_feature(r)
  mask = np.array([1.0, 0.0])  # area = theta r^2: no intercept
  data = (jnp.asarray(x), jnp.asarray(area), jnp.asarray(mask))
  runs = [intro.descend(intro.line_cost, intro.line_grads,
                        jnp.array([config.circle_start, 0.0]), a, config.num_steps, data)
          for a in rates]
  def curve(theta):  # J(theta) on a grid, in NumPy float64 (drawn after the fit)
    theta = np.asarray(theta, np.float64)[:, None]
    return np.mean((theta * x - area) ** 2, axis=1) / 2
  return runs, intro.line_curvature(x, mask), curve


def summaries(runs, rates, c):
  out = []
  for label, a, d in zip(LABELS, rates, runs):
    out.append({"label": label, "learning_rate": a, "alpha_times_c": a * c,
                "predicted_step_ratio": intro.step_ratio(a, c),
                **intro.descent_summary(d, max_steps_listed=MAX_STEPS_LISTED)})
  return out


def panels(runs, rates, c, curve):
  out = []
  for label, a, d in zip(LABELS, rates, runs):
    w = d.params[:, 0]
    span = max(np.ptp(w), 1e-3)
    grid = np.linspace(w.min() - 0.15 * span, w.max() + 0.15 * span, 300)
    verdict = "diverged" if d.diverged else f"cost {d.costs[-1]:.4g}"
    out.append({"curve": (grid, curve(grid)), "path": (w, d.costs),
                "title": f"{label}: alpha = {a:g} (alpha c = {a * c:.3g})",
                "note": f"step ratio |1 - alpha c| = {intro.step_ratio(a, c):.3g}; {verdict}"})
  return out


def answer(bowl, circle):
  """The lesson's question answered from the recorded step lengths."""
  def steps(run):
    return ", ".join(f"{s:.3g}" for s in run["step_lengths"][:4])
  right, large = bowl[1], bowl[2]
  circle_ratios = ", ".join(f"{r['label']} {r['step_length_ratio']:.3g}" for r in circle)
  return (f"With a moderate rate the steps shrink (bowl, alpha = {right['learning_rate']:g}: "
          f"{steps(right)}, ...; ratio {right['step_length_ratio']:.3g}) because the step is "
          "alpha times the gradient and the gradient shrinks as w nears the minimum. With a "
          f"rate that is too large (alpha = {large['learning_rate']:g}, alpha c = "
          f"{large['alpha_times_c']:.3g} > 2) every step overshoots the minimum to a point "
          f"farther away on the other side, where the gradient is larger: {steps(large)}, ... "
          f"(ratio {large['step_length_ratio']:.3g} = |1 - alpha c|). The circle problem does "
          f"the same with c = {circle[0]['alpha_times_c'] / circle[0]['learning_rate']:.6g}: "
          f"step ratios {circle_ratios}.")


def headline(bowl, circle):
  """One line: each problem's step ratios per rate, and which runs diverged."""
  def part(name, runs):
    ratios = " / ".join(f"{r['step_length_ratio']:.3g}" for r in runs)
    diverged = [r["label"] for r in runs if r["diverged"]]
    return f"{name} step ratios {ratios}" + (f" ({', '.join(diverged)} diverged)"
                                               if diverged else "")
  return "; ".join([part("bowl", bowl), part("circle", circle)])


def run(config, env):
  del env  # nothing to load or cache
  bowl_rates = check_rates("bowl_rates", config.bowl_rates)
  circle_rates = check_rates("circle_rates", config.circle_rates)
  with runner.precision(config):
    ((b_runs, b_c, b_curve), (c_runs, c_c, c_curve)), compile_s, train_s = runner.timed_stage(
        lambda: (bowl_runs(config, bowl_rates), circle_runs(config, circle_rates)))
  bowl, circle = summaries(b_runs, bowl_rates, b_c), summaries(c_runs, circle_rates, c_c)
  right = c_runs[1]
  record = runner.result(
      config, costs=[[k, float(J)] for k, J in enumerate(right.costs)],
      timings={"compile_s": compile_s, "train_s": train_s}, cost_unit="iteration",
      metrics={"bowl": {"curvature": b_c, "runs": bowl},
               "circle": {"curvature": c_c, "runs": circle},
               "costs_are": "the circle problem's run at the right rate",
               "answer": answer(bowl, circle),
               "headline": headline(bowl, circle)})
  figures = {
      "bowl.png": plots.descent_paths(
          panels(b_runs, bowl_rates, b_c, b_curve), xlabel="w", ylabel="J(w)",
          title=f"J(w) = {b_c:g}/2 (w - {config.bowl.w_star:g})^2 + {config.bowl.j_min:g}: "
                f"{config.num_steps} steps from w = {config.bowl.start:g}"),
      "circle.png": plots.descent_paths(
          panels(c_runs, circle_rates, c_c, c_curve), xlabel="theta", ylabel="J(theta)",
          title=f"Circle area, J(theta) = 1/(2m) sum (theta r^2 - area)^2: "
                f"{config.num_steps} steps from theta = {config.circle_start:g}"),
      "step_lengths.png": plots.step_lengths(
          {**{f"bowl, {s['label']} (alpha {s['learning_rate']:g})": d.step_lengths
              for s, d in zip(bowl, b_runs)},
           **{f"circle, {s['label']} (alpha {s['learning_rate']:g})": d.step_lengths
              for s, d in zip(circle, c_runs)}},
          title="Step lengths: each is |1 - alpha c| times the last"),
  }
  return record, figures


def report_markdown(record):
  lines = ["| problem | rate | alpha | alpha c | first step lengths | step ratio (measured / "
           "|1 - alpha c|) | final cost | diverged |", "| --- | --- | --- | --- | --- | --- | "
           "--- | --- |"]
  for problem in ("bowl", "circle"):
    for r in record["metrics"][problem]["runs"]:
      ratio = "–" if r["step_length_ratio"] is None else f"{r['step_length_ratio']:.4g}"
      lines.append(f"| {problem} | {r['label']} | {r['learning_rate']:g} | "
                   f"{r['alpha_times_c']:.3g} | "
                   f"{', '.join(f'{s:.3g}' for s in r['step_lengths'][:3])}, ... | "
                   f"{ratio} / {r['predicted_step_ratio']:.4g} | {r['final_cost']:.4g} | "
                   f"{r['diverged']} |")
  return "\n".join(lines + ["", record["metrics"]["answer"]])


if __name__ == "__main__":
  runner.launch(NAME, run)
