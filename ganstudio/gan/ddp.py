"""Data-parallel training under torchrun: one process per device, gradients averaged by DDP.

`torchrun --nproc_per_node=N -m ganstudio train ...` starts N copies of the CLI. Each joins the
process group (gloo on CPU, NCCL on GPU; torch reads the launcher's environment itself), draws
its own batches, and rank 0 alone reports progress and writes the checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel


@dataclass
class DistContext:
    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1

    def wrap(self, module: nn.Module, device: torch.device) -> nn.Module:
        """DDP around `module` in a multi-process run, the module itself otherwise."""
        if not self.active:
            return module
        ids = [device.index] if device.type == "cuda" else None
        return DistributedDataParallel(module, device_ids=ids)

    def any(self, flag: bool, device: torch.device) -> bool:
        """True on every rank when `flag` is true on some rank (so all ranks stop together)."""
        if not self.active:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item() > 0)

    def barrier(self) -> None:
        if self.active:
            dist.barrier()


SINGLE = DistContext()


def launched_by_torchrun() -> bool:
    return dist.is_available() and dist.is_torchelastic_launched()


def setup(requested_device: str = "") -> tuple[DistContext, torch.device | None]:
    """Join the process group when started by torchrun; pick this rank's device.

    Returns (context, device) where device is None outside torchrun (the caller picks it).
    """
    if not launched_by_torchrun():
        return SINGLE, None
    use_cuda = torch.cuda.is_available() and not requested_device.startswith("cpu")
    dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    if use_cuda:
        device = torch.device("cuda", rank % torch.cuda.device_count())
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    return DistContext(rank, world), device


def teardown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
