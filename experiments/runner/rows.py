"""What a config module declares for the report: the published numbers and its rows.

Imported by every config file, so it imports nothing heavy (listing the experiments
must not load JAX).
"""
import dataclasses
from typing import Optional


@dataclasses.dataclass(frozen=True)
class Course:
  """Published numbers: accuracies in %, a cost at an iteration (None: none published)."""
  train: Optional[float] = None
  test: Optional[float] = None
  cost: Optional[tuple] = None   # (iteration, cost)


# The report's two modes of a config with ``course_compat`` (``report.COURSE_MODES``).
REPORT_MODES = ("course", "jax")


@dataclasses.dataclass(frozen=True)
class Row:
  """One row of the report: the experiment's config with ``overrides`` applied.

  ``jax_overrides`` apply only in JAX-keyed mode; ``tolerance`` is the percentage points
  allowed in course-compatible mode before the row says "no". A config with
  ``course_compat`` runs in both modes, "course" and "jax", unless ``modes`` names one
  (a row that neither mode changes, such as scikit-learn's baseline, runs once); a
  config without it runs as it is.
  """
  id: str
  title: str
  course: Course = Course()
  overrides: dict = dataclasses.field(default_factory=dict)
  jax_overrides: dict = dataclasses.field(default_factory=dict)
  tolerance: float = 0.0
  note: str = ""
  variant: Optional[str] = None
  # Rough wall seconds of one mode on one core: the report starts the longest rows first
  # so that its workers finish together.
  expected_s: float = 2.0
  modes: Optional[tuple] = None

  def __post_init__(self):
    if self.modes is not None and (not self.modes or set(self.modes) - set(REPORT_MODES)):
      raise ValueError(f"row {self.id}: modes must be a non-empty subset of {REPORT_MODES}, "
                       f"got {self.modes!r}")


def no_variants(variant):
  """For a config without variants: ValueError for any (``path.py:typo`` is refused in one
  line by the CLI rather than silently ignored)."""
  if variant is not None:
    raise ValueError(f"unknown variant {variant!r}: this experiment has no variants")
