"""l2lib: training dynamics of deep networks with L2 regularization."""

__version__ = "0.1.0"
