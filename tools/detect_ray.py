#!/usr/bin/env python
"""Find text in images and PDFs with a Ray Data pipeline (local instance or a cluster).

    python tools/detect_ray.py INPUT... --out DIR [--address auto] [--actors N]
        [--threads-per-actor T] [--gpus-per-actor G] [tools/detect.py options]

The same outputs as tools/detect.py (JSON, res_*.txt, overlays). See textseg/distributed.py.
Needs Ray: pip install 'textseg[ray]' or pip install -r requirements-ray.txt.
"""

import sys

import _common  # noqa: F401  (sets sys.path)

if __name__ == "__main__":
    from textseg.distributed import main

    sys.exit(main())
