"""Training data checked before and during a run: every file loaded once before step 1
(:func:`scan_data`), a file that breaks later skipped and counted (:class:`SkipBadFiles`),
an unusable validation folder refused up front (:func:`check_val_dir`)."""

import os

import torch

from ..errors import DataError, TextsegError, TrainingError

__all__ = ["SkipBadFiles", "scan_data", "check_val_dir", "one_line"]


def one_line(err):
    """An error's message on one line (its type name if it has none)."""
    text = " ".join(str(err).split())
    return text or type(err).__name__


class SkipBadFiles(torch.utils.data.Dataset):
    """A training dataset whose samples never fail on a bad file: a sample whose image or
    ground truth fails to load (changed since the scan) is replaced by the sample at another,
    fixed, position, and its ``"_skipped"`` entry says why ("" when none was), so the main
    process counts skips from every worker. Deterministic, so --resume stays exact."""

    ATTEMPTS = 20

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, position):
        reasons = []
        for attempt in range(self.ATTEMPTS):
            try:
                sample = self.dataset[position + (attempt << 40)]
            except (TextsegError, OSError) as e:
                reasons.append(one_line(e))
                continue
            sample["_skipped"] = "\n".join(reasons)
            return sample
        raise DataError(f"{self.ATTEMPTS} training samples in a row failed to load, the last: "
                        f"{reasons[-1]}")


def scan_data(sources, val_dir=None, level="word", threads=4):
    """Load every training and validation image and ground-truth file once; raise
    :class:`DataError` listing every bad file with its reason (one line) if any fails."""
    from concurrent.futures import ThreadPoolExecutor

    from . import icdar
    from .images import load_image

    jobs = [("training", img, gt) for s in sources if s.items is not None for img, gt in s.items]
    if val_dir:
        jobs += [("validation", img, gt) for img, gt in icdar.find_pairs(val_dir, level=level)
                 if gt is not None]

    def check(job):
        kind, img, gt = job
        try:
            load_image(img)
            icdar.read_gt(gt, lenient=True)
        except (TextsegError, OSError, ValueError) as e:
            return f"{kind} {one_line(e)}"
        return None

    with ThreadPoolExecutor(max(1, min(int(threads), os.cpu_count() or 1))) as pool:
        bad = [r for r in pool.map(check, jobs) if r]
    if bad:
        shown = "; ".join(bad[:20]) + (f"; ... and {len(bad) - 20} more" if len(bad) > 20 else "")
        raise DataError(f"{len(bad)} unusable file{'s' if len(bad) > 1 else ''} in the data "
                        f"(fix or remove them, then rerun): {shown}")


def check_val_dir(folder, level):
    """Fail before training, not at the first validation, on an unusable --val folder."""
    from . import icdar

    if not os.path.isdir(folder):
        raise TrainingError(f"{folder}: validation folder not found (--val / data.val)")
    if not any(gt for _img, gt in icdar.find_pairs(folder, level=level)):
        raise TrainingError(f"{folder}: no images with {level}-level ground truth to validate "
                            f"on (--val / data.val)")
