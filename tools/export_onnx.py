#!/usr/bin/env python
"""Export a checkpoint to ONNX (checked against PyTorch before the file is written).

    python tools/export_onnx.py --checkpoint C.pt --out model.onnx [--opset 17] [--fp16]
        [--static H W] [--config CFG] [--check-image PAGE] [--no-check] [--overwrite]

The file carries its config in its metadata: ``Detector.from_onnx(path)`` and
``tools/detect.py --model model.onnx`` need nothing else (and no PyTorch).
"""

import argparse
import os
import sys

import _common


def parse_args(argv):
    from textseg.export import MAX_OPSET, MIN_OPSET

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True, metavar="C.pt", help="textseg checkpoint")
    ap.add_argument("--out", required=True, metavar="MODEL.onnx", help="ONNX file to write")
    ap.add_argument("--opset", type=int, default=MIN_OPSET,
                    help=f"ONNX opset, {MIN_OPSET}..{MAX_OPSET} (default {MIN_OPSET})")
    ap.add_argument("--fp16", action="store_true",
                    help="float16 weights, arithmetic, input and outputs (GPU; half-size file)")
    ap.add_argument("--static", nargs=2, type=int, metavar=("H", "W"),
                    help="fixed input height and width (default: any size)")
    ap.add_argument("--check-image", metavar="PAGE",
                    help="page for the PyTorch/onnxruntime parity check "
                         "(default examples/page.jpg or a synthetic page)")
    ap.add_argument("--config", metavar="CFG",
                    help="YAML whose infer section (resize policy, decoder thresholds) replaces "
                         "the checkpoint's in the exported metadata")
    ap.add_argument("--no-check", action="store_true", help="skip the parity check")
    ap.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if os.path.isdir(args.out):  # before the exists check: a folder is not "a file exists"
        _common.fail(f"{args.out}: is a directory; give a file name such as model.onnx")
    if os.path.lexists(args.out) and not args.overwrite:
        _common.fail(f"{args.out}: file exists (pass --overwrite to replace it)")
    with _common.user_errors():
        from textseg.export import export_onnx
        from textseg.fileio import ensure_writable_dir

        ensure_writable_dir(os.path.dirname(os.path.abspath(args.out)), create=True)
        report = export_onnx(args.checkpoint, args.out, infer_config=args.config,
                             opset=args.opset, fp16=args.fp16,
                             static_hw=args.static, check=not args.no_check,
                             check_image=args.check_image, overwrite=args.overwrite)
    shape = "x".join(map(str, report["static_hw"])) if report["static_hw"] else "any HxW"
    print(f"wrote {report['path']}: {report['bytes'] / 1e6:.1f} MB, opset {report['opset']}, "
          f"{report['precision']}, input {shape}, {report['seconds']:.1f} s")
    for row in report["parity"]:
        errs = ", ".join(f"{k[4:]} {v:.2g}" for k, v in row.items() if k.startswith("err_"))
        print(f"  parity {row['case']}: max map error {errs}; {row['polygons']} polygons, "
              f"largest distance {row['max_px']:.3f} px")
    if args.no_check:
        print("  parity check skipped (--no-check)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
