"""Face data with known factors: the synthetic renderer and loaders for real faces."""

from sepviz.data.faceset import FaceSet

__all__ = ["FaceSet"]
