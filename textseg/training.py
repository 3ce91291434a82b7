"""The training loop: data, optimiser, schedule, AMP, DDP, checkpoints, resume, validation.

One process on CPU or one GPU by default; under ``torchrun`` every process trains one
replica with DistributedDataParallel and only rank 0 writes files and logs.
"""

import json
import os
import signal
import sys
import time

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader

from .checkpoint import init_from, load_checkpoint, load_weights, save_checkpoint
from .data.checks import SkipBadFiles, check_val_dir, one_line, scan_data  # noqa: F401
from .data.dataset import StreamSampler, TrainDataset, build_sources
from .errors import DataError, TextsegError, TrainingError  # noqa: F401 (DataError: API)
from .fileio import atomic_write, ensure_writable_dir
from .model import build_model
from .optim import build_optimizer, build_scheduler, lr_factor, param_groups  # noqa: F401

#: the files that make a work dir hold a run: a new run there needs --overwrite
RUN_FILES = ("last.pt", "best.pt", "log.jsonl")


# ----------------------------------------------------------------------------- setup

def init_distributed():
    """(rank, world_size, local_rank); initialises the process group under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend=backend)
    return rank, world, local


def resolve_device(spec, local_rank=0):
    if spec in (None, "auto"):
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    if spec == "cuda":
        if not torch.cuda.is_available():
            raise TrainingError("--device cuda asked for, but no CUDA device is available")
        spec = f"cuda:{local_rank}"
        torch.cuda.set_device(spec)
    return torch.device(spec)


def is_oom(err):
    """True for a CUDA or CPU allocation failure (torch's or Python's)."""
    if isinstance(err, (torch.OutOfMemoryError, MemoryError)):
        return True
    text = str(err).lower()
    return any(s in text for s in ("out of memory", "can't allocate memory",
                                   "cannot allocate memory"))


# ----------------------------------------------------------------------------- trainer

class Trainer:
    """Holds everything one training run needs; :meth:`run` trains to ``train.steps``."""

    def __init__(self, cfg, work_dir, data_dirs=(), val_dir=None, resume=False, device=None,
                 progress=True, workers=None, overwrite=False, init=None):
        self.cfg = cfg
        self.tr = cfg["train"]
        self.work_dir = work_dir
        self.rank, self.world, local = init_distributed()
        self.main = self.rank == 0
        self.device = resolve_device(device or self.tr.get("device", "auto"), local)
        self.progress = progress and self.main
        self.val_dir = val_dir or cfg["data"].get("val")
        old_run = [] if resume or not self.main else _old_run(work_dir, overwrite)
        if self.main:
            ensure_writable_dir(work_dir, min_free_bytes=200 * 1024 * 1024)
            if self.val_dir:
                check_val_dir(self.val_dir, cfg["data"].get("level", "word"))

        torch.manual_seed(int(self.tr["seed"]))
        model = build_model(cfg).to(self.device)
        if self.tr.get("sync_bn") and self.world > 1:
            model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        self.channels_last = bool(self.tr.get("channels_last")) and self.device.type == "cuda"
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model
        self.init_counts = None
        if init and not resume:  # --init: start from other weights (a resumed run has its own)
            self.init_counts = init_from(model, init)
        self.optimizer = build_optimizer(model, self.tr["optimizer"])
        self.scheduler = build_scheduler(self.optimizer, cfg)
        amp = self.tr.get("amp")
        self.amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(amp)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=(amp == "fp16"))
        self.step = 0
        self.saved_step = 0  # the step of the last.pt on disk
        self.skipped = 0     # training samples skipped because their files failed to load
        self._warned = set()
        self.best = -1.0
        self.interrupted = None  # the signal's name when SIGINT/SIGTERM stopped the run
        if resume:
            self._resume()
        self.ddp = model
        if self.world > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.ddp = torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)
        sources = build_sources(cfg["data"], data_dirs)
        if self.main:  # every unreadable file, in one list, before step 1
            scan_data(sources, self.val_dir, cfg["data"].get("level", "word"))
        self.dataset = TrainDataset(sources, cfg, seed=int(self.tr["seed"]))
        self.workers = int(cfg["data"]["workers"] if workers is None else workers)
        from .methods import spec
        self.loss_fn = spec(cfg["model"]["head"]["method"]).loss_class()(
            **(cfg["model"].get("loss") or {}))
        # everything is checked: only now change the files of an earlier run
        for name in old_run:  # --overwrite: the old run's files go, none is mixed with this one
            os.remove(self.path(name))
        if resume and self.main:
            self._trim_log()

    # -- checkpoints
    def path(self, name):
        return os.path.join(self.work_dir, name)

    def _resume(self):
        last = self.path("last.pt")
        if not os.path.exists(last):
            raise TrainingError(f"--resume: {last} not found (nothing to resume in {self.work_dir})")
        ckpt = load_checkpoint(last, map_location=self.device)
        load_weights(self.model, ckpt["model"], last)
        changed = config_changes(ckpt.get("config") or {}, self.cfg)
        old_opt = ((ckpt.get("config") or {}).get("train") or {}).get("optimizer") or {}
        fresh_optimizer = old_opt.get("name", self.tr["optimizer"]["name"]) != \
            self.tr["optimizer"]["name"]
        for key, obj in (("optimizer", self.optimizer), ("scheduler", self.scheduler),
                         ("scaler", self.scaler)):
            if key in ckpt and not (key == "optimizer" and fresh_optimizer):
                obj.load_state_dict(ckpt[key])
        self.step = self.saved_step = int(ckpt["step"])
        self.best = float(ckpt.get("extra", {}).get("best_hmean", -1.0))
        torch.set_rng_state(ckpt["torch_rng"].cpu())
        self._apply_optimizer_settings()  # this run's settings win over the checkpoint's
        self.log(f"resumed from {last} at step {self.step}")
        if changed:
            self.log("--resume: these settings differ from the checkpoint's and are used: " +
                     ", ".join(f"{k}={_show(new)} (was {_show(old)})" for k, old, new in changed))
        if fresh_optimizer:
            self.log(f"--resume: train.optimizer.name changed ({old_opt['name']} -> "
                     f"{self.tr['optimizer']['name']}): the optimizer state starts afresh")

    def _apply_optimizer_settings(self):
        """Set lr, weight decay, betas and momentum of the loaded optimizer and scheduler
        from this run's config (a state dict brings the checkpoint's values back)."""
        opt = self.tr["optimizer"]
        base = float(opt["lr"])
        factor = lr_factor(self.scheduler.last_epoch, int(self.tr["steps"]),
                           self.tr["schedule"], base)
        decay = float(opt["weight_decay"])
        for i, group in enumerate(self.optimizer.param_groups):
            group["initial_lr"] = base
            group["lr"] = base * factor
            group["weight_decay"] = decay if i == 0 else 0.0
            if "betas" in group:
                group["betas"] = tuple(float(b) for b in opt["betas"])
            if "momentum" in group:
                group["momentum"] = float(opt["momentum"])
        self.scheduler.base_lrs = [base] * len(self.optimizer.param_groups)
        self.scheduler._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def _trim_log(self):
        """Drop log.jsonl entries after the checkpoint's step (a killed run logged them
        after its last save; the resumed run logs those steps again)."""
        path = self.path("log.jsonl")
        if not os.path.exists(path):
            return
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.readlines()
        keep = []
        for line in lines:
            try:
                entry = json.loads(line) if line.endswith("\n") else None
            except ValueError:
                entry = None
            if isinstance(entry, dict) and int(entry.get("step", 0)) <= self.step:
                keep.append(line)
        if len(keep) < len(lines):
            atomic_write(path, "".join(keep))
            self.log(f"{path}: {len(lines) - len(keep)} entries after step {self.step} "
                     f"(logged after the checkpoint) removed")

    def save(self, name):
        """Write checkpoint ``name``; never with non-finite weights (the file on disk, if
        any, keeps the last finite ones). True when written."""
        if not self.main:
            return False
        if not weights_finite(self.model):
            self.log(f"warning: the weights at step {self.step} are not finite; "
                     f"{self.path(name)} not written (it keeps the last finite weights)")
            return False
        save_checkpoint(self.path(name), self.model, self.cfg, step=self.step,
                        optimizer=self.optimizer, scheduler=self.scheduler, scaler=self.scaler,
                        extra={"best_hmean": float(self.best)})
        if name == "last.pt":
            self.saved_step = self.step
        return True

    def save_after_crash(self):
        """On an error: last.pt with the steps done since it was last written (best effort:
        the error itself may be a full disk)."""
        if not self.main or self.step <= self.saved_step:
            return
        try:
            if self.save("last.pt"):
                self.log(f"last.pt written at step {self.step} before stopping; continue with "
                         f"--resume")
        except Exception as e:  # noqa: BLE001 - the first error is the one to report
            self.log(f"warning: could not write {self.path('last.pt')}: {e}")

    # -- logging
    def log(self, msg):
        if self.main:
            (tqdm_write if self.progress else print)(msg)

    def record(self, entry):
        if self.main:
            with open(self.path("log.jsonl"), "a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")

    def _note_skipped(self, reasons):
        """Count the samples a batch skipped (from any DataLoader worker); warn once a file."""
        for text in reasons:
            for reason in filter(None, text.split("\n")):
                self.skipped += 1
                if reason not in self._warned:
                    self._warned.add(reason)
                    self.log(f"warning: {reason}; sample skipped ({self.skipped} so far)")

    # -- one step
    def loader(self):
        bs = int(self.tr["batch_size"])
        sampler = StreamSampler(self.step * bs, self.rank, self.world)
        return DataLoader(SkipBadFiles(self.dataset), batch_size=bs, sampler=sampler,
                          num_workers=self.workers,
                          pin_memory=self.device.type == "cuda", drop_last=True,
                          persistent_workers=self.workers > 0,
                          generator=torch.Generator().manual_seed(0))

    def train_step(self, batch):
        self._note_skipped(batch.pop("_skipped", ()))
        x = batch.pop("image").to(self.device, non_blocking=True)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        targets = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
        with torch.autocast(self.device.type, dtype=self.amp_dtype or torch.float32,
                            enabled=self.amp_dtype is not None):
            outputs = self.ddp(x, targets) if self.model.needs_targets else self.ddp(x)
        parts = self.loss_fn({k: v.float() for k, v in outputs.items()}, targets)
        loss = parts["loss"]
        finite = torch.isfinite(loss.detach())
        if self.world > 1:  # every rank must agree to skip, or DDP hangs
            flag = finite.float().to(self.device)
            dist.all_reduce(flag, op=dist.ReduceOp.MIN)
            finite = flag > 0
        if not bool(finite):
            self.optimizer.zero_grad(set_to_none=True)
            return None
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        clip = float(self.tr.get("clip_grad") or 0.0)
        norm = None
        if clip > 0:
            self.scaler.unscale_(self.optimizer)
            norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), clip)
        elif not self.scaler.is_enabled():
            norm = _grad_norm(self.model.parameters())
        # fp16: the scaler skips steps with inf gradients itself; otherwise one non-finite
        # gradient would turn every weight into NaN: skip the step like a non-finite loss
        if norm is not None and not self.scaler.is_enabled() and not bool(torch.isfinite(norm)):
            self.optimizer.zero_grad(set_to_none=True)
            return None
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        return {k: float(v.detach()) for k, v in parts.items()}

    # -- validation
    def validate(self):
        if not self.val_dir or not self.main:
            return None
        from .detector import Detector
        from .validation import evaluate_folder

        self.model.eval()
        try:
            det = Detector.from_model(self.model, self.cfg, device=self.device)
            res = evaluate_folder(det, self.val_dir, level=self.cfg["data"].get("level", "word"))
        except (TextsegError, OSError) as e:  # a file broken since the scan: go on training
            self.log(f"warning: validation at step {self.step} skipped: {one_line(e)}")
            return None
        finally:
            self.model.train()
        metrics = {k: res[k] for k in ("precision", "recall", "hmean")}
        self.record({"step": self.step, "val": metrics})
        self.log(f"step {self.step}: val precision {metrics['precision']:.4f} "
                 f"recall {metrics['recall']:.4f} hmean {metrics['hmean']:.4f}")
        if metrics["hmean"] > self.best:
            self.best = metrics["hmean"]
            self.save("best.pt")
        return metrics

    # -- the loop
    def run(self):
        total = int(self.tr["steps"])
        if self.step >= total:
            self.log(f"already at step {self.step} of {total}; nothing to do")
            return self.model
        stop = {"signal": None}

        def on_signal(signum, _frame):
            if stop["signal"] is not None:  # second signal: stop now
                raise KeyboardInterrupt
            stop["signal"] = signal.Signals(signum).name

        old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)} \
            if _in_main_thread() else {}
        if self.init_counts:
            self.log(f"--init: {self.init_counts[0]} tensors from the given weights, "
                     f"{self.init_counts[1]} new (a head the weights do not have)")
        self.model.train()
        bs = int(self.tr["batch_size"]) * self.world
        bad, log_every = 0, int(self.tr["log_every"])
        bar = _progress(total, self.step) if self.progress else None
        t0, seen, acc = time.time(), 0, {}
        crash_saved = False
        try:
            for batch in self.loader():
                parts = self.train_step(batch)
                if parts is None:
                    bad += 1
                    self.log(f"warning: non-finite loss or gradient at step {self.step + 1}; "
                             f"step skipped ({bad} in a row)")
                    if bad >= int(self.tr["max_bad_steps"]):
                        self.save_after_crash()  # the weights are those of the last good step
                        crash_saved = True
                        kept = (f"{self.path('last.pt')} holds the last finite weights (step "
                                f"{self.saved_step}), continue with --resume"
                                if os.path.exists(self.path("last.pt")) else
                                "no finite weights were saved")
                        raise TrainingError(
                            f"{bad} non-finite losses or gradients in a row after step "
                            f"{self.step}: lower train.optimizer.lr, set train.clip_grad, or "
                            f"check the data; {kept}")
                    continue
                bad = 0
                self.step += 1
                seen += bs
                for k, v in parts.items():
                    acc[k] = acc.get(k, 0.0) + v
                if bar is not None:
                    bar.update(1)
                if self.step % log_every == 0 or self.step == total:
                    n = log_every if self.step % log_every == 0 else self.step % log_every
                    rate = seen / max(time.time() - t0, 1e-9)
                    entry = {"step": self.step, "lr": self.optimizer.param_groups[0]["lr"],
                             "img_s": round(rate, 3), **{k: v / n for k, v in acc.items()}}
                    self.record(entry)
                    if bar is not None:
                        bar.set_postfix({k: f"{v / n:.3f}" for k, v in acc.items()} |
                                        {"lr": f"{entry['lr']:.2e}", "img/s": f"{rate:.2f}"})
                    t0, seen, acc = time.time(), 0, {}
                if _every(self.step, self.tr["save_every"]):
                    self.save("last.pt")
                if self.val_dir and _every(self.step, self.tr["val_every"]):
                    self.validate()
                if stop["signal"] is not None:
                    self.interrupted = stop["signal"]
                    self.save("last.pt")
                    self.log(f"{stop['signal']}: stopped at step {self.step}; checkpoint "
                             f"{self.path('last.pt')} written, continue with --resume")
                    break
                if self.step >= total:
                    break
        except BaseException as e:
            if not crash_saved and not isinstance(e, KeyboardInterrupt):
                self.save_after_crash()
            if isinstance(e, (RuntimeError, MemoryError)) and is_oom(e):
                raise TrainingError(
                    f"out of memory at train.batch_size={self.tr['batch_size']}, "
                    f"data.crop_size={self.cfg['data']['crop_size']}: lower "
                    f"train.batch_size (or data.crop_size, or use train.amp=bf16)") from None
            raise
        finally:
            if bar is not None:
                bar.close()
            for s, h in old.items():
                signal.signal(s, h)
        if self.skipped:
            self.log(f"warning: training samples skipped: {self.skipped} (files that failed "
                     f"to load, listed above)")
        if stop["signal"] is None:
            self.save("last.pt")
            if self.val_dir and not _every(self.step, self.tr["val_every"]):
                self.validate()
        if self.world > 1:
            dist.barrier()
        return self.model


def _old_run(work_dir, overwrite):
    """The run files in ``work_dir`` that ``--overwrite`` replaces; without it a
    :class:`TrainingError` with advice if there are any."""
    found = [n for n in RUN_FILES if os.path.exists(os.path.join(work_dir, n))]
    if found and not overwrite:
        raise TrainingError(f"{work_dir} holds a training run ({', '.join(found)}): continue "
                            f"it with --resume, train into a new --work-dir, or pass --overwrite "
                            f"to replace it")
    return found


def _flat(d, prefix=""):
    out = {}
    for k, v in (d or {}).items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flat(v, key + "."))
        else:
            out[key] = v
    return out


def config_changes(old, new):
    """[(dotted key, old value, new value)] where config ``new`` differs from ``old``."""
    from .config import to_plain

    a, b = _flat(to_plain(old)), _flat(to_plain(new))
    return [(k, a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def _show(v):
    return "null" if v is None else str(v)




def weights_finite(model):
    """True when every floating tensor of ``model``'s state is finite."""
    return all(bool(torch.isfinite(v).all()) for v in model.state_dict().values()
               if v.is_floating_point())


def _grad_norm(parameters):
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return None
    if hasattr(torch.nn.utils, "get_total_norm"):
        return torch.nn.utils.get_total_norm(grads)
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))


def _every(step, n):
    """True on every n-th step; never for n = 0."""
    return int(n) > 0 and step % int(n) == 0


def _in_main_thread():
    import threading

    return threading.current_thread() is threading.main_thread()


def _progress(total, start):
    from .progress import progress_bar  # tqdm, or plain lines without it

    return progress_bar(total=total, initial=start, desc="train", unit="step",
                        dynamic_ncols=True, file=sys.stderr)


def tqdm_write(msg):
    from .progress import write

    write(msg, file=sys.stderr)


def train(cfg, work_dir, data_dirs=(), val_dir=None, resume=False, device=None, progress=True,
          overwrite=False):
    """Train ``cfg`` into ``work_dir``; returns the trained model. A work dir that holds a
    run needs ``resume`` (continue it) or ``overwrite`` (replace it)."""
    trainer = Trainer(cfg, work_dir, data_dirs, val_dir, resume, device, progress,
                      overwrite=overwrite)
    try:
        return trainer.run()
    finally:
        if trainer.world > 1 and dist.is_initialized():
            dist.destroy_process_group()
