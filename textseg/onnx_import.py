"""Trainable weights back from an exported textseg ONNX model, to fine-tune it.

Export folds every BatchNorm into the convolution before it, so an ``.onnx`` file holds
each conv's fused weight and bias but no BN parameters. :func:`weights_from_onnx`
rebuilds the model from the config in the file's metadata and fills it:

* the ONNX ``Conv``/``ConvTranspose`` nodes (graph order) are matched to the model's
  convolutions in the order the forward pass calls them, shape by shape;
* a conv followed by a BN gets the fused weight, and its BN becomes the identity plus the
  fused bias in eval mode (``running_mean`` and ``weight`` set from calibration pages, so
  that in train mode, where the BN normalises by batch statistics, it still passes on
  about what the exported network computed);
* the result is checked against onnxruntime on a page: it must agree to 1e-3.

The previous default model (PSENet) was shipped as ONNX only; the current default's
backbone and trunk started from it this way (``tools/train.py --init``).
"""

import json
from typing import Optional

import numpy as np

from .errors import ModelError

__all__ = ["weights_from_onnx"]


def _conv_order(model, x):
    """Convolutions in call order, and {id(conv): bn} for each BN fed straight by a conv
    (the BN's input is the tensor that conv returned just before)."""
    import torch
    from torch import nn

    calls, last_out, bn_after = [], {}, {}

    def on_conv(mod, _inp, out):
        calls.append(mod)
        last_out[out.data_ptr(), tuple(out.shape)] = mod

    def on_bn(mod, inp, _out):
        conv = last_out.get((inp[0].data_ptr(), tuple(inp[0].shape)))
        if conv is not None:
            bn_after.setdefault(id(conv), mod)

    hooks = []
    for mod in model.modules():
        if isinstance(mod, (nn.Conv2d, nn.ConvTranspose2d)):
            hooks.append(mod.register_forward_hook(on_conv))
        elif isinstance(mod, nn.BatchNorm2d):
            hooks.append(mod.register_forward_hook(on_bn))
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    seen, order = set(), []
    for c in calls:
        if id(c) not in seen:
            seen.add(id(c))
            order.append(c)
    return order, bn_after


def weights_from_onnx(path: str, calibration=None, check_side: int = 320):
    """(model, cfg) rebuilt from the ONNX file ``path`` (see the module docstring).
    ``calibration``: RGB uint8 pages (or crops) for the BN statistics; default four
    synthetic pages. Raises :class:`ModelError` when the file is no textseg export or its
    weights do not map onto the model its config describes."""
    import onnx
    import onnxruntime as ort
    import torch
    from onnx import numpy_helper

    from .config import load_config
    from .data.images import normalize
    from .detector import ONNX_CONFIG_KEY
    from .model import build_model

    try:
        proto = onnx.load(path)
    except Exception as e:  # not a file onnx can parse
        raise ModelError(f"{path}: not a readable ONNX model ({type(e).__name__})") from None
    meta = {p.key: p.value for p in proto.metadata_props}
    if ONNX_CONFIG_KEY not in meta:
        raise ModelError(f"{path}: no textseg metadata; only tools/export_onnx.py exports can be imported")
    cfg = load_config(json.loads(meta[ONNX_CONFIG_KEY]))
    model = build_model(cfg, load_pretrained=False).eval()
    inits = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
    nodes = [n for n in proto.graph.node if n.op_type in ("Conv", "ConvTranspose")]
    probe = torch.zeros(1, 3, 64, 64)
    convs, bn_after = _conv_order(model, probe)
    if len(nodes) != len(convs):
        raise ModelError(f"{path}: {len(nodes)} convolutions in the file, {len(convs)} in the "
                         f"model its config describes")
    bn_of = {id(c): bn_after.get(id(c)) for c in convs}
    consumers = {}
    for n in proto.graph.node:
        for name in n.input:
            consumers.setdefault(name, []).append(n)
    kept_bn = set()  # BNs the export did not fold (after a ConvTranspose): stored as they are
    for node, conv in zip(nodes, convs):
        bn = bn_of[id(conv)]
        after = [n for n in consumers.get(node.output[0], []) if n.op_type == "BatchNormalization"]
        if bn is not None and after:
            scale, bias, mean, var = (np.array(inits[i], np.float32) for i in after[0].input[1:5])
            bn.weight.data, bn.bias.data = torch.from_numpy(scale), torch.from_numpy(bias)
            bn.running_mean.copy_(torch.from_numpy(mean))
            bn.running_var.copy_(torch.from_numpy(var))
            kept_bn.add(id(conv))
    for node, conv in zip(nodes, convs):
        if node.input[1] not in inits:
            raise ModelError(f"{path}: convolution {node.name!r} has no stored weight")
        w = inits[node.input[1]]
        if tuple(w.shape) != tuple(conv.weight.shape):
            raise ModelError(f"{path}: convolution {node.name!r} is {tuple(w.shape)}, the model's "
                             f"is {tuple(conv.weight.shape)}")
        b = inits[node.input[2]] if len(node.input) > 2 and node.input[2] else np.zeros(w.shape[0], np.float32)
        conv.weight.data = torch.from_numpy(np.array(w, np.float32))
        bn = None if id(conv) in kept_bn else bn_of[id(conv)]
        if bn is None:
            if conv.bias is not None:
                conv.bias.data = torch.from_numpy(np.array(b, np.float32)).reshape(conv.bias.shape)
            continue
        if conv.bias is not None:
            conv.bias.data.zero_()
        bn.running_mean.zero_()
        bn.running_var.fill_(1.0 - bn.eps)
        bn.weight.data.fill_(1.0)
        bn.bias.data = torch.from_numpy(np.array(b, np.float32))
    _calibrate(model, [c for c in convs if bn_of[id(c)] is not None and id(c) not in kept_bn], bn_of,
               calibration if calibration is not None else _synthetic_pages(), normalize)
    _check(model, path, proto, check_side, ort)
    return model, cfg


def _synthetic_pages(n=4):
    from .data.synth import generate_page

    return [generate_page(1000 + i, {"dpi_range": (100, 150)}).image for i in range(n)]


def _calibrate(model, convs, bn_of, pages, normalize, crop=384):
    """Set each BN (identity + fused bias so far) to the statistics of its input on
    ``pages``: eval mode stays the identity, train mode nearly so."""
    import torch

    sums = {}

    def hook(mod, inp):
        t = inp[0].detach().double()
        s = sums.setdefault(id(mod), [0.0, 0.0, 0])
        s[0] = s[0] + t.mean((0, 2, 3))
        s[1] = s[1] + t.var((0, 2, 3))
        s[2] += 1

    bns = [bn_of[id(c)] for c in convs]
    hooks = [bn.register_forward_pre_hook(hook) for bn in bns]
    try:
        with torch.no_grad():
            for page in pages:
                h, w = page.shape[:2]
                y, x = (h - min(h, crop)) // 2, (w - min(w, crop)) // 2
                model(torch.from_numpy(normalize(page[y:y + crop, x:x + crop]))[None])
    finally:
        for h in hooks:
            h.remove()
    for bn in bns:
        s = sums.get(id(bn))
        if not s:
            continue
        mean, var = (s[0] / s[2]).float(), (s[1] / s[2]).float()
        fused_bias = bn.bias.data.clone()
        bn.running_mean.copy_(mean)
        bn.running_var.copy_(var)
        bn.weight.data = torch.sqrt(var + bn.eps)
        bn.bias.data = mean + fused_bias


def _check(model, path, proto, side, ort):
    import torch

    x = np.random.default_rng(0).random((1, 3, side, side + 64), dtype=np.float32)
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    ref = sess.run(None, {sess.get_inputs()[0].name: x})
    with torch.no_grad():
        out = model(torch.from_numpy(x))
    got = list(out.values()) if isinstance(out, dict) else list(out)
    names = [o.name for o in sess.get_outputs()]
    for name, r in zip(names, ref):
        g = out[name] if isinstance(out, dict) and name in out else got[names.index(name)]
        g = g.numpy()
        if g.shape != r.shape or not np.allclose(g, r, atol=1e-3, rtol=1e-3):
            diff = float(np.abs(g - r).max()) if g.shape == r.shape else f"shape {g.shape} vs {r.shape}"
            raise ModelError(f"{path}: the rebuilt model does not reproduce output {name!r} "
                             f"(max difference {diff})")


def save_init(model, cfg, out_path: str, source: Optional[str] = None) -> str:
    """Write ``model`` as a textseg checkpoint (step 0) usable by ``--init`` and
    :meth:`textseg.Detector.from_checkpoint`."""
    from .checkpoint import save_checkpoint

    return save_checkpoint(out_path, model, cfg, step=0,
                           extra={"imported_from": source} if source else None)
