"""PNG figures: cost curves and 2-D decision boundaries (matplotlib, no display needed).

Each function returns the PNG's bytes; writing them is the caller's I/O.
"""
import io

import matplotlib

matplotlib.use("Agg")  # headless: experiments run on servers and in CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


# Margins in inches (left, right, bottom, top) of the one-axes figures that a report draws
# for every row (cost curves, decision boundaries): as wide as tight_layout makes them for
# those figures, with room for longer tick labels, and a top that grows by a line per
# extra line of title. Fixed margins spare the extra draw that tight_layout takes to
# measure the labels: a third of such a figure's ~0.1 s.
AXES_MARGINS = (0.95, 0.25, 0.6, 0.4)
TITLE_LINE_IN = 0.22
TITLE_LINE_CHARS = 55  # about what a 6-inch figure's 12-point title line holds


# A row of panels under a figure title (suptitle): the gap between panels holds the right
# panel's y tick labels and y label; the top holds the figure title's line and the
# panels' own titles (PANEL_TITLE_LINE_IN per line of their smaller font).
PANEL_GAP_IN = 1.05
SUPTITLE_IN = 0.45
PANEL_TITLE_LINE_IN = 0.2


def axes_margins(title):
  """``AXES_MARGINS`` with the top widened for a title of several lines."""
  left, right, bottom, top = AXES_MARGINS
  return left, right, bottom, top + TITLE_LINE_IN * title.count("\n")


def panels_margins(panel_title_lines=1):
  """(left, right, bottom, top, gap) in inches of a row of panels with a one-line figure
  title and panel titles of ``panel_title_lines`` lines."""
  left, right, bottom, _ = AXES_MARGINS
  return (left, right, bottom, SUPTITLE_IN + PANEL_TITLE_LINE_IN * panel_title_lines,
          PANEL_GAP_IN)


def _fixed_margins(fig, margins):
  """Margins (left, right, bottom, top[, gap between a row's panels]) in inches."""
  left, right, bottom, top = margins[:4]
  width, height = fig.get_size_inches()
  wspace = None   # without a gap: matplotlib's own spacing between subplots
  if len(margins) > 4 and len(fig.axes) > 1:
    columns, gap = len(fig.axes), margins[4]
    wspace = gap / ((width - left - right - gap * (columns - 1)) / columns)
  fig.subplots_adjust(left=left / width, right=1 - right / width,
                      bottom=bottom / height, top=1 - top / height, wspace=wspace)


def _shown_tick_labels(axis, limits):
  low, high = sorted(limits)
  return [label for tick, label in zip(axis.get_ticklocs(), axis.get_ticklabels())
          if low <= tick <= high]


def _axes_texts(ax):
  """The texts an axes draws: its title and, with its axis on, the axis labels, offset
  texts and shown tick labels."""
  if not ax.axison:  # axis("off") draws no axis texts
    return [ax.title]
  return [ax.title, ax.xaxis.label, ax.yaxis.label, ax.xaxis.offsetText,
          ax.yaxis.offsetText, *_shown_tick_labels(ax.xaxis, ax.get_xlim()),
          *_shown_tick_labels(ax.yaxis, ax.get_ylim())]


def _labels_inside(fig):
  """Whether every axes' texts (``_axes_texts``) lie within the figure as last drawn (a
  title may be wider than the figure: no layout could help that, so only its height
  counts), none reaches into another axes with its axis on (side-by-side panels), and
  a figure title sits above every axes title."""
  renderer, box = fig.canvas.get_renderer(), fig.bbox
  framed = [ax for ax in fig.axes if ax.axison]
  titles_top = box.y0
  for ax in fig.axes:
    others = [other.get_window_extent(renderer) for other in framed if other is not ax]
    for text in _axes_texts(ax):
      if not text.get_visible() or not text.get_text():
        continue
      extent = text.get_window_extent(renderer)
      if extent.y0 < box.y0 or extent.y1 > box.y1:
        return False
      if text is not ax.title and (extent.x0 < box.x0 or extent.x1 > box.x1):
        return False
      if any(extent.overlaps(other) for other in others):
        return False
      if text is ax.title:
        titles_top = max(titles_top, extent.y1)
  suptitle = getattr(fig, "_suptitle", None)
  if suptitle is not None and suptitle.get_visible() and suptitle.get_text():
    extent = suptitle.get_window_extent(renderer)
    if extent.y1 > box.y1 or extent.y0 < titles_top:
      return False
  return True


def _png(fig, margins=None):
  """The figure as PNG bytes, laid out by tight_layout or, given ``margins``, by fixed
  ones; a figure whose labels the fixed margins do not hold (an offset above the y
  axis pushing the title up, long tick labels) is laid out by tight_layout after all."""
  buffer = io.BytesIO()
  if margins is not None:
    _fixed_margins(fig, margins)
    fig.savefig(buffer, format="png", dpi=100)
    if _labels_inside(fig):
      plt.close(fig)
      return buffer.getvalue()
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
    style = dict(style if len(curves) > 1 else {})
    if len(values) < 3:  # one or two recorded costs: a line alone would hardly show
      style["marker"] = "o"
    ax.plot(values[:, 0], values[:, 1], label=label, **style)
  if curves and spans_decades([v[:, 1] for v in curves.values()]):
    ax.set_yscale("log")
  ax.set_xlabel(xlabel)
  ax.set_ylabel("cost J" + (" (log scale)" if ax.get_yscale() == "log" else ""))
  suffix = f" (learning rate {learning_rate:g})" if learning_rate is not None else ""
  if len((title + suffix).rsplit("\n", 1)[-1]) > TITLE_LINE_CHARS:
    suffix = suffix.replace(" (", "\n(", 1)  # a line too long for the figure's width
  ax.set_title(title + suffix)
  ax.grid(alpha=0.3)
  ax.legend()
  return _png(fig, axes_margins(title + suffix))


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
  # Plain-text labels: mathtext ones (legend_elements' own, "$x_1$") were a sixth of the
  # figure's time.
  handles, _ = scatter.legend_elements()
  ax.legend(handles, [f"{v:g}" for v in np.unique(Y)], title="label", loc="best")
  ax.set_xlabel("x\u2081")
  ax.set_ylabel("x\u2082")
  ax.set_title(title)
  return _png(fig, axes_margins(title))


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
  return _png(fig, axes_margins(title))


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
  return _png(fig, axes_margins(title))


# --- the first lessons (intro_*, c1w1_relu_neuron, c1w2_vectorization) ----------------

def circle_fit(r, area, theta, *, title, extra=None, intercept=0.0):
  """The circles (radius, area) and the learned area = theta r^2 (+ intercept), beside
  pi r^2; linear axes on the left, log-log on the right (the small circles vanish on
  linear axes). ``extra``: optional (r, area) of a generated set, drawn fainter."""
  r, area = np.ravel(r), np.ravel(area)
  r_all = r if extra is None else np.concatenate([r, np.ravel(extra[0])])
  grid = np.linspace(max(r_all.min() * 0.8, 1e-3), r_all.max() * 1.05, 200)
  fig, axes = plt.subplots(1, 2, figsize=(10, 4))
  for ax, log in zip(axes, (False, True)):
    if extra is not None:
      ax.scatter(np.ravel(extra[0]), np.ravel(extra[1]), s=10, color="tab:gray", alpha=0.5,
                 label="generated circles (noisy)")
    ax.scatter(r, area, s=40, color="tab:blue", zorder=3, label="lesson's table")
    ax.plot(grid, np.pi * grid**2, "k:", lw=1.5, label=r"$\pi r^2$")
    learned = (rf"learned $\theta r^2$, $\theta$ = {theta:.4f}" if intercept == 0 else
               rf"learned $\theta r^2 + b$, $\theta$ = {theta:.4f}, b = {intercept:.3g}")
    ax.plot(grid, theta * grid**2 + intercept, color="tab:red", lw=1.5, alpha=0.8,
            label=learned)
    if log:
      ax.set_xscale("log")
      ax.set_yscale("log")
    ax.set_xlabel("radius r" + (" (log scale)" if log else ""))
    ax.set_ylabel("area" + (" (log scale)" if log else ""))
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="upper left")
  axes[0].set_title("linear axes")
  axes[1].set_title("log-log axes")
  fig.suptitle(title)
  return _png(fig, panels_margins())


def descent_paths(panels, *, title, xlabel="parameter", ylabel="cost J"):
  """One panel per learning rate: the loss curve and the path of GD steps on it.

  ``panels``: list of dicts with ``curve`` ((w grid, J grid)), ``path`` ((w_k, J_k) of
  the steps), ``title`` (the panel's) and optionally ``note`` (a line under it).
  """
  fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 4.2), squeeze=False)
  for ax, panel in zip(axes[0], panels):
    w_curve, j_curve = (np.asarray(a, float) for a in panel["curve"])
    w_path, j_path = (np.asarray(a, float) for a in panel["path"])
    ax.plot(w_curve, j_curve, color="tab:gray", lw=1.5, label="J")
    ax.plot(w_path, j_path, "-", color="tab:red", lw=0.8, alpha=0.7)
    ax.scatter(w_path, j_path, c=np.arange(len(w_path)), cmap="viridis", s=22, zorder=3,
               label="steps (dark = early)")
    ax.scatter(w_path[:1], j_path[:1], marker="s", s=50, facecolors="none",
               edgecolors="k", zorder=4, label="start")
    ax.set_title(panel["title"] + ("\n" + panel["note"] if panel.get("note") else ""),
                 fontsize=9)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper center")
  fig.suptitle(title)
  lines = max(1 + bool(panel.get("note")) for panel in panels)
  return _png(fig, panels_margins(lines))


def step_lengths(series, *, title):
  """|p_{k+1} - p_k| against k for each run (log y): straight lines whose slope is
  log |1 - alpha c| on a quadratic. ``series``: {label: step lengths}."""
  fig, ax = plt.subplots(figsize=(6, 4))
  for label, steps in series.items():
    steps = np.asarray(steps, float)
    keep = steps > 0
    ax.plot(np.arange(len(steps))[keep], steps[keep], marker="o", ms=3, label=label)
  ax.set_yscale("log")
  ax.set_xlabel("step k")
  ax.set_ylabel("step length |p(k+1) - p(k)| (log scale)")
  ax.set_title(title)
  ax.grid(alpha=0.3, which="both")
  ax.legend(fontsize=8)
  return _png(fig, axes_margins(title))


def image_grid(images, captions, *, title, ncols=13, cmap="gray"):
  """Small images (each (h, w), values in [0, 1]) in a grid, a caption above each.

  Drawn as one mosaic in one axes (a subplot per image makes the layout take seconds).
  """
  images = [np.asarray(im, dtype=float) for im in images]
  n, (h, w) = len(images), images[0].shape
  nrows = max(1, -(-n // ncols))
  gap, top = max(2, w // 6), max(6, h // 5)   # pixels between tiles and above each
  cell_h, cell_w = h + top, w + gap
  mosaic = np.full((nrows * cell_h, ncols * cell_w - gap), np.nan)  # NaN: background
  for k, im in enumerate(images):
    r, c = divmod(k, ncols)
    mosaic[r * cell_h + top:(r + 1) * cell_h, c * cell_w:c * cell_w + w] = im
  width = min(0.055 * mosaic.shape[1] + 0.4, 20.0)
  fig, ax = plt.subplots(figsize=(width, width * mosaic.shape[0] / mosaic.shape[1] + 0.9))
  colours = matplotlib.colormaps[cmap].with_extremes(bad="white")
  ax.imshow(mosaic, cmap=colours, vmin=0, vmax=1, interpolation="nearest")
  for k, caption in enumerate(captions[:n]):
    r, c = divmod(k, ncols)
    ax.text(c * cell_w + w / 2, r * cell_h + top - 1.5, caption, ha="center", va="bottom",
            fontsize=7)
  ax.axis("off")
  ax.set_title(title, fontsize=9)
  # Axes off: thin margins, and a top for the title's lines at 9 points.
  return _png(fig, (0.1, 0.1, 0.1, 0.2 + 0.16 * (title.count("\n") + 1)))


# (left, right, bottom, top) inches of the confusion matrix, two title lines at 10 points;
# the colorbar takes its room from the axes.
CONFUSION_MARGINS = (0.75, 0.35, 0.65, 0.6)


def confusion_matrix(C, class_names, *, title):
  """Counts C[i, j] of class i predicted as j (rows: truth), log colour scale."""
  C = np.asarray(C)
  fig, ax = plt.subplots(figsize=(7.2, 6.4))
  shown = np.where(C > 0, C, np.nan)  # empty cells white
  image = ax.imshow(shown, cmap="Blues", norm=matplotlib.colors.LogNorm(vmin=1,
                                                                       vmax=max(C.max(), 2)))
  ticks = np.arange(len(class_names))
  ax.set_xticks(ticks, class_names, fontsize=7)
  ax.set_yticks(ticks, class_names, fontsize=7)
  ax.set_xlabel("predicted letter")
  ax.set_ylabel("true letter")
  accuracy = np.trace(C) / max(C.sum(), 1)
  ax.set_title(f"{title}\n(accuracy {100 * accuracy:.1f} %, {C.sum()} images)", fontsize=10)
  fig.colorbar(image, ax=ax, label="count (log scale)", shrink=0.8)
  return _png(fig, CONFUSION_MARGINS)


def relu_fit(x, y, a, b, *, title, xlabel, ylabel):
  """The examples and the fitted neuron y = max(a x + b, 0)."""
  x, y = np.ravel(x), np.ravel(y)
  grid = np.linspace(min(x.min(), 0.0), x.max() * 1.05, 300)
  fig, ax = plt.subplots(figsize=(6, 4))
  ax.scatter(x, y, s=10, alpha=0.6, label="houses (generated)")
  sign = "+" if b >= 0 else "-"
  ax.plot(grid, np.maximum(a * grid + b, 0.0), color="tab:red", lw=2,
          label=f"fit: max({a:.3g} x {sign} {abs(b):.4g}, 0)")
  ax.set_xlabel(xlabel)
  ax.set_ylabel(ylabel)
  ax.set_title(title)
  ax.grid(alpha=0.3)
  ax.legend(fontsize=8)
  return _png(fig, axes_margins(title))


def predicted_vs_actual(series, *, title, unit):
  """Scatter of prediction against truth per model, with the diagonal.
  ``series``: {label: (y_true, y_pred)}."""
  fig, ax = plt.subplots(figsize=(5.5, 5))
  lo, hi = np.inf, -np.inf
  for (label, (truth, pred)), marker in zip(series.items(), "o^sv" * len(series)):
    truth, pred = np.ravel(truth), np.ravel(pred)
    ax.scatter(truth, pred, s=12, alpha=0.6, marker=marker, label=label)
    lo, hi = min(lo, truth.min(), pred.min()), max(hi, truth.max(), pred.max())
  ax.plot([lo, hi], [lo, hi], "k--", lw=1, label="prediction = truth")
  ax.set_xlabel(f"true price ({unit})")
  ax.set_ylabel(f"predicted price ({unit})")
  ax.set_title(title)
  ax.grid(alpha=0.3)
  ax.legend(fontsize=8)
  return _png(fig, axes_margins(title))


def _duration(seconds):
  return f"{seconds:.3g} s" if seconds >= 1 else f"{seconds * 1e3:.3g} ms"


def timing_bars(seconds, *, title, notes=None):
  """Horizontal bars of seconds per method (log x), each labelled with its time.
  ``seconds``: {label: s}; ``notes``: {label: extra text after the time}."""
  labels = list(seconds)
  values = np.array([max(float(seconds[k]), 1e-9) for k in labels])
  fig, ax = plt.subplots(figsize=(7.5, 0.55 * len(labels) + 1.5))
  positions = np.arange(len(labels))[::-1]
  ax.barh(positions, values, color="tab:blue", alpha=0.8)
  longest = values.max()
  for pos, label, value in zip(positions, labels, values):
    text = _duration(value) + (f" {notes[label]}" if notes and label in notes else "")
    if value == longest and value > 100 * values.min():  # inside its own long bar
      ax.text(value / 1.15, pos, text + " ", va="center", ha="right", fontsize=8,
              color="white")
    else:
      ax.text(value, pos, " " + text, va="center", fontsize=8)
  ax.set_yticks(positions, labels, fontsize=8)
  ax.set_xscale("log")
  ax.set_xlim(values.min() / 3, longest * 3)
  ax.set_xlabel("wall time per call, seconds (log scale)")
  ax.set_title(title)
  ax.grid(alpha=0.3, axis="x", which="both")
  return _png(fig)
