#!/usr/bin/env python
"""Train a textseg model.

    python tools/train.py --config configs/east_fpn_r50.yaml --data DIR [--val DIR]
        [--work-dir DIR] [--resume | --overwrite] [--device cpu|cuda] [key.sub=value ...]
    python tools/train.py --init default --data MY_PAGES [--val DIR] [key.sub=value ...]

--init default|PATH starts from the shipped model's training weights (or another
checkpoint); without --config it trains with the config stored in those weights.

A WORK_DIR that holds a run is never reused silently: --resume continues it, --overwrite
replaces it. Several GPUs or nodes: prefix with ``torchrun --nproc_per_node=N``.
"""

import argparse
import os
import sys

import _common  # noqa: F401  (sets sys.path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", help="YAML config (configs/*.yaml); with --init, defaults to "
                    "the config stored in the --init weights")
    ap.add_argument("--init", metavar="default|PATH",
                    help="start from these weights: 'default' (the shipped model's training "
                         "weights) or a checkpoint; tensors of a new head start fresh")
    ap.add_argument("--data", nargs="+", default=[], metavar="DIR",
                    help="ICDAR-format training folder(s), added to data.train of the config")
    ap.add_argument("--val", metavar="DIR", help="ICDAR-format folder for periodic validation")
    ap.add_argument("--work-dir", help="checkpoints and logs (default work_dirs/<config name>)")
    ap.add_argument("--resume", action="store_true", help="continue from WORK_DIR/last.pt")
    ap.add_argument("--overwrite", action="store_true",
                    help="start a new run in a WORK_DIR that holds one (its last.pt, best.pt "
                         "and log.jsonl are replaced)")
    ap.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None)
    ap.add_argument("--workers", type=int, default=None, help="DataLoader workers (data.workers)")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    ap.add_argument("overrides", nargs="*", metavar="key.sub=value",
                    help="config overrides, e.g. train.steps=2000 data.crop_size=384")
    args = ap.parse_args(argv)

    with _common.user_errors():
        from textseg.config import load_config, save_config
        from textseg.training import Trainer

        init = _init_path(args.init) if args.init else None
        if args.config:
            cfg = load_config(args.config, args.overrides)
        elif init:
            cfg = _init_config(init, args.overrides)
        else:
            _common.fail("--config is required (or --init default|PATH, whose weights carry a config)")
        name = os.path.splitext(os.path.basename(args.config or init))[0]
        work_dir = args.work_dir or os.path.join("work_dirs", name)
        if args.workers is not None:
            cfg["data"]["workers"] = args.workers
        if int(os.environ.get("RANK", "0")) == 0:
            from textseg.fileio import ensure_writable_dir

            ensure_writable_dir(work_dir)
        trainer = Trainer(cfg, work_dir, data_dirs=args.data, val_dir=args.val,
                          resume=args.resume, device=args.device, progress=not args.no_progress,
                          overwrite=args.overwrite, init=init)
        if trainer.main:  # the data and the model are known good by now
            save_config(cfg, os.path.join(work_dir, "config.yaml"))
        try:
            trainer.run()
        finally:
            if trainer.world > 1:
                import torch.distributed as dist

                if dist.is_initialized():
                    dist.destroy_process_group()
        if trainer.interrupted:  # stopped early: a chained `train && export` must not go on
            return 130
    return 0


def _init_path(value):
    """The weights file of ``--init``: 'default' is the shipped model's training weights."""
    if value != "default":
        return value
    from textseg.detector import default_weights_path

    path = default_weights_path()
    if path is None:
        _common.fail("--init default: this copy of textseg has no default training weights "
                     "(textseg/weights/default.pt); pass --init PATH")
    return path


def _init_config(path, overrides):
    """The config stored in ``--init`` weights, with the command line's overrides."""
    from textseg.checkpoint import init_config
    from textseg.config import load_config
    from textseg.errors import CheckpointError

    cfg = init_config(path)
    if cfg is None:
        if not os.path.isfile(path):
            raise CheckpointError(f"{path}: --init weights not found")
        raise CheckpointError(f"{path}: these weights carry no config; pass --config")
    return load_config(cfg, overrides)


if __name__ == "__main__":
    sys.exit(main())
