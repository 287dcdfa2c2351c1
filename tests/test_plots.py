"""Figures: PNG bytes, and the log-axis rule for costs spanning decades."""
import numpy as np

from dlcourse import plots


def test_spans_decades():
  assert plots.spans_decades([np.array([1773.6, 0.5, 0.4])])
  assert not plots.spans_decades([np.array([0.69, 0.3]), np.array([0.5])])
  assert not plots.spans_decades([np.array([np.inf, 0.0, 0.5])])  # only finite, positive count


def test_figures_are_png():
  costs = [[0, 0.7], [100, 0.5]]
  assert plots.cost_curve(costs, title="t").startswith(b"\x89PNG")
  X = np.array([[0.0, 1.0, 0.5], [0.0, 1.0, 0.2]])
  png = plots.decision_boundary(lambda g: (g[0] > 0.5).astype(int), X, np.array([[0, 1, 1]]),
                                title="t", resolution=20)
  assert png.startswith(b"\x89PNG")


def _shown_tick_labels(axis, limits):
  """The tick labels matplotlib draws: those of ticks within the axis limits."""
  low, high = sorted(limits)
  return [label for tick, label in zip(axis.get_ticklocs(), axis.get_ticklabels())
          if low <= tick <= high]


def _texts_inside_the_figure(fig):
  """The title, axis labels and shown tick labels of every axes lie within the figure."""
  renderer = fig.canvas.get_renderer()
  box = fig.bbox
  for ax in fig.axes:
    texts = [ax.title] if not ax.axison else [  # axis("off") draws no axis texts
        ax.title, ax.xaxis.label, ax.yaxis.label, ax.xaxis.offsetText,
        ax.yaxis.offsetText, *_shown_tick_labels(ax.xaxis, ax.get_xlim()),
        *_shown_tick_labels(ax.yaxis, ax.get_ylim())]
    for text in texts:
      if not text.get_text():
        continue
      extent = text.get_window_extent(renderer)
      assert box.x0 <= extent.x0 and extent.x1 <= box.x1, text.get_text()
      assert box.y0 <= extent.y0 and extent.y1 <= box.y1, text.get_text()
    offset = ax.yaxis.offsetText
    if offset.get_text():  # an offset above the axis, and the title clear of it
      assert not ax.title.get_window_extent(renderer).overlaps(
          offset.get_window_extent(renderer))


def test_fixed_margins_keep_titles_and_labels_inside_the_figure(monkeypatch):
  """The report's figures skip tight_layout: a two-line title, a log axis and a wide
  plane must still fit."""
  figures = []
  monkeypatch.setattr(plots.plt, "close", figures.append)
  steps = np.arange(0, 10000, 100)
  costs = np.c_[steps, 1e4 * np.exp(-steps / 300) + 0.01]
  plots.cost_curve(None, series={"course-compatible (float64, NumPy init)": costs,
                                 "JAX-keyed (float32)": 1.1 * costs},
                   title="C2W2 Adam, lr 0.0007, moons\ncost J, both modes",
                   learning_rate=0.0007, xlabel="epoch")
  plots.cost_curve(np.c_[steps, 0.693147 - steps / 3e6], title="flat cost")
  # C2W1's zeros initialization: costs flat to 1e-9 put an offset above the y axis.
  flat = np.c_[steps, np.full(len(steps), 0.6931471805)]
  plots.cost_curve(None, series={"course": flat, "jax": flat + 2.5e-9},
                   title="C2W1 zeros initialization, circles\ncost J, both modes",
                   learning_rate=0.01)
  plots.cost_curve(np.c_[steps, 1 / (1 + steps)],
                   title="MNIST-1D mlp: mini-batch cost (mean of seeds)", learning_rate=0.01)
  X = np.array([[-1000.0, 2500.0, 0.5], [-1.5, 1.0, 0.25]])
  plots.decision_boundary(lambda grid: grid[:1] > 0, X, np.array([[0, 1, 1]]),
                          title="a decision boundary", resolution=20)
  assert len(figures) == 5
  for fig in figures:
    fig.canvas.draw()
    _texts_inside_the_figure(fig)


def test_margins_too_narrow_for_the_labels_fall_back_to_tight_layout(monkeypatch):
  figures = []
  monkeypatch.setattr(plots.plt, "close", figures.append)
  fig, ax = plots.plt.subplots(figsize=(5, 4))
  ax.plot([0, 1], [1000.5, 2000.5])
  ax.set_xlabel("x")
  ax.set_ylabel("a y label")
  ax.set_title("title")
  assert plots._png(fig, margins=(0.0, 0.0, 0.0, 0.0)).startswith(b"\x89PNG")
  fig.canvas.draw()
  _texts_inside_the_figure(fig)


def test_letter_figures_fit_their_fixed_margins(monkeypatch):
  """The confusion matrix (two-line title, colorbar with its label) and the image grid
  (axes off) hold in their fixed margins, without tight_layout's extra draw."""
  figures, laid_out = [], []
  monkeypatch.setattr(plots.plt, "close", figures.append)
  monkeypatch.setattr(plots.matplotlib.figure.Figure, "tight_layout",
                      lambda fig, *a, **k: laid_out.append(fig))
  C = np.diag(np.full(26, 40)) + np.eye(26, k=1, dtype=int) * 3
  plots.confusion_matrix(C, list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
                         title="Letters, quadratic loss: test set, all fonts")
  images = [np.full((55, 22), k / 52) for k in range(52)]
  plots.image_grid(images, [f"{k}*" for k in range(52)], ncols=26,
                   title="Test images, one row per font: a; b; c *\n(* = font only in the test set)")
  assert len(figures) == 2 and laid_out == []
  for fig in figures:
    fig.canvas.draw()
    _texts_inside_the_figure(fig)


def test_one_axes_figures_fit_the_report_margins(monkeypatch):
  """The first lessons' and the gradient check's one-axes figures hold in
  ``axes_margins`` (no tight_layout) with their labels inside."""
  figures, laid_out = [], []
  monkeypatch.setattr(plots.plt, "close", figures.append)
  monkeypatch.setattr(plots.matplotlib.figure.Figure, "tight_layout",
                      lambda fig, *a, **k: laid_out.append(fig))
  x = np.linspace(20, 250, 50)
  plots.relu_fit(x, 2.7 * x - 120, 2.72, -124.6, xlabel="size (m^2)", ylabel="price (k$)",
                 title="One ReLU neuron: price = max(a size + b, 0), 300 houses")
  plots.predicted_vs_actual({"one neuron": (x, x + 5), "[4, 3, 1] net": (x, x - 3)},
                            title="Test houses (100): neuron vs net", unit="k$")
  plots.step_lengths({"bowl, right (alpha 0.3)": 0.5 ** np.arange(12),
                      "circle, too large (alpha 6.5e-05)": 1.4 ** np.arange(12)},
                     title="Step lengths: each is |1 - alpha c| times the last")
  table = [{"learning_rate": 10.0 ** -k, "train_accuracy": 0.9 - 0.1 * k,
            "dev_accuracy": 0.8 - 0.1 * k} for k in range(1, 4)]
  plots.accuracy_vs_learning_rate(table, title="MNIST-1D random search: train / dev accuracy")
  plots.gradient_check_bars({"manual": {"W1": 1e-9, "b1": 0.0},
                             "planted bug": {"W1": 0.5, "b1": 1e-10}}, 1e-7,
                            title="Gradient check, 4-5-3-1 net")
  assert len(figures) == 5 and laid_out == []
  for fig in figures:
    fig.canvas.draw()
    _texts_inside_the_figure(fig)


def _panel_paths():
  w = np.linspace(-3, 3, 50)
  panel = lambda name, note=None: {"curve": (w, w**2 * 1e5),
                                   "path": (w[::10], w[::10]**2 * 1e5),
                                   "title": name, **({"note": note} if note else {})}
  return [panel("too small: alpha = 2e-06", "step ratio 0.932; cost 3.092e+04"),
          panel("right: alpha = 2e-05"), panel("too large", "diverged")]


def test_panel_figures_fit_their_fixed_margins(monkeypatch):
  """The first lessons' rows of panels under a figure title (descent paths, the circle
  fit) hold in ``panels_margins``: texts inside, none reaching into the next panel, the
  figure title above the panels' two-line titles; no tight_layout."""
  figures, laid_out = [], []
  monkeypatch.setattr(plots.plt, "close", figures.append)
  monkeypatch.setattr(plots.matplotlib.figure.Figure, "tight_layout",
                      lambda fig, *a, **k: laid_out.append(fig))
  plots.descent_paths(_panel_paths(), xlabel="theta", ylabel="J(theta)",
                      title="Circle area, J(theta) = 1/(2m) sum (theta r^2 - area)^2: 12 steps")
  r = np.array([1.0, 1.4, 2.0, 10.0, 20.0])
  plots.circle_fit(r, np.pi * r**2, 3.14, title="area = theta r^2 learned from 5 circles",
                   extra=(r * 3, np.pi * 9 * r**2))
  assert len(figures) == 2 and laid_out == []
  for fig in figures:
    fig.canvas.draw()
    _texts_inside_the_figure(fig)
    assert plots._labels_inside(fig)


def test_panels_too_close_or_a_low_figure_title_fall_back_to_tight_layout(monkeypatch):
  """No gap between panels puts the right panel's y labels into the left one, and no top
  margin the figure title into the panel titles: both are laid out by tight_layout."""
  laid_out = []
  monkeypatch.setattr(plots.matplotlib.figure.Figure, "tight_layout",
                      lambda fig, *a, **k: laid_out.append(fig))
  for margins in ((0.95, 0.25, 0.6, 0.85, 0.0), (0.95, 0.25, 0.6, 0.2, 1.05)):
    monkeypatch.setattr(plots, "panels_margins", lambda lines, m=margins: m)
    plots.descent_paths(_panel_paths(), xlabel="w", ylabel="J(w)", title="a figure title")
  assert len(laid_out) == 2
