# The lupa API version this package implements (upstream lupa's `lupa.__version__`).
# The version of the lupa-rs distribution itself is set in pyproject.toml.
__version__ = "2.8"
