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


@dataclasses.dataclass(frozen=True)
class Row:
  """One row of the report: the experiment's config with ``overrides`` applied.

  ``jax_overrides`` apply only in JAX-keyed mode; ``tolerance`` is the percentage points
  allowed in course-compatible mode before the row says "no"; ``modes`` defaults to both
  modes when the config has ``course_compat`` and to the config as it is otherwise.
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


def no_variants(variant):
  """For a config without variants: ValueError for any (``path.py:typo`` is refused in one
  line by the CLI rather than silently ignored)."""
  if variant is not None:
    raise ValueError(f"unknown variant {variant!r}: this experiment has no variants")
