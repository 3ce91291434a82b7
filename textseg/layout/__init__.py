"""Page structure from detected words: lines (:mod:`.lines`). numpy and OpenCV only."""

from .lines import LINE_DEFAULTS, SEGMENT_DEFAULTS, group_lines, line_labels, segment_lines

__all__ = ["group_lines", "segment_lines", "line_labels", "LINE_DEFAULTS", "SEGMENT_DEFAULTS"]
