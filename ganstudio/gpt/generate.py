"""Generation in the calling thread: a prompt encoded to fit the context, then one TokenStep per new token.

The decoding itself is a batch of one row of ``batch_decode.DecodeBatch`` (the same code the engine's
decode groups run); the knobs and the picking of a token live in ``sampling``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from ganstudio import checks
from ganstudio.errors import BadInput, StudioError
from ganstudio.gpt.batch_decode import DecodeBatch
from ganstudio.gpt.model import GPT
from ganstudio.gpt.sampling import SamplingConfig, TokenStep
from ganstudio.gpt.tokenizer import GPTTokenizer
from ganstudio.limits import LIMITS


@dataclass
class Prompt:
    ids: list[int]  # what the model sees
    dropped: int  # tokens cut from the left because the prompt was longer than the context


def encode_prompt(tokenizer: GPTTokenizer, text: str, n_positions: int) -> Prompt:
    text = checks.text("prompt", text, LIMITS.max_prompt_chars, empty="the prompt is empty: type a few words to continue")
    ids = tokenizer.encode(text)
    if not ids:
        raise BadInput("the prompt encodes to no tokens: type a few words to continue")
    dropped = max(0, len(ids) - n_positions)
    return Prompt(ids[dropped:], dropped)


def stream_tokens(
    model: GPT, tokenizer: GPTTokenizer, prompt_ids: list[int], cfg: SamplingConfig, name: str = "the model"
) -> Iterator[TokenStep]:
    """Yield one TokenStep per new token, decoding in this thread (a batch of one row, see batch_decode);
    stops at end-of-text (unless ignore_eos) or max_new_tokens. Closing the iterator stops it."""
    batch = DecodeBatch(model, tokenizer, max_rows=1, name=name, compile_decode=False)  # a kernel compiled already
    row = batch.add(prompt_ids, cfg)
    try:
        while not batch.done:
            batch.step()
            while not row.out.empty():
                item = row.out.get_nowait()
                if not isinstance(item, TokenStep):
                    if row.error:
                        raise StudioError(row.error)
                    return
                yield item
    finally:
        row.close()


def generate_ids(model: GPT, tokenizer: GPTTokenizer, prompt_ids: list[int], cfg: SamplingConfig) -> list[int]:
    """All new token ids at once (end-of-text included when reached); for tests and benchmarks."""
    return [s.token_id for s in stream_tokens(model, tokenizer, prompt_ids, cfg)]
