"""textseg: text detection by semantic segmentation.

Importing the package is cheap and torch-free; heavy modules load on first use.
"""

__version__ = "0.1.0"

__all__ = ["Detector", "page", "PageResult", "__version__"]


def __getattr__(name):
    if name == "Detector":
        from .detector import Detector

        return Detector
    if name in ("page", "PageResult"):  # textseg.page(image, level=..., recognize=...)
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'textseg' has no attribute {name!r}")
