"""One new token of one sequence: the step as a plain function, and that function compiled into one kernel.

A token reads every weight matrix once; around those reads eager PyTorch runs ~100 small operations one by one
(layer norms, attention, GELU, residual adds, cache writes), each a dispatch and, with several threads, a parallel
region that waits for its slowest thread. ``one_token`` is the whole step over the cache's buffers plus the length;
``torch.compile`` (inductor) turns it into one C++ kernel whose matrix-vector loops stream the weights with the
small operations fused in. The length and the cache's capacity are symbolic, so a model compiles once and every
position and cache size reuses it (the static-shape alternative, attention over the whole buffer under a mask,
reads up to 75 MB more per GPT-2-small token).

Compiling costs tens of seconds of CPU, so a visitor's token never waits for it: ``start`` compiles in a background
thread while tokens decode eagerly (the same function), and ``step`` switches to the kernel once it is ready.
Only models of at least ``MIN_PARAMETERS`` are compiled, on the CPU, where a C++ compiler is found; anywhere else,
or if compiling fails, decoding stays eager. The compiled kernel is inductor's, cached on disk across processes.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import shutil
import threading
import time
import weakref

import torch
import torch.nn.functional as F

log = logging.getLogger(__name__)

MIN_PARAMETERS = 50_000_000  # GPT-2 small (124 M) and up; smaller ones decode hundreds of tokens/s eagerly already
_compiled: weakref.WeakKeyDictionary[torch.nn.Module, _Compiled] = weakref.WeakKeyDictionary()
_lock = threading.Lock()  # one entry per model
_compiling = threading.Lock()  # held while a kernel compiles: dynamo's stance (below) is process-wide
_forced_eager = threading.local()


def _mv(layer: torch.nn.Linear, x: torch.Tensor) -> torch.Tensor:
    """layer(x) for one vector x (in,) -> (out,)."""
    return torch.mv(layer.weight, x) if layer.bias is None else torch.addmv(layer.bias, layer.weight, x)


def one_token(model, token: torch.Tensor, n: int, keys: list[torch.Tensor], values: list[torch.Tensor]) -> torch.Tensor:
    """Logits (vocab,) after ``token`` (a 0-d id) at position n - 1, as matrix-vector products.

    ``keys``/``values``: per layer the cache's buffers (nh, capacity, hs), filled up to n - 1; this token's key and
    value are written at n - 1 and attention reads the first n positions only.
    """
    C, nh = model.config.n_embd, model.config.n_head
    at = torch.tensor([n - 1], device=token.device) if torch.compiler.is_compiling() else None
    x = model.wte.weight[token] + model.wpe.weight[n - 1]  # (C,)
    for i, block in enumerate(model.h):
        q, k, v = _mv(block.attn.c_attn, block.ln_1(x)).view(3, nh, C // nh)  # each (nh, hs)
        y = _attend(q, k, v, keys[i], values[i], n, at)
        x = x + _mv(block.attn.c_proj, y.view(C))
        x = x + _mv(block.mlp.c_proj, block.mlp.activation(_mv(block.mlp.c_fc, block.ln_2(x))))
    return _mv(model.lm_head, model.ln_f(x))  # (vocab,)


def _attend(q, k, v, keys: torch.Tensor, values: torch.Tensor, n: int, at: torch.Tensor | None) -> torch.Tensor:
    """Write k, v (nh, hs) at n - 1 and attend q (nh, hs) over the first n positions: (nh, hs)."""
    if at is None:  # eagerly: a slice copy and one SDPA call are the fewest dispatches
        keys[:, n - 1], values[:, n - 1] = k, v
        return F.scaled_dot_product_attention(q[:, None], keys[:, :n], values[:, :n])[:, 0]
    # compiling: a tensor index keeps n symbolic (the write lands in the buffer in place), and plain products
    # fuse into the kernel where SDPA would be a call of its own
    keys.index_copy_(1, at, k[:, None])
    values.index_copy_(1, at, v[:, None])
    att = (keys[:, :n] @ q[:, :, None]).squeeze(-1) / math.sqrt(q.size(-1))  # (nh, n)
    return (att.softmax(-1)[:, None] @ values[:, :n])[:, 0]


class _Compiled:
    """One model's kernel: compiled in a background thread, used once ``ready``."""

    def __init__(self, model):
        self.fn = torch.compile(one_token, fullgraph=True, dynamic=True)
        self.done = threading.Event()
        self.ready = False  # compiled and checked; False while compiling and after a failure
        self.seconds = 0.0  # how long compiling took
        self.thread = threading.Thread(target=self._compile, args=(weakref.ref(model),), daemon=True,
                                       name="gpt-compile")
        self.thread.start()

    def _compile(self, model_ref) -> None:
        start = time.perf_counter()
        try:
            model = model_ref()
            if model is not None:
                with _compiling:
                    self._warm(model)
                self.ready = True
        except Exception as e:  # no usable compiler after all, an unsupported op: decoding stays eager
            log.warning("decoding stays eager: compiling the one-token step failed: %s", str(e).splitlines()[0][:200])
        finally:
            self.seconds = time.perf_counter() - start
            self.done.set()

    @torch.inference_mode()  # the kernel is for the decode loop's inference tensors
    def _warm(self, model) -> None:
        """Compile on throwaway buffers (two lengths, so nothing specialises on the first) and check the kernel
        against the eager step."""
        cfg, w = model.config, model.wte.weight
        shape = (cfg.n_head, 8, cfg.n_embd // cfg.n_head)
        bufs = [[torch.zeros(shape, device=w.device, dtype=w.dtype) for _ in range(cfg.n_layer)] for _ in range(4)]
        token = torch.tensor(0, device=w.device)
        for n in (2, 3):
            compiled = self.fn(model, token, n, bufs[0], bufs[1])
            eager = one_token(model, token, n, bufs[2], bufs[3])
        if not torch.allclose(compiled, eager, rtol=1e-4, atol=1e-4):
            raise RuntimeError(f"the compiled step differs from the eager one by {float((compiled - eager).abs().max()):g}")


def compiler_available() -> bool:
    """A C++ compiler for inductor's CPU kernels (``CXX``, else c++/g++/clang++ on the PATH)."""
    names = [os.environ["CXX"]] if os.environ.get("CXX") else ["c++", "g++", "clang++"]
    return any(shutil.which(name) for name in names)


def worth_compiling(model) -> bool:
    return (model.wte.weight.device.type == "cpu" and not model.training
            and sum(p.numel() for p in model.parameters()) >= MIN_PARAMETERS and compiler_available())


def start(model, force: bool = False) -> None:
    """Begin compiling ``model``'s step in the background (once per model); ``force`` ignores the size bar."""
    with _lock:
        if model not in _compiled and (worth_compiling(model) if not force else compiler_available()):
            _compiled[model] = _Compiled(model)


def wait(model, timeout: float | None = None) -> tuple[bool, float]:
    """Block until ``model``'s compile (if one was started) ends: (the kernel is in use, seconds it took)."""
    entry = _compiled.get(model)
    if entry is None:
        return False, 0.0
    entry.done.wait(timeout)
    return entry.ready, entry.seconds


@contextlib.contextmanager
def eager():
    """Decode eagerly in this thread for a while, even where a kernel is ready (to compare the two)."""
    _forced_eager.on = True
    try:
        yield
    finally:
        _forced_eager.on = False


def step(model, token: torch.Tensor, n: int, keys: list[torch.Tensor], values: list[torch.Tensor]) -> torch.Tensor:
    """``one_token`` through the model's kernel when it is ready and the inputs are what it was made for
    (inference tensors), else eagerly. Never compiles: inputs the kernel does not fit run eagerly."""
    entry = _compiled.get(model)
    if (entry is not None and entry.ready and not getattr(_forced_eager, "on", False) and token.is_inference()
            and keys[0].is_inference() and _compiling.acquire(blocking=False)):
        try:
            with torch.compiler.set_stance("eager_on_recompile"):
                return entry.fn(model, token, n, keys, values)
        finally:
            _compiling.release()
    return one_token(model, token, n, keys, values)
