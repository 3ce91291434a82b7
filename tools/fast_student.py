#!/usr/bin/env python3
"""Make the fast variant of a trained model: the same network with the ResNet's fast stem
(``model.backbone.stem: fast``) and a 1x1 FPN fusion (``model.trunk.fuse_kernel: 1``),
fitted to the original before it is fine-tuned.

    python tools/fast_student.py --teacher default --data data/synth4 --out student.pt
    python tools/train.py --init student.pt --data data/synth4 ...   # then fine-tune

Every weight the two networks share is copied. The new parts are fitted to what the
teacher computes there, on crops of ``--data``'s pages (images only; no labels):

* the stem (two 3x3/2 convs) to the teacher's stem output (7x7/2 conv, BN, ReLU, 3x3/2 max
  pool), both at stride 4;
* the 1x1 fusion conv (started from the sum of the 3x3 kernel's taps) to the teacher's
  3x3 fusion output, both reading the teacher's P2..P5.

Mean squared error, Adam; a few hundred steps take minutes on a CPU. The result is a
checkpoint ``tools/train.py --init`` starts from (its config is the teacher's with the two
changes), so the whole network is then fine-tuned on labelled pages.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import _common  # noqa: E402  (tools/_common.py)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--teacher", default="default",
                    help="'default' (the shipped training weights) or a checkpoint")
    ap.add_argument("--data", required=True, help="folder of training pages (images/)")
    ap.add_argument("--out", required=True, help="checkpoint to write")
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--crop", type=int, default=448)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--overwrite", action="store_true")
    args = ap.parse_args(argv)
    if os.path.exists(args.out) and not args.overwrite:
        _common.fail(f"{args.out}: exists (pass --overwrite to replace it)")
    import numpy as np
    import torch

    from textseg.checkpoint import init_config, init_from, save_checkpoint
    from textseg.config import load_config
    from textseg.errors import CheckpointError
    from textseg.data.images import IMAGENET_MEAN, IMAGENET_STD, IMAGE_EXTENSIONS, load_image
    from textseg.model import build_model

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    path = args.teacher
    if path == "default":
        from textseg.detector import default_weights_path

        path = default_weights_path()
        if path is None:
            _common.fail("--teacher default: this copy of textseg has no default.pt")
    cfg = init_config(path) if os.path.isfile(path) else None
    if cfg is None:
        _common.fail(f"{path}: not a textseg checkpoint or shipped weights with a config")
    cfg = load_config(cfg)
    b, t = cfg["model"]["backbone"], cfg["model"]["trunk"]
    if not b["name"].startswith("resnet") or t["name"] != "fpn":
        _common.fail(f"{path}: the fast variant needs a ResNet backbone and the fpn trunk "
                     f"(this model: {b['name']}, {t['name']})")
    if b.get("stem", "standard") != "standard" or int(t.get("fuse_kernel", 3)) != 3:
        _common.fail(f"{path}: already a fast variant")
    teacher = build_model(cfg, load_pretrained=False)
    try:
        _, fresh = init_from(teacher, path, require=("",))
    except CheckpointError as e:
        _common.fail(str(e))
    teacher.eval()
    scfg = {**cfg, "model": {**cfg["model"], "backbone": {**b, "stem": "fast"},
                             "trunk": {**t, "fuse_kernel": 1}}}
    student = build_model(scfg, load_pretrained=False)
    own = student.state_dict()
    shared = {k: v for k, v in teacher.state_dict().items()
              if k in own and own[k].shape == v.shape and not k.startswith("backbone.conv1")
              and not k.startswith("backbone.bn1")}
    # the 1x1 fusion starts from the 3x3 kernel's tap sum (exact on a flat feature map)
    w3 = teacher.trunk.fuse[0].weight.detach()
    shared["trunk.fuse.0.weight"] = w3.sum(dim=(2, 3), keepdim=True)
    missing = student.load_state_dict(shared, strict=False).missing_keys
    print(f"fast_student: {len(shared)} tensors from {path}; fitted: {', '.join(sorted({k.rsplit('.', 1)[0] for k in missing}))}",
          file=sys.stderr)

    folder = os.path.join(args.data, "images") if os.path.isdir(os.path.join(args.data, "images")) else args.data
    if not os.path.isdir(folder):
        _common.fail(f"{folder}: no such folder (--data: a folder of pages, or one with images/)")
    files = sorted(os.path.join(folder, f) for f in os.listdir(folder)
                   if f.lower().endswith(tuple(IMAGE_EXTENSIONS)))
    if not files:
        _common.fail(f"{folder}: no images")
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)

    def batch():
        import cv2

        out = []
        while len(out) < args.batch:
            img = load_image(files[int(rng.integers(len(files)))])
            s = float(np.exp(rng.uniform(np.log(0.4), np.log(1.6))))
            img = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
            h, w = img.shape[:2]
            c = args.crop
            if h < c or w < c:
                img = cv2.copyMakeBorder(img, 0, max(0, c - h), 0, max(0, c - w), cv2.BORDER_CONSTANT,
                                         value=(255, 255, 255))
                h, w = img.shape[:2]
            y, x = int(rng.integers(h - c + 1)), int(rng.integers(w - c + 1))
            out.append(img[y:y + c, x:x + c])
        x = torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).float() / 255.0
        return (x - mean) / std

    stem = [student.backbone.conv1, student.backbone.bn1]
    fuse = [student.trunk.fuse]
    params = [p for m in stem + fuse for p in m.parameters()]
    opt = torch.optim.Adam(params, lr=args.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.steps,
                                                pct_start=0.1)
    for m in stem + fuse:
        m.train()
    tb, sb = teacher.backbone, student.backbone
    t0 = time.time()
    for step in range(1, args.steps + 1):
        x = batch()
        with torch.no_grad():
            s_ref = tb.maxpool(tb.relu(tb.bn1(tb.conv1(x))))
            feats = tb(x)
            p2, *coarse = teacher.trunk.forward_pyramid(feats)
            ups = [torch.nn.functional.interpolate(p, size=p2.shape[-2:], mode="bilinear",
                                                   align_corners=False) for p in coarse]
            cat = torch.cat([p2, *ups], dim=1)
            f_ref = teacher.trunk.fuse(cat)
        s_out = sb.relu(sb.bn1(sb.conv1(x)))
        f_out = student.trunk.fuse(cat)
        loss_s = torch.mean((s_out - s_ref) ** 2) / torch.mean(s_ref ** 2)
        loss_f = torch.mean((f_out - f_ref) ** 2) / torch.mean(f_ref ** 2)
        opt.zero_grad()
        (loss_s + loss_f).backward()
        opt.step()
        sched.step()
        if step == 1 or step % 20 == 0 or step == args.steps:
            print(f"step {step}/{args.steps}: relative error stem {loss_s.item():.4f} "
                  f"fusion {loss_f.item():.4f} ({time.time() - t0:.0f} s)", file=sys.stderr,
                  flush=True)
    student.eval()
    save_checkpoint(args.out, student, scfg, step=0,
                    extra={"fast_student": {"teacher": os.path.abspath(path),
                                            "steps": args.steps,
                                            "stem_error": float(loss_s.item()),
                                            "fusion_error": float(loss_f.item())}})
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
