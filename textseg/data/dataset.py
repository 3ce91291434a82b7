"""Training data: ICDAR-format folders and synthetic pages, mixed by ratio.

Sampling is a pure function of (seed, position): the sample at position ``p`` of
the training stream is always the same image with the same augmentation, whoever
loads it (any DataLoader worker, any DDP rank). That makes ``--resume`` exact: a
resumed run starts the stream at ``step * batch_size`` and sees what an
uninterrupted run would have seen.
"""

import os
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from ..errors import DataError
from . import icdar
from .images import load_image, normalize


@dataclass
class Source:
    """One stream of training pages."""

    name: str
    ratio: float
    items: list  # (image_path, gt_path) pairs, or None for on-the-fly synthesis
    synth_seed: int = 0

    def __len__(self):
        return len(self.items) if self.items is not None else 1 << 30


def folder_source(path, ratio=1.0, level="word"):
    """An ICDAR-format folder in any layout :func:`icdar.find_pairs` knows."""
    if not os.path.isdir(path):
        raise DataError(f"{path}: training data folder not found")
    pairs = icdar.find_pairs(path, level=level)
    usable = [(img, gt) for img, gt in pairs if gt is not None]
    missing = len(pairs) - len(usable)
    if not usable:
        raise DataError(f"{path}: no image with a ground-truth file found "
                        f"({len(pairs)} images, none paired with gt_*.txt)")
    if missing:
        print(f"warning: {path}: {missing} of {len(pairs)} images have no ground truth; skipped")
    return Source(name=path, ratio=float(ratio), items=usable)


def synth_source(ratio=1.0, seed=0):
    """Synthetic pages generated on the fly (each position a new page)."""
    return Source(name="synth", ratio=float(ratio), items=None, synth_seed=int(seed))


def build_sources(data_cfg, extra_dirs=()):
    """Sources from the config's ``data`` section plus ``--data`` folders."""
    level = data_cfg.get("level", "word")
    sources = [folder_source(d, 1.0, level) for d in extra_dirs]
    for entry in data_cfg.get("train") or []:
        sources.append(folder_source(entry["path"], entry.get("ratio", 1.0),
                                     entry.get("level", level)))
    synth = data_cfg.get("synth")
    if synth:
        if synth.get("dir"):
            s = folder_source(synth["dir"], synth.get("ratio", 1.0), level)
            s.name = f"synth:{synth['dir']}"
            sources.append(s)
        if synth.get("on_the_fly"):
            sources.append(synth_source(synth.get("ratio", 1.0), synth.get("seed", 0)))
    if not sources:
        raise DataError("no training data: pass --data DIR or set data.train / data.synth in the config")
    return sources


def sample_at(sources, seed, position):
    """(source index, item index, augmentation seed) of stream position ``position``."""
    rng = np.random.default_rng([int(seed), int(position)])
    ratios = np.array([s.ratio for s in sources], dtype=np.float64)
    src = int(rng.choice(len(sources), p=ratios / ratios.sum())) if len(sources) > 1 else 0
    n = len(sources[src])
    item = int(rng.integers(n))
    return src, item, int(rng.integers(1 << 31))


class StreamSampler(Sampler):
    """Endless positions ``start, start + world, ...`` for one rank."""

    def __init__(self, start=0, rank=0, world_size=1):
        self.start, self.rank, self.world = int(start), int(rank), int(world_size)

    def __iter__(self):
        p = self.start * self.world + self.rank
        while True:
            yield p
            p += self.world

    def __len__(self):  # pragma: no cover - endless
        return 1 << 62


class TrainDataset(Dataset):
    """Position -> (normalised crop, target maps) for one method."""

    def __init__(self, sources, cfg, seed=0):
        from ..methods import spec, target_config
        from .augment import TrainAugment

        self.sources = sources
        self.seed = int(seed)
        self.level = cfg["data"].get("level", "word")
        self.crop = int(cfg["data"]["crop_size"])
        self.augment = TrainAugment(cfg["data"]["augment"], self.crop)
        method = cfg["model"]["head"]["method"]
        self.build_targets = spec(method).build_targets
        self.target_cfg = target_config(cfg)

    def __len__(self):
        return 1 << 62

    def load(self, src, item):
        source = self.sources[src]
        if source.items is None:
            from .synth import generate_page

            page = generate_page(source.synth_seed * 1_000_003 + item)
            anns = page.lines if self.level == "line" else page.words
            return page.image, anns, f"synth#{item}"
        img_path, gt_path = source.items[item]
        return load_image(img_path), icdar.read_gt(gt_path, lenient=True), img_path

    def __getitem__(self, position):
        src, item, aug_seed = sample_at(self.sources, self.seed, position)
        image, anns, name = self.load(src, item)
        image, anns = self.augment(image, anns, np.random.default_rng(aug_seed))
        targets = self.build_targets(anns, image.shape[:2], self.target_cfg)
        sample = {"image": torch.from_numpy(normalize(image))}
        sample.update({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in targets.items()})
        return sample

