"""The figures of a 2-D classification run: cost curve and decision boundary (PNG bytes)."""
import functools

import jax
import numpy as np

from dlcourse import plots
from dlcourse.models import dense


def two_d_figures(fit, arch, X, Y, *, title, learning_rate, xlabel="iteration"):
  """{"cost.png", "decision_boundary.png"} for params ``fit.params`` trained on X (2, m).

  Call it inside the run's precision context: the grid is evaluated in the params'
  dtype (float64 only exists there). The cost curve (host numbers only) is drawn when
  it is written (``runner.draw_figures``).
  """
  dtype = jax.tree.leaves(fit.params)[0].dtype
  predict = lambda grid: np.asarray(dense.predict(fit.params, grid.astype(dtype), arch))
  return {
      "cost.png": functools.partial(plots.cost_curve, fit.costs, title=title,
                                    learning_rate=learning_rate, xlabel=xlabel),
      "decision_boundary.png": plots.decision_boundary(predict, X, Y, title=title),
  }
