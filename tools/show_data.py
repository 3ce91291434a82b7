#!/usr/bin/env python
"""Draw ground truth on images to check a data set by eye.

    python tools/show_data.py --data DIR --out DIR [--n 8] [--level word|line] [--format png|jpg]
        [--overwrite]

DIR is any layout textseg.data.icdar.find_pairs understands (images/ + words/ or lines/,
the official ICDAR folders, ...). Care polygons are drawn in green, don't-care (###) in red.
"""

import argparse
import os
import sys

import _common


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--data", required=True, metavar="DIR", help="data set folder")
    ap.add_argument("--out", required=True, metavar="DIR", help="where overlays are written")
    ap.add_argument("--n", type=int, default=8, help="number of images (default 8; 0 = all)")
    ap.add_argument("--level", choices=["word", "line"], default="word")
    ap.add_argument("--format", choices=["png", "jpg"], default="jpg")
    ap.add_argument("--thickness", type=int, default=1, help="line width in px")
    ap.add_argument("--overwrite", action="store_true", help="replace existing pictures")
    return ap.parse_args(argv)


def draw(image, annotations, thickness=1):
    """RGB image with care polygons in green and don't-care ones in red (a copy)."""
    import numpy as np

    from textseg.output import draw_overlay

    out = draw_overlay(image, [np.asarray(a.polygon) for a in annotations if not a.ignore],
                       (0, 200, 0), thickness)
    return draw_overlay(out, [np.asarray(a.polygon) for a in annotations if a.ignore],
                        (230, 0, 0), thickness)


def main(argv=None):
    args = parse_args(argv)
    try:
        import cv2

        from textseg.data.icdar import find_pairs, read_gt
        from textseg.data.images import load_image
        from textseg.fileio import atomic_open

        if not os.path.isdir(args.data):
            _common.fail(f"{args.data}: data folder not found")
        pairs = [(img, gt) for img, gt in find_pairs(args.data, level=args.level) if gt]
        if not pairs:
            _common.fail(f"{args.data}: no image with {args.level} ground truth found")
        if args.n > 0:
            pairs = pairs[:args.n]

        def target(img_path):
            name = os.path.splitext(os.path.basename(img_path))[0] + f"_{args.level}.{args.format}"
            return os.path.join(args.out, name)

        if not args.overwrite:  # every output is checked before anything is written
            for img_path, _ in pairs:
                if os.path.exists(target(img_path)):
                    _common.fail(f"{target(img_path)}: exists (use --overwrite to replace it)")
        os.makedirs(args.out, exist_ok=True)
        for img_path, gt_path in pairs:
            image = load_image(img_path)
            anns = read_gt(gt_path, lenient=True)
            over = draw(image, anns, args.thickness)
            path = target(img_path)
            name = os.path.basename(path)
            ok, buf = cv2.imencode("." + args.format, over[..., ::-1])
            try:
                with atomic_open(path, "wb") as f:
                    f.write(buf.tobytes())
            except OSError as e:  # a full disk: name the file, not a temporary one
                _common.fail(f"{path}: {e.strerror or e}")
            care = sum(not a.ignore for a in anns)
            print(f"{name}: {care} care, {len(anns) - care} don't care")
    except KeyboardInterrupt:  # finished pictures stay, no half-written one is left
        _common.fail("interrupted", 130)
    except Exception as e:  # noqa: BLE001 - user errors in one line
        if isinstance(e, OSError) and not _common.is_user_error(e):
            _common.fail(f"{e.filename or args.out}: {e.strerror or e}")
        if not _common.is_user_error(e):
            raise
        _common.fail(_common.message(e))
    return 0


if __name__ == "__main__":
    sys.exit(main())
