"""PNG figures: cost curves and 2-D decision boundaries (matplotlib, no display needed).

Each function returns the PNG's bytes; writing them is the caller's I/O.
"""
import io

import matplotlib

matplotlib.use("Agg")  # headless: experiments run on servers and in CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _png(fig):
  buffer = io.BytesIO()
  fig.tight_layout()
  fig.savefig(buffer, format="png", dpi=100)
  plt.close(fig)
  return buffer.getvalue()


# Overlaid series get distinct styles: where two runs agree (a zeros initialization in
# both modes) the curves coincide, and the dashed one must still show both are there.
_SERIES_STYLES = ({"lw": 3, "alpha": 0.6}, {"lw": 1.5, "ls": "--"}, {"lw": 1.5, "ls": ":"})


def spans_decades(value_arrays, factor=100.0):
  """True when the finite positive values span more than ``factor`` (log axis wanted)."""
  values = np.concatenate([np.ravel(v) for v in value_arrays])
  values = values[np.isfinite(values) & (values > 0)]
  return bool(values.size) and values.max() > factor * values.min()


def cost_curve(costs, *, title, learning_rate=None, series=None, xlabel="iteration"):
  """J against iteration (or ``xlabel``). ``costs``: [[x, J], ...]; ``series``: {label: costs}.

  The y axis is logarithmic when the positive costs span more than a factor of 100 (a
  saturated start such as C2W1's x10 initialization would flatten the rest otherwise).
  """
  fig, ax = plt.subplots(figsize=(6, 4))
  curves = {k: np.asarray(v, dtype=float) for k, v in (series or {"cost": costs}).items()}
  curves = {k: v for k, v in curves.items() if v.size}
  for (label, values), style in zip(curves.items(), _SERIES_STYLES * len(curves)):
    ax.plot(values[:, 0], values[:, 1], label=label, **(style if len(curves) > 1 else {}))
  if curves and spans_decades([v[:, 1] for v in curves.values()]):
    ax.set_yscale("log")
  ax.set_xlabel(xlabel)
  ax.set_ylabel("cost J" + (" (log scale)" if ax.get_yscale() == "log" else ""))
  suffix = f" (learning rate {learning_rate:g})" if learning_rate is not None else ""
  ax.set_title(title + suffix)
  ax.grid(alpha=0.3)
  ax.legend()
  return _png(fig)


def decision_boundary(predict, X, Y, *, title, resolution=300):
  """Colours the plane by ``predict`` (a function of a (2, k) grid -> (1, k) labels) and
  scatters the examples X (2, m) coloured by their labels Y (1, m)."""
  X, Y = np.asarray(X), np.asarray(Y).ravel()
  pad = 0.1 * (X.max(axis=1) - X.min(axis=1)) + 0.1
  x0 = np.linspace(X[0].min() - pad[0], X[0].max() + pad[0], resolution)
  x1 = np.linspace(X[1].min() - pad[1], X[1].max() + pad[1], resolution)
  g0, g1 = np.meshgrid(x0, x1)
  grid = np.stack([g0.ravel(), g1.ravel()])
  labels = np.asarray(predict(grid)).reshape(g0.shape)
  fig, ax = plt.subplots(figsize=(5.5, 4.5))
  ax.contourf(g0, g1, labels, alpha=0.35, cmap="coolwarm")
  scatter = ax.scatter(X[0], X[1], c=Y, s=14, cmap="coolwarm", edgecolors="k", linewidths=0.3)
  ax.legend(*scatter.legend_elements(), title="label", loc="best")
  ax.set_xlabel("$x_1$")
  ax.set_ylabel("$x_2$")
  ax.set_title(title)
  return _png(fig)


def gradient_check_bars(per_param_by_label, threshold, *, title):
  """Per-parameter relative differences (manual vs finite differences), log scale.

  ``per_param_by_label``: {label: {param name: difference}}, one bar group per label.
  """
  fig, ax = plt.subplots(figsize=(6.5, 4))
  labels = list(per_param_by_label)
  names = list(per_param_by_label[labels[0]])
  width = 0.8 / len(labels)
  positions = np.arange(len(names))
  for k, label in enumerate(labels):
    # A difference of exactly 0 has no place on a log axis; show it at 1e-16.
    values = [max(per_param_by_label[label][n], 1e-16) for n in names]
    ax.bar(positions + k * width, values, width, label=label)
  ax.axhline(threshold, color="k", linestyle="--", label=f"threshold {threshold:g}")
  ax.set_yscale("log")
  ax.set_ylim(top=1e4)  # headroom above the tallest bars for the legend
  ax.set_xticks(positions + width * (len(labels) - 1) / 2, names)
  ax.set_xlabel("parameter")
  ax.set_ylabel("relative difference vs finite differences")
  ax.set_title(title)
  ax.legend(loc="upper left")
  return _png(fig)


def accuracy_vs_learning_rate(table, *, title):
  """Train and dev accuracy of every model of a sweep against its learning rate (log
  axis), the best model circled. ``table``: ``sweep.ranked_table`` rows, best first."""
  lr = np.array([row["learning_rate"] for row in table])
  train_acc = np.array([row["train_accuracy"] for row in table])
  dev_acc = np.array([row["dev_accuracy"] for row in table])
  fig, ax = plt.subplots(figsize=(6.5, 4.2))
  ax.scatter(lr, 100 * train_acc, s=18, marker="x", color="tab:gray", label="train")
  ax.scatter(lr, 100 * dev_acc, s=22, color="tab:blue", label="dev")
  ax.scatter(lr[:1], 100 * dev_acc[:1], s=160, facecolors="none", edgecolors="tab:red",
             linewidths=1.5, label=f"best: lr {lr[0]:.3g}, dev {100 * dev_acc[0]:.1f} %")
  ax.set_xscale("log")
  ax.set_xlabel("learning rate (log scale)")
  ax.set_ylabel("accuracy (%)")
  ax.set_title(title)
  ax.grid(alpha=0.3, which="both")
  ax.legend(loc="best", fontsize=8)
  return _png(fig)
