#!/usr/bin/env python
"""Turn an exported textseg ONNX model back into trainable weights (for --init).

    python tools/init_from_onnx.py MODEL.onnx --out start.pt [--overwrite]
    python tools/train.py --init start.pt --data MY_PAGES ...

Export folds BatchNorm into the convolutions; this rebuilds the model from the config in
the file's metadata, puts the fused weights back, recalibrates the BatchNorms on synthetic
pages and checks the result against onnxruntime (see textseg/onnx_import.py).
"""

import argparse
import os
import sys

import _common  # noqa: F401  (sets sys.path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="an .onnx file written by tools/export_onnx.py ('default': the shipped one)")
    ap.add_argument("--out", required=True, help="checkpoint to write")
    ap.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    args = ap.parse_args(argv)
    with _common.user_errors():
        from textseg.detector import default_model_path
        from textseg.onnx_import import save_init, weights_from_onnx

        path = default_model_path("fp32") if args.model == "default" else args.model
        if not path or not path.endswith(".onnx") or not os.path.isfile(path):
            _common.fail(f"{args.model}: no such ONNX file")
        if os.path.isdir(args.out):
            _common.fail(f"{args.out}: is a directory; give a file name for --out")
        if os.path.exists(args.out) and not args.overwrite:
            _common.fail(f"{args.out}: exists; pass --overwrite to replace it")
        model, cfg = weights_from_onnx(path)
        save_init(model, cfg, args.out, source=os.path.basename(path))
        print(f"wrote {args.out}: {cfg['model']['head']['method']} model from {path} "
              f"(parity with onnxruntime checked)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
