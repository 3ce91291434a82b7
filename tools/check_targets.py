#!/usr/bin/env python
"""Round-trip check of a method's targets and decoder: GT -> training maps -> polygons.

    python tools/check_targets.py --config CFG --data DIR [--out DIR [--overwrite]] [--n K]
        [--level word|line] [--max-side N] [--set KEY=VALUE ...]

For each image of DIR with ground truth: scale the GT to the network input size the
Detector would use (the config's infer.resize policy; --max-side replaces its cap), build the
method's training targets, turn them into the maps a perfect head would output in eval
mode, decode them with the method's decoder, scale the polygons back and score them
against the original GT with the ICDAR 2015 protocol. A method whose targets are not the
eval-mode maps (e.g. PSENet's kernels) provides ``targets_to_maps(targets, cfg)`` in its
targets.py (cfg: the targets config, see ``textseg.methods.target_config``); without it
the targets are passed to the decoder as they are. The round trip itself is
``textseg.validation.check_targets``; this tool prints it and draws the pictures.

Prints one line per image, then precision/recall/hmean; the last line is one JSON object.
--out writes, per image, a picture of every map channel and an overlay of the decoded
polygons (green) and the missed GT (red) on the image.
"""

import argparse
import json
import os
import sys

import numpy as np

import _common


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True, help="model config (YAML)")
    ap.add_argument("--data", required=True, help="folder of images with ICDAR ground truth")
    ap.add_argument("--out", help="folder for pictures of the maps and overlays")
    ap.add_argument("--overwrite", action="store_true", help="replace existing pictures in --out")
    ap.add_argument("--n", type=int, default=0, help="only the first K images (0: all)")
    ap.add_argument("--level", choices=["word", "line"], default="word")
    ap.add_argument("--max-side", type=int, default=None,
                    help="cap of the input's long side (default: the config's infer.resize)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="config override, e.g. --set model.targets.min_text_size=4")
    args = ap.parse_args(argv)
    if args.max_side is not None and args.max_side < 32:
        ap.error("--max-side must be at least 32")
    if args.n < 0:
        ap.error("--n must be >= 0")
    return args


def _colour(channel):
    import cv2

    c = np.nan_to_num(channel.astype(np.float64))
    lo, hi = float(c.min()), float(c.max())
    norm = np.zeros_like(c) if hi <= lo else (c - lo) / (hi - lo)
    img = cv2.applyColorMap((norm * 255).astype(np.uint8), cv2.COLORMAP_VIRIDIS)
    return img, lo, hi


def save_pictures(out, key, image, maps, dets, missed):
    """<key>_maps.png: every channel of every map; <key>_overlay.png: image + polygons."""
    import cv2

    from textseg.output import draw_overlay

    tiles = []
    for name, arr in maps.items():
        arr = np.asarray(arr)
        arr = arr.reshape((-1,) + arr.shape[-2:])
        for c in range(arr.shape[0]):
            tile, lo, hi = _colour(arr[c])
            label = f"{name}[{c}] {lo:.3g}..{hi:.3g}"
            cv2.putText(tile, label, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1)
            tiles.append(tile)
    cols = min(3, len(tiles))
    rows = -(-len(tiles) // cols)
    th, tw = tiles[0].shape[:2]
    mosaic = np.zeros((rows * th, cols * tw, 3), np.uint8)
    for i, t in enumerate(tiles):
        r, c = divmod(i, cols)
        mosaic[r * th:(r + 1) * th, c * tw:(c + 1) * tw] = t
    _save_png(os.path.join(out, f"{key}_maps.png"), mosaic)
    over = draw_overlay(image, [np.asarray(p) for p, _ in dets], (0, 200, 0), 1)
    over = draw_overlay(over, [np.asarray(p) for p in missed], (255, 0, 0), 2)
    _save_png(os.path.join(out, f"{key}_overlay.png"), cv2.cvtColor(over, cv2.COLOR_RGB2BGR))


def _save_png(path, bgr):
    import cv2

    from textseg.fileio import atomic_write

    ok, buf = cv2.imencode(".png", bgr)
    if not ok:
        raise OSError(f"{path}: could not encode the picture")
    try:
        atomic_write(path, buf.tobytes())
    except OSError as e:  # a full disk: the error names the picture, not a temporary file
        raise OSError(e.errno, e.strerror or str(e), path) from None


def existing_pictures(args):
    """The pictures of --out that this run would replace."""
    from textseg.data.icdar import find_pairs
    from textseg.validation import image_key

    pairs = [img for img, gt in find_pairs(args.data, level=args.level) if gt]
    if args.n:
        pairs = pairs[:args.n]
    names = [f"{image_key(img)}_{kind}.png" for img in pairs for kind in ("maps", "overlay")]
    return [os.path.join(args.out, n) for n in names if os.path.exists(os.path.join(args.out, n))]


def run(args):
    """The round trip (textseg.validation.check_targets): one line per image, the summary."""
    from textseg.config import load_config
    from textseg.validation import check_targets

    cfg = load_config(args.config, args.set)
    if args.out:
        if not args.overwrite and os.path.isdir(args.data):
            found = existing_pictures(args)
            if found:
                more = f"; {len(found)} pictures would be replaced" if len(found) > 1 else ""
                _common.fail(f"{found[0]}: exists (use --overwrite to replace it{more})")
        os.makedirs(args.out, exist_ok=True)

    def report(trip):
        res, (nh, nw) = trip.result, trip.input_hw
        print(f"{trip.key}: {nw}x{nh} gt {res['gt_care']} det {res['det_care']} matched "
              f"{res['matched']} targets {1000 * trip.targets_s:.0f} ms decode "
              f"{1000 * trip.decode_s:.0f} ms", flush=True)
        if args.out:
            save_pictures(args.out, trip.key, trip.image, trip.targets, trip.detections,
                          trip.missed)

    summary = check_targets(cfg, args.data, level=args.level, max_side=args.max_side,
                            limit=args.n, on_image=report)
    print(f"precision {summary['precision']:.4f} recall {summary['recall']:.4f} "
          f"hmean {summary['hmean']:.4f} ({summary['images']} images)")
    print(json.dumps(summary))
    return summary


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        run(args)
    except KeyboardInterrupt:  # finished pictures stay, no half-written one is left
        _common.fail("interrupted", 130)
    except Exception as e:  # noqa: BLE001 - user errors in one line
        if isinstance(e, OSError) and not _common.is_user_error(e):  # a full disk, ...
            _common.fail(f"{e.filename or args.out}: {e.strerror or e}")
        if not _common.is_user_error(e):
            raise
        _common.fail(_common.message(e))


if __name__ == "__main__":
    main()
