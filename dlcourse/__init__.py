"""dlcourse: the deep-learning course in functional JAX, with hand-derived gradients.

Notation, used everywhere (course shapes):

| symbol | shape | meaning |
| --- | --- | --- |
| X = A^[0] | (n_x, m) | inputs, one example per column |
| Y | (1, m) labels, or (K, m) one-hot | targets |
| W^[l] | (n_l, n_{l-1}) | weights of layer l = 1..L, key "W{l}" |
| b^[l] | (n_l, 1) | biases, key "b{l}" |
| Z^[l], A^[l] | (n_l, m) | pre-activation and activation |
| dW^[l], db^[l] | as W^[l], b^[l] | gradients, same keys as params |
"""
__version__ = "0.1.0"
