"""Page structure from detected words: lines and segments (:mod:`.lines`), orientation
(:mod:`.orientation`), blocks and reading order (:mod:`.order`), the page hierarchy
(:mod:`.page`), drawn rules (:mod:`.rules`) and :func:`analyze`, which builds it. numpy and
OpenCV only."""

from .analyze import analyze, reading_start
from .lines import LINE_DEFAULTS, SEGMENT_DEFAULTS, group_lines, line_labels, segment_lines
from .rules import RULE_DEFAULTS, RuleMap, rule_map
from .order import ORDER_DEFAULTS, reading_order
from .orientation import (detect_orientation, detect_upright, to_input_frame, to_upright_frame,
                          upright_image, upright_size)
from .page import Block, Line, PageLayout, Word, read_layout_json, write_layout_json

__all__ = ["group_lines", "segment_lines", "line_labels", "LINE_DEFAULTS", "SEGMENT_DEFAULTS",
           "RuleMap", "rule_map", "RULE_DEFAULTS",
           "analyze", "reading_start", "reading_order", "ORDER_DEFAULTS", "detect_orientation", "detect_upright",
           "upright_image", "upright_size", "to_upright_frame", "to_input_frame",
           "PageLayout", "Block", "Line", "Word", "write_layout_json", "read_layout_json"]
