"""envgen: one declarative profile in, every environment file a PyTorch project needs out."""

__version__ = "0.1.0"

# The name envgen is published under. The command and the import package are `envgen`, but
# "envgen" (and "envgen-cli") on the public index are unrelated projects: every file envgen
# writes that installs envgen names this distribution, pinned (see ``install_spec``).
DISTRIBUTION = "torch-envgen"


def install_spec() -> str:
    """The requirement that installs this very envgen, never a bare name another project owns."""
    return f"{DISTRIBUTION}=={__version__}"
