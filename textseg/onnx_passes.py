"""Exact rewrites of an exported textseg ONNX graph that make onnxruntime run it faster.

Each pass changes how the graph computes, never what: the outputs agree with the original
to float rounding (``tests/test_onnx_passes.py`` checks it on random inputs).

* :func:`fuse_upsampling` - DBNet's head ends in two 2x2, stride-2 transposed convolutions
  with a BatchNorm and a ReLU between them (1/4 resolution -> full resolution). onnxruntime
  runs ConvTranspose in float even in a quantised graph, and it is one of the slowest nodes
  of the default model. Each output pixel of that block depends only on one feature vector
  of the 1/4-resolution map, so the block is a per-pixel two-layer perceptron: a 1x1
  convolution to 4 sub-pixel feature vectors (the BatchNorm folded in), a ReLU, a 1x1
  convolution to the 16 output pixels of each 4x4 cell, and ``DepthToSpace`` (block 4, CRD)
  to lay them out. 1x1 convolutions quantise; the whole block runs at 1/4 resolution.
* :func:`space_to_depth_stem` - the backbone's first convolution (7x7, stride 2, on the
  3-channel image) is the slowest node of the int8 model: with 3 input channels
  onnxruntime's int8 kernels work at a sixth of their speed on 32 channels. A stride-2
  convolution equals ``SpaceToDepth(2)`` (12 channels at half resolution) followed by a
  stride-1 convolution with a 4x4 kernel (the 7x7 kernel's taps regrouped by pixel parity),
  which runs twice as fast (the trick of MLPerf's ResNet stems).
* :func:`image_path` - the nodes between the image and its first convolutions (the pad,
  the SpaceToDepth): quantisation keeps them in float, so the image is quantised once,
  right before the convolution, rather than through a chain of quantize/dequantize pairs.

No torch needed (numpy and onnx only).
"""

import numpy as np

__all__ = ["fuse_upsampling", "image_path", "space_to_depth_stem"]


def _attrs(node):
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _is_up2(node) -> bool:
    """A plain 2x2, stride-2 ConvTranspose (no padding, groups or dilation)."""
    if node is None or node.op_type != "ConvTranspose":
        return False
    a = _attrs(node)
    return (list(a.get("kernel_shape", [])) == [2, 2] and list(a.get("strides", [])) == [2, 2]
            and not any(a.get("pads", [0] * 4)) and int(a.get("group", 1)) == 1
            and not any(a.get("output_padding", [0, 0]))
            and list(a.get("dilations", [1, 1])) == [1, 1])


def fuse_upsampling(proto) -> int:
    """Rewrite each ``ConvTranspose(2x2, s2) -> BatchNormalization -> Relu ->
    ConvTranspose(2x2, s2)`` chain of ``proto`` (onnx.ModelProto, in place) as ``Conv 1x1 ->
    Relu -> Conv 1x1 -> DepthToSpace(4)``. Returns the number of chains rewritten (0 when
    the graph has none; a chain whose intermediate tensors are read elsewhere is left)."""
    from onnx import helper, numpy_helper

    g = proto.graph
    inits = {i.name: i for i in g.initializer}
    readers = {}
    for n in g.node:
        for name in n.input:
            readers.setdefault(name, []).append(n)
    outputs = {o.name for o in g.output}

    def sole_reader(tensor):
        r = readers.get(tensor, [])
        return r[0] if len(r) == 1 and tensor not in outputs else None

    def weight(name):
        if name not in inits:
            return None
        return numpy_helper.to_array(inits[name]).astype(np.float64)

    replace, drop = {}, set()
    for n in g.node:
        if id(n) in drop or not _is_up2(n):  # (the end of a chain starts none)
            continue
        bn = sole_reader(n.output[0])
        relu = sole_reader(bn.output[0]) if bn is not None and bn.op_type == "BatchNormalization" else None
        up2 = sole_reader(relu.output[0]) if relu is not None and relu.op_type == "Relu" else None
        if not _is_up2(up2):
            continue
        w1, w2 = weight(n.input[1]), weight(up2.input[1])
        bn_w = [weight(x) for x in bn.input[1:5]]
        if w1 is None or w2 is None or any(v is None for v in bn_w):
            continue  # weights computed at run time: not a constant block
        cin, c1 = w1.shape[:2]
        c2 = w2.shape[1]
        b1 = weight(n.input[2]) if len(n.input) > 2 and n.input[2] else np.zeros(c1)
        b2 = weight(up2.input[2]) if len(up2.input) > 2 and up2.input[2] else np.zeros(c2)
        if b1 is None or b2 is None:
            continue
        gamma, beta, mean, var = bn_w
        s = gamma / np.sqrt(var + float(_attrs(bn).get("epsilon", 1e-5)))
        w1 = w1 * s[None, :, None, None]
        b1 = s * (b1 - mean) + beta
        # first 1x1: channel (a*2 + b)*c1 + k is feature k of sub-pixel (a, b) of the 2x2 cell
        wa = w1.transpose(2, 3, 1, 0).reshape(4 * c1, cin, 1, 1)
        ba = np.tile(b1, 4)
        # second 1x1: channel o*16 + (2a + a2)*4 + (2b + b2), DepthToSpace's CRD order, is
        # output o at row 2a + a2, column 2b + b2 of the 4x4 cell; it reads sub-pixel (a, b)
        wb = np.zeros((c2, 4, 4, 4 * c1))
        for a in range(2):
            for b in range(2):
                blk = slice((a * 2 + b) * c1, (a * 2 + b + 1) * c1)
                for a2 in range(2):
                    for b2_ in range(2):
                        wb[:, 2 * a + a2, 2 * b + b2_, blk] = w2[:, :, a2, b2_].T
        wb = wb.reshape(c2 * 16, 4 * c1, 1, 1)
        bb = np.repeat(b2, 16)
        base = n.name or n.output[0]
        names = [f"{base}/up4_{k}" for k in ("wa", "ba", "wb", "bb")]
        for name, v in zip(names, (wa, ba, wb, bb)):
            g.initializer.append(numpy_helper.from_array(v.astype(np.float32), name))
        ya, yr, yb = f"{base}/up4_a", f"{base}/up4_relu", f"{base}/up4_b"
        replace[id(n)] = [
            helper.make_node("Conv", [n.input[0], names[0], names[1]], [ya],
                             name=f"{base}/up4_conv_a", kernel_shape=[1, 1]),
            helper.make_node("Relu", [ya], [yr], name=f"{base}/up4_relu"),
            helper.make_node("Conv", [yr, names[2], names[3]], [yb],
                             name=f"{base}/up4_conv_b", kernel_shape=[1, 1]),
            helper.make_node("DepthToSpace", [yb], [up2.output[0]], name=f"{base}/up4_d2s",
                             blocksize=4, mode="CRD"),
        ]
        drop.update({id(bn), id(relu), id(up2)})
    if not replace:
        return 0
    _splice(g, replace, drop)
    return len(replace)



def _image_path(proto):
    """(path, convs): the nodes on the data path from the graph's (non-initializer) input
    to the first convolutions that read it, followed along each node's first input and
    past shape computations, and those Conv nodes."""
    g = proto.graph
    inits = {i.name for i in g.initializer}
    reached = {i.name for i in g.input if i.name not in inits}
    path, convs = [], []
    for n in g.node:  # onnx graphs are topologically sorted
        if not n.input or n.input[0] not in reached or n.op_type in ("Shape", "Size"):
            continue
        if n.op_type in ("Conv", "QLinearConv", "ConvInteger"):
            convs.append(n)
        else:
            path.append(n)
            reached.update(n.output)
    return path, convs


def image_path(proto) -> list:
    """Names of the nodes between the image and the convolutions that first read it (the
    export's pad to a multiple of 32, a SpaceToDepth, ...): empty when no convolution reads
    the image through them."""
    path, convs = _image_path(proto)
    return [n.name for n in path if n.name] if convs else []


def space_to_depth_stem(proto) -> int:
    """Rewrite each stride-2 convolution that reads the padded image (at most 4 input
    channels, no groups or dilation) as ``SpaceToDepth(2)`` and a stride-1 convolution
    (in place). Only where the convolution reads the image through a ``Pad`` whose amounts
    come from a ``Mod`` by an even constant: textseg's export pads to a multiple of 32, so
    H and W are even. Returns the number rewritten."""
    from onnx import helper, numpy_helper

    g = proto.graph
    path, convs = _image_path(proto)
    inits = {i.name: i for i in g.initializer}
    producer = {o: n for n in g.node for o in n.output}
    consts = {n.output[0]: n for n in g.node if n.op_type == "Constant"}

    def even_constant(name):
        if name in inits:
            v = numpy_helper.to_array(inits[name])
        elif name in consts:
            v = numpy_helper.to_array(consts[name].attribute[0].t)
        else:
            return False
        return v.size == 1 and float(v) == int(v) and int(v) % 2 == 0 and int(v) > 0

    def pads_to_even(pad):  # the pad amounts are (-size) mod an even number
        todo, seen = [pad.input[1]] if len(pad.input) > 1 else [], set()
        while todo:
            t = todo.pop()
            if t in seen or t not in producer or len(seen) > 64:
                continue
            seen.add(t)
            n = producer[t]
            if n.op_type == "Mod" and len(n.input) == 2 and even_constant(n.input[1]):
                return True
            todo.extend(n.input)
        return False

    def through_even_pad(conv):  # walk back along the data inputs to the image
        t = conv.input[0]
        while t in producer:
            n = producer[t]
            if n.op_type == "Pad":
                return pads_to_even(n)
            t = n.input[0] if n.input else None
        return False

    replace = {}
    for n in convs:
        a = _attrs(n)
        if (n.op_type != "Conv" or n.input[1] not in inits or not through_even_pad(n)
                or list(a.get("strides", [1, 1])) != [2, 2] or int(a.get("group", 1)) != 1
                or list(a.get("dilations", [1, 1])) != [1, 1]
                or a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET")):
            continue
        w = numpy_helper.to_array(inits[n.input[1]]).astype(np.float64)
        if w.ndim != 4 or w.shape[1] > 4:
            continue
        o, c, kh, kw = w.shape
        pt, pl, pb, pr = [int(v) for v in a.get("pads", [0, 0, 0, 0])]
        # kernel tap u reads input row 2i + u - pt = 2(i + q) + r: block row i + q, parity r
        qu, ru = np.divmod(np.arange(kh) - pt, 2)
        qv, rv = np.divmod(np.arange(kw) - pl, 2)
        k2h, k2w = int(qu.max() - qu.min() + 1), int(qv.max() - qv.min() + 1)
        # pads after: the same output size as the original for every even H, W
        pb2 = (pt + pb - kh) // 2 + int(qu.max()) + 1
        pr2 = (pl + pr - kw) // 2 + int(qv.max()) + 1
        if pb2 < 0 or pr2 < 0:
            continue
        w2 = np.zeros((o, 4 * c, k2h, k2w))
        for u in range(kh):  # SpaceToDepth's channel order: (row parity * 2 + col parity) * C + c
            for v in range(kw):
                ch = (ru[u] * 2 + rv[v]) * c + np.arange(c)
                w2[:, ch, qu[u] - qu.min(), qv[v] - qv.min()] = w[:, :, u, v]
        base = n.name or n.output[0]
        wname, mid = f"{base}/s2d_w", f"{base}/s2d_in"
        g.initializer.append(numpy_helper.from_array(w2.astype(np.float32), wname))
        replace[id(n)] = [
            helper.make_node("SpaceToDepth", [n.input[0]], [mid], name=f"{base}/s2d",
                             blocksize=2),
            helper.make_node("Conv", [mid, wname] + list(n.input[2:]), list(n.output),
                             name=f"{base}/s2d_conv", kernel_shape=[k2h, k2w], strides=[1, 1],
                             pads=[-int(qu.min()), -int(qv.min()), pb2, pr2]),
        ]
    if not replace:
        return 0
    _splice(g, replace, set())
    return len(replace)


def _splice(g, replace, drop):
    """Put each node's replacement list in its place (``replace``: id -> nodes), leave out
    the nodes of ``drop`` (ids), and the initializers nothing reads any more (nodes of
    If/Loop bodies included)."""
    nodes = []
    for n in g.node:
        if id(n) not in drop:
            nodes.extend(replace.get(id(n), [n]))
    del g.node[:]
    g.node.extend(nodes)
    used = _reads(g)
    kept = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(kept)


def _reads(graph) -> set:
    """Every tensor name a node of ``graph`` or of its subgraphs reads."""
    from onnx import AttributeProto

    names = set()
    for n in graph.node:
        names.update(n.input)
        for a in n.attribute:
            if a.type == AttributeProto.GRAPH:
                names |= _reads(a.g)
            elif a.type == AttributeProto.GRAPHS:
                for sub in a.graphs:
                    names |= _reads(sub)
    return names
