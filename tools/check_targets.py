#!/usr/bin/env python
"""Round-trip check of a method's targets and decoder: GT -> training maps -> polygons.

    python tools/check_targets.py --config CFG --data DIR [--out DIR] [--n K]
        [--level word|line] [--max-side N] [--set KEY=VALUE ...]

For each image of DIR with ground truth: scale the GT to the network input size the
Detector would use (the config's infer.resize policy; --max-side replaces its cap), build the
method's training targets, turn them into the maps a perfect head would output in eval
mode, decode them with the method's decoder, scale the polygons back and score them
against the original GT with the ICDAR 2015 protocol. A method whose targets are not the
eval-mode maps (e.g. PSENet's kernels) provides ``targets_to_maps(targets, cfg)`` in its
targets.py (cfg: the targets config, see ``textseg.methods.target_config``); without it
the targets are passed to the decoder as they are.

Prints one line per image, then precision/recall/hmean; the last line is one JSON object.
--out writes, per image, a picture of every map channel and an overlay of the decoded
polygons (green) and the missed GT (red) on the image.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

import _common


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True, help="model config (YAML)")
    ap.add_argument("--data", required=True, help="folder of images with ICDAR ground truth")
    ap.add_argument("--out", help="folder for pictures of the maps and overlays")
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


def perfect_maps(targets_mod, targets, tcfg):
    if hasattr(targets_mod, "targets_to_maps"):
        return targets_mod.targets_to_maps(targets, tcfg)
    return targets


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
    atomic_write(path, buf.tobytes())


def run(args):
    from textseg.config import load_config
    from textseg.data import icdar
    from textseg.data.images import load_image
    from textseg.detector import input_size
    from textseg.evaluation import evaluate
    from textseg.methods import decode_config, method_part, target_config

    cfg = load_config(args.config, args.set)
    method = cfg["model"]["head"]["method"]
    targets_mod = method_part(method, "targets")
    decode = method_part(method, "decode").decode
    tcfg, dcfg = target_config(cfg), decode_config(cfg)
    resize = dict(cfg["infer"]["resize"])
    if args.max_side:
        resize["max_side"] = args.max_side
    pairs = [(img, gt) for img, gt in icdar.find_pairs(args.data, level=args.level) if gt]
    if not pairs:
        raise FileNotFoundError(f"{args.data}: no images with {args.level}-level ground truth found")
    if args.n:
        pairs = pairs[:args.n]
    if args.out:
        os.makedirs(args.out, exist_ok=True)
    gt, pred = {}, {}
    t_targets = t_decode = 0.0
    for img_path, gt_path in pairs:
        key = os.path.splitext(os.path.basename(img_path))[0]
        anns = icdar.read_gt(gt_path)
        image = load_image(img_path)
        h, w = image.shape[:2]
        nh, nw = input_size(h, w, resize)
        to_input = np.array([nw / w, nh / h], np.float32)
        scaled = [a._replace(polygon=np.asarray(a.polygon, np.float32) * to_input) for a in anns]
        t0 = time.perf_counter()
        targets = targets_mod.build_targets(scaled, (nh, nw), tcfg)
        maps = perfect_maps(targets_mod, targets, tcfg)
        t1 = time.perf_counter()
        dets = decode(maps, dcfg)
        t2 = time.perf_counter()
        t_targets, t_decode = t_targets + t1 - t0, t_decode + t2 - t1
        dets = [(np.asarray(p, np.float32) / to_input, s) for p, s in dets]
        gt[key], pred[key] = anns, dets
        res = evaluate({key: anns}, {key: dets})
        print(f"{key}: {nw}x{nh} gt {res['gt_care']} det {res['det_care']} matched {res['matched']} "
              f"targets {1000 * (t1 - t0):.0f} ms decode {1000 * (t2 - t1):.0f} ms", flush=True)
        if args.out:
            hit = {g for g, _ in res["per_image"][key]["pairs"]}
            missed = [a.polygon for i, a in enumerate(anns) if not a.ignore and i not in hit]
            save_pictures(args.out, key, image, targets, dets, missed)
    res = evaluate(gt, pred)
    summary = {"method": method, "level": args.level, "images": len(pairs),
               "precision": round(res["precision"], 4), "recall": round(res["recall"], 4),
               "hmean": round(res["hmean"], 4), "gt_care": res["gt_care"],
               "det_care": res["det_care"], "matched": res["matched"],
               "targets_ms": round(1000 * t_targets / len(pairs), 1),
               "decode_ms": round(1000 * t_decode / len(pairs), 1)}
    print(f"precision {summary['precision']:.4f} recall {summary['recall']:.4f} "
          f"hmean {summary['hmean']:.4f} ({len(pairs)} images)")
    print(json.dumps(summary))
    return summary


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        run(args)
    except Exception as e:  # noqa: BLE001 - user errors in one line
        if not _common.is_user_error(e):
            raise
        _common.fail(_common.message(e))


if __name__ == "__main__":
    main()
