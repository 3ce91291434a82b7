"""Synthetic scanned pages with ICDAR ground truth (see :mod:`.pages`).

    from textseg.data.synth import write_dataset, generate_page

Modules: :mod:`.pages` (page assembly, labelling, data-set writer), :mod:`.layout`
(page templates), :mod:`.blocks` (text blocks), :mod:`.graphics` (non-text marks),
:mod:`.render` (FreeType rendering), :mod:`.fonts`, :mod:`.text` (corpus) and
:mod:`.scan` (paper and scanner effects).
"""

from .pages import (SYNTH_DEFAULTS, SynthPage, build_gt, draw_page, generate_page, manifest, merge_config,
                    page_seed, write_dataset)

__all__ = ["SynthPage", "SYNTH_DEFAULTS", "generate_page", "write_dataset", "page_seed", "merge_config",
           "build_gt", "draw_page", "manifest"]
