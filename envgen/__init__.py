"""envgen: one declarative profile in, every environment file a PyTorch project needs out."""

__version__ = "0.1.0"
