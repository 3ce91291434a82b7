"""The shapes of the values that cross module boundaries, as type aliases.

They describe what the public API takes and returns (decoders, targets, Detector, config
loading, evaluation, ICDAR I/O); they add no runtime checks. Torch-free (numpy only).

* :data:`Polygon`: float32 array (N, 2) of x, y pixel coordinates, N >= 3 (4 for
  quads), clockwise in image coordinates (y down) from the top-left point.
* :data:`Detection`: ``(polygon, score)``; a decoder returns a list of them in
  network-input pixels, :class:`~textseg.detector.Detector` in image pixels.
* :data:`Maps`: output name -> array of one image (``(C, h, w)`` maps at the method's
  stride, or fixed-size instance lists) or of a batch (a leading N axis).
* :data:`Targets`: training target name -> array of one image (``build_targets``).
* :class:`AnnotationLike`: a ground-truth instance (``textseg.data.icdar.Annotation``).
"""

import os
from typing import Any, Dict, Mapping, Protocol, Sequence, Tuple, Union

import numpy as np

__all__ = ["AnnotationLike", "Annotations", "Config", "Detection", "GroundTruth", "Image",
           "ImageInput", "Maps", "PartConfig", "Polygon", "Results", "Targets"]

#: float32 (N, 2) x, y in pixels, clockwise from the top-left point
Polygon = np.ndarray
#: (polygon, score)
Detection = Tuple[Polygon, float]
#: output name -> array (one image or a batch)
Maps = Dict[str, np.ndarray]
#: training target name -> array of one image
Targets = Dict[str, np.ndarray]
#: RGB uint8 (H, W, 3)
Image = np.ndarray
#: what a Detector accepts: an image array (RGB, RGBA or grayscale uint8) or a file path
ImageInput = Union[np.ndarray, str, os.PathLike]
#: a merged, validated config: sections model, data, train, infer of plain values
Config = Dict[str, Any]
#: what a targets builder or decoder receives: a target_config / decode_config dict (or a
#: partial one; missing keys take their defaults)
PartConfig = Mapping[str, Any]
#: image key -> detections, the input of the evaluation
Results = Mapping[Any, Sequence[Detection]]


class AnnotationLike(Protocol):
    """One ground-truth text instance: polygon (N, 2), transcription, don't-care flag."""

    polygon: Any
    text: str
    ignore: bool


#: the ground truth of one image
Annotations = Sequence[AnnotationLike]
#: image key -> ground truth, the other input of the evaluation
GroundTruth = Mapping[Any, Annotations]
