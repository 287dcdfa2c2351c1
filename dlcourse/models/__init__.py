"""Models: the L-layer dense net (hand-derived backward), logistic regression, a flax twin."""
