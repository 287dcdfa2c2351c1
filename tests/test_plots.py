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
