"""Continuous batching: every live generation of one model decodes together, one forward per step.

A ``DecodeBatch`` holds the rows being generated, each with its own prompt, sampling settings, seed,
repetition memory, length and bounded output queue; their keys and values share one ``KVCache`` of
rows of different lengths. Rows join and leave between steps (as in vLLM or TGI):

    step():  drop the rows whose reader left (Stop)
             admit new rows: their prompt is read alone (prefill), their first logits kept
             each row picks its next token from its own logits (its settings, its generator) and hands
             it to its reader; rows that reached end-of-text or their length leave
             one forward over the remaining rows with the tokens just picked

A row whose reader has not taken its tokens yet (its queue is full) sits the step out: it is fed a
placeholder whose key/value is overwritten later and its length does not move (backpressure). The
same seed gives the same tokens whether a row decodes alone or batched (the logits agree to ~1e-6;
a token can only differ at an exact tie).
"""

from __future__ import annotations

import math
import queue
import threading
from dataclasses import dataclass, field

import torch

from ganstudio.gpt import compiled_decode
from ganstudio.gpt.model import GPT, KVCache
from ganstudio.gpt.sampling import (
    TOP_ALTERNATIVES,
    SamplingConfig,
    TokenStep,
    apply_repetition_penalty,
    choose_next,
)
from ganstudio.gpt.tokenizer import GPTTokenizer, StreamDecoder

QUEUE_TOKENS = 4  # tokens a row may run ahead of its reader before it waits (backpressure)
CAPACITY_STEP = 64  # the shared cache grows in steps of this many positions
SLIDE_KEEP = 0.75  # when a row's context is full, recompute on its last 3/4 and go on
END = object()  # a row's last queue item


@dataclass
class Row:
    """One generation: what it was asked, where it is, and the queue its reader takes tokens from."""

    prompt_ids: list[int]
    cfg: SamplingConfig
    owner: str = "cli"
    out: queue.Queue = field(default_factory=lambda: queue.Queue(QUEUE_TOKENS + 2))  # + room for a last token and END
    closed: bool = False  # the reader left (Stop, a closed page): drop the row at the next step
    wake: object = None  # called when the reader takes a token or leaves (the engine's worker may be waiting)
    error: str | None = None  # why the whole batch failed, for the reader
    # decoding state, touched only by the thread that steps the batch
    context: list[int] = field(default_factory=list)
    produced: int = 0
    logits: torch.Tensor | None = None  # (vocab,) for the next pick
    generator: torch.Generator | None = None
    seen: torch.Tensor | None = None  # (vocab,) bool: tokens in the text so far (repetition penalty)
    decoder: StreamDecoder | None = None

    def close(self) -> None:
        self.closed = True
        if callable(self.wake):
            self.wake()

    def tokens(self):
        """The reader's side: TokenSteps as they come; ends at end-of-text, the length, a failure, or
        soon after ``close()`` (Stop: the batch lets the row go at its next step)."""
        try:
            while not self.closed:  # Stop: what is still queued is dropped, the reader ends now
                try:
                    item = self.out.get(timeout=0.05)
                except queue.Empty:
                    continue
                if callable(self.wake) and self.out.qsize() == QUEUE_TOKENS - 1:
                    self.wake()  # there is room again: a row that waited may go on
                if item is END:
                    if self.error:
                        from ganstudio.errors import StudioError

                        raise StudioError(self.error)
                    return
                yield item
        finally:
            self.close()


class DecodeBatch:
    """The live rows of one model. ``add`` from any thread; ``step`` from the one thread that owns the model."""

    def __init__(self, model: GPT, tokenizer: GPTTokenizer, max_rows: int = 32, name: str = "the model",
                 compile_decode: bool = True):
        """``name``: how messages call the model. ``compile_decode``: start compiling the model's one-token step in
        the background (see compiled_decode; worth it for a long-lived group, not for one generation in a
        short-lived process)."""
        self.model, self.tokenizer, self.max_rows, self.name = model, tokenizer, max_rows, name
        if compile_decode:
            compiled_decode.start(model)
        self.device = model.wte.weight.device
        self.rows: list[Row] = []  # decoding, aligned with the cache's rows
        self._joining: list[Row] = []
        self._lock = threading.Lock()
        self.cache: KVCache | None = None
        self.steps = 0  # forwards run (a batch-size counter: rows_stepped / steps is the mean batch)
        self.rows_stepped = 0

    # ---- any thread ----------------------------------------------------------------------

    def add(self, prompt_ids: list[int], cfg: SamplingConfig, owner: str = "cli") -> Row:
        row = Row(list(prompt_ids), cfg.validate(), owner)
        with self._lock:
            self._joining.append(row)
        return row

    @property
    def ready(self) -> bool:
        """There is work: a row to admit or drop, or a row whose reader has room for a token."""
        with self._lock:
            if self._joining:
                return True
        return any(r.closed or _has_room(r) for r in self.rows)

    @property
    def done(self) -> bool:
        with self._lock:
            return not self.rows and not self._joining

    def live_rows(self, owner: str | None = None) -> int:
        with self._lock:
            rows = self.rows + self._joining
        return sum(1 for r in rows if not r.closed and (owner is None or r.owner == owner))

    def close_owner(self, owner: str) -> None:
        with self._lock:
            for row in self.rows + self._joining:
                if row.owner == owner:
                    row.close()

    def fail(self, message: str) -> None:
        """The batch cannot go on: every reader hears why."""
        with self._lock:
            rows, self.rows, self._joining = self.rows + self._joining, [], []
        for row in rows:
            row.error = message
            _put(row, END)
        self.cache = None

    # ---- the owning thread -----------------------------------------------------------------

    @torch.inference_mode()
    def step(self) -> None:
        """One round: drop, admit, pick and hand out a token per row, then one batched forward."""
        dropped = [r for r in self.rows if r.closed]
        if dropped:
            self._keep([r for r in self.rows if not r.closed])
        with self._lock:
            joining, self._joining = self._joining[: self.max_rows - len(self.rows)], self._joining[self.max_rows - len(self.rows):]
        for row in joining:
            if not row.closed:
                self._admit(row)
        stepping = [_has_room(r) for r in self.rows]
        if not any(stepping):
            return
        inputs, finished = [], []
        for row, go in zip(self.rows, stepping):
            if go:
                next_id = self._pick(row)
                if next_id is None:
                    finished.append(row)
                    inputs.append(row.context[-1])
                    continue
                inputs.append(next_id)
            else:
                inputs.append(row.context[-1])  # a placeholder: this row's length does not move
        if finished:
            keep = [r for r in self.rows if r not in finished]
            kept_inputs = [i for r, i in zip(self.rows, inputs) if r not in finished]
            kept_stepping = [s for r, s in zip(self.rows, stepping) if r not in finished]
            self._keep(keep)
            inputs, stepping = kept_inputs, kept_stepping
        if not self.rows or not any(stepping):
            return
        self._slide_if_full()
        self._grow_for(1)
        idx = torch.tensor(inputs, device=self.device)[:, None]  # (B, 1)
        logits = self.model(idx, self.cache, last_only=True, advance_rows=stepping).logits[:, -1]  # (B, vocab)
        self.steps += 1
        self.rows_stepped += sum(stepping)
        for row, go, row_logits in zip(self.rows, stepping, logits):
            if go:
                row.logits = row_logits

    def _pick(self, row: Row) -> int | None:
        """Choose and hand out the row's next token; None when the row is finished (and has said so)."""
        cfg = row.cfg
        probs = row.logits.softmax(-1)
        top = torch.topk(probs, TOP_ALTERNATIVES)  # read back as before, now ahead of the pick:
        top_ids, top_probs = top.indices.tolist(), top.values.tolist()
        if not math.isfinite(top_probs[0]):  # a NaN or inf anywhere in the logits makes every prob NaN (topk: first)
            row.error = f"{self.name} computed NaN or infinite values: its weights are broken, try another model"
            _put(row, END)
            return None
        logits = apply_repetition_penalty(row.logits, row.seen, cfg.repetition_penalty) \
            if cfg.repetition_penalty != 1.0 else row.logits
        next_id = choose_next(logits, cfg, row.generator)
        alternatives = [(self.tokenizer.piece(i), p) for i, p in zip(top_ids, top_probs)]
        prob = float(probs[next_id])
        eos_id = None if cfg.ignore_eos else self.tokenizer.eos_id
        row.produced += 1
        if next_id == eos_id:
            _put(row, TokenStep(next_id, row.decoder.flush(), prob, alternatives, eos=True))
            _put(row, END)
            return None
        last = row.produced >= cfg.max_new_tokens
        text = row.decoder.push(next_id) + (row.decoder.flush() if last else "")
        _put(row, TokenStep(next_id, text, prob, alternatives))
        if last:
            _put(row, END)
            return None
        row.context.append(next_id)
        row.seen[next_id] = True
        return next_id

    def _admit(self, row: Row) -> None:
        """Read the prompt alone (prefill) and add the row to the batch with its first logits."""
        n_positions = self.model.config.n_positions
        row.context = row.prompt_ids[-n_positions:]
        row.generator = torch.Generator(device=self.device)
        if row.cfg.seed is None:
            row.generator.seed()
        else:
            row.generator.manual_seed(row.cfg.seed)
        row.seen = torch.zeros(self.model.config.vocab_size, dtype=torch.bool, device=self.device)
        row.seen[torch.tensor(row.context, device=self.device)] = True
        row.decoder = StreamDecoder(self.tokenizer)
        single = self.model.new_cache(1, capacity=self._capacity_for(row))
        row.logits = self.model(torch.tensor([row.context], device=self.device), single, last_only=True).logits[0, -1]
        self._keep(self.rows + [row], {id(row): single})

    def _capacity_for(self, row: Row) -> int:
        need = len(row.context) + row.cfg.max_new_tokens - row.produced + 1
        return min(self.model.config.n_positions, -(-need // CAPACITY_STEP) * CAPACITY_STEP)

    def _keep(self, rows: list[Row], fresh: dict | None = None) -> None:
        """Rebuild the shared cache for ``rows`` (in this order), copying each row's past across."""
        old_rows, old = self.rows, self.cache
        self.rows = rows
        if not rows:
            self.cache = None
            return
        capacity = max(self._capacity_for(r) for r in rows)
        cache = self.model.new_cache(len(rows), capacity=capacity)
        lengths = []
        for i, row in enumerate(rows):
            if fresh and id(row) in fresh:
                source, j = fresh[id(row)], 0
            else:
                source, j = old, old_rows.index(row)
            n = source.lens[j]
            for layer in range(len(cache.keys)):
                cache.keys[layer][i, :, :n] = source.keys[layer][j, :, :n]
                cache.values[layer][i, :, :n] = source.values[layer][j, :, :n]
            lengths.append(n)
        cache.lens = lengths
        self.cache = cache

    def _grow_for(self, T: int) -> None:
        if self.cache is not None and self.cache.length + T > self.cache.capacity:
            self._keep(list(self.rows))

    def _slide_if_full(self) -> None:
        """A row at the model's context limit re-reads its most recent window and carries on."""
        n_positions = self.model.config.n_positions
        for i, row in enumerate(self.rows):
            if self.cache.lens[i] + 1 > n_positions:
                window = row.context[-max(1, int(n_positions * SLIDE_KEEP)):-1]
                single = self.model.new_cache(1, capacity=n_positions)
                if window:
                    self.model(torch.tensor([window], device=self.device), single, last_only=True)
                rows = list(self.rows)
                self._keep(rows, {id(row): single})


def _has_room(row: Row) -> bool:
    return row.out.qsize() < QUEUE_TOKENS


def _put(row: Row, item) -> None:
    """Hand an item to the row's reader; a reader that left is not waited for."""
    while not row.closed:
        try:
            row.out.put(item, timeout=0.05)
            return
        except queue.Full:
            continue
