"""Page structure from detected words: lines (:mod:`.lines`). numpy and OpenCV only."""

from .lines import LINE_DEFAULTS, group_lines

__all__ = ["group_lines", "LINE_DEFAULTS"]
