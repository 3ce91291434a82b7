"""Self-describing checkpoints: config (plain types) + weights + training state.

A checkpoint loads with ``torch.load(path, weights_only=True)``; nothing else is
ever unpickled. Files are written to a temporary name and renamed, so a kill at
any moment leaves the previous checkpoint intact.
"""

import os

import torch

from .errors import CheckpointError
from .fileio import atomic_open

FORMAT = "textseg-checkpoint"
VERSION = 1


def save_checkpoint(path, model, cfg, step=0, optimizer=None, scheduler=None, scaler=None,
                    extra=None, half=False):
    """Write ``path`` atomically. ``half`` stores floating weights as fp16 (for shipping)."""
    state = model.state_dict()
    if half:
        state = {k: (v.half() if v.is_floating_point() else v) for k, v in state.items()}
    ckpt = {
        "format": FORMAT,
        "version": VERSION,
        "config": cfg,
        "model": state,
        "step": int(step),
        "torch_rng": torch.get_rng_state(),
    }
    if optimizer is not None:
        ckpt["optimizer"] = optimizer.state_dict()
    if scheduler is not None:
        ckpt["scheduler"] = scheduler.state_dict()
    if scaler is not None:
        ckpt["scaler"] = scaler.state_dict()
    if extra:
        ckpt["extra"] = extra
    with atomic_open(path, "wb") as f:
        torch.save(ckpt, f)
    return path


def load_checkpoint(path, map_location="cpu"):
    """Read and check a checkpoint; raises :class:`CheckpointError` with a clear reason."""
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: checkpoint not found")
    if os.path.getsize(path) == 0:
        raise CheckpointError(f"{path}: empty file, not a checkpoint")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # truncated zip, pickle of arbitrary objects, random bytes
        raise CheckpointError(f"{path}: not a readable textseg checkpoint "
                              f"({_load_failure(path, e)})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a textseg checkpoint (no '{FORMAT}' marker)")
    if int(ckpt.get("version", 0)) > VERSION:
        raise CheckpointError(f"{path}: checkpoint version {ckpt['version']} is newer than this "
                              f"textseg understands ({VERSION}); upgrade textseg")
    for key in ("config", "model"):
        if key not in ckpt:
            raise CheckpointError(f"{path}: checkpoint has no '{key}' entry")
    return ckpt


def _load_failure(path, err):
    """A short reason for a failed ``torch.load`` (torch's own messages run to paragraphs)."""
    with open(path, "rb") as f:
        head = f.read(4)
    msg = str(err)
    if head != b"PK\x03\x04" and not head.startswith(b"\x80"):  # neither zip nor pickle
        return f"not a PyTorch file: starts with {head.hex(' ')}"
    if "central directory" in msg or "zip archive" in msg:
        return "truncated or corrupt file: its zip archive is incomplete"
    if "WeightsUnpickler error:" in msg:  # objects other than tensors and plain types
        msg = msg.split("WeightsUnpickler error:", 1)[1]
    first = next((line.strip() for line in msg.splitlines() if line.strip()), type(err).__name__)
    return first.split(". ")[0][:160]


def load_weights(model, state, path="checkpoint"):
    """Load ``state`` into ``model`` with an error naming mismatched keys/shapes."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [k for k in own if k in state and tuple(own[k].shape) != tuple(state[k].shape)]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {missing[0]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {unexpected[0]})")
        if shapes:
            k = shapes[0]
            parts.append(f"{len(shapes)} with other shapes (e.g. {k}: "
                         f"{tuple(state[k].shape)} vs {tuple(own[k].shape)})")
        raise CheckpointError(f"{path}: weights do not fit this model (another method, trunk or "
                              f"backbone?): " + "; ".join(parts))
    model.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()})


def init_from(model, path, require=("backbone.", "trunk.")):
    """Start ``model`` from the weights in ``path`` (a textseg checkpoint, or a bare state
    dict such as the shipped ``default.pt``): every tensor whose name and shape match is
    copied; tensors of the model that the file lacks (a new head) keep their fresh values.

    Every tensor whose name starts with one of ``require`` must be in the file with its
    shape, or a :class:`CheckpointError` names the first mismatch (another backbone, width
    or trunk). Returns ``(loaded, fresh)``: the counts of tensors copied and kept."""
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: --init weights not found")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated file, pickle with code, not a torch file
        raise CheckpointError(f"{path}: not readable weights ({_load_failure(path, e)})") from None
    state = obj.get("model") if isinstance(obj, dict) and isinstance(obj.get("model"), dict) else obj
    if not isinstance(state, dict) or not state or not all(torch.is_tensor(v) for v in state.values()):
        raise CheckpointError(f"{path}: neither a textseg checkpoint nor a state dict of tensors")
    own = model.state_dict()
    for k, v in own.items():
        if k.startswith(tuple(require)) and (k not in state or tuple(state[k].shape) != tuple(v.shape)):
            got = "absent" if k not in state else f"{tuple(state[k].shape)}"
            raise CheckpointError(f"{path}: weights do not fit this model's backbone and trunk "
                                  f"({k}: {got} in the file, {tuple(v.shape)} in the model); "
                                  f"use the config they were trained with")
    take = {k: v.to(own[k].dtype) for k, v in state.items() if k in own and tuple(v.shape) == tuple(own[k].shape)}
    model.load_state_dict({**own, **take})
    return len(take), len(own) - len(take)


def init_config(path):
    """The config stored with ``--init`` weights (a checkpoint's, or the ``config`` entry
    of a shipped ``default.pt``); None when the file carries none."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # reported by init_from with its reason
        return None
    cfg = obj.get("config") if isinstance(obj, dict) else None
    return cfg if isinstance(cfg, (dict, str)) else None
