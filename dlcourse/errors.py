"""Typed errors raised before anything is compiled.

Every check in the library raises one of these (all are ``ValueError``s, so callers
that only know Python's built-ins still catch them). Messages name the offending
file, key, shape or value and say what was expected.
"""


class DLCourseError(ValueError):
  """Base class of every error this library raises on bad input."""


class DataError(DLCourseError):
  """A data file or array is missing, corrupt, or not what the course expects."""


class ShapeError(DLCourseError):
  """Arrays whose shapes disagree with each other or with the architecture."""


class ConfigError(DLCourseError):
  """A hyperparameter or architecture that cannot be trained."""


class GradientCheckError(DLCourseError):
  """Raised on request when a gradient check finds disagreeing parameters."""
