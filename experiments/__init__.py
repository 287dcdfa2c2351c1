"""absl experiment apps, one per course exercise; configs in ``experiments/configs``."""
