"""sepviz: where does information live inside face models?

An educational toolkit that measures what a latent vector holds, what decoders hold, and how
to pull one factor (lighting) out of a latent on purpose, on faces whose factors are known.

Imports are light on purpose: ``import sepviz`` loads neither matplotlib nor umap.
"""

__version__ = "0.4.0"

__all__ = ["__version__"]
