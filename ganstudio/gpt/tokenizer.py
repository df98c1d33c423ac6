"""Byte-level BPE tokenizer from a model folder (``tokenizer.json`` or ``vocab.json`` + ``merges.txt``)."""

from __future__ import annotations

from pathlib import Path

from tokenizers import ByteLevelBPETokenizer, Tokenizer

from ganstudio.errors import BadModel

TOKENIZER_FILES = ("tokenizer.json", "vocab.json", "merges.txt")
MAX_TOKENIZER_BYTES = 50_000_000  # GPT-2's tokenizer.json is 1.4 MB; a file 35x that is not a tokenizer
END_OF_TEXT = "<|endoftext|>"


class GPTTokenizer:
    """Text <-> ids, plus the display text of single tokens (cached: the UI asks for it per step)."""

    def __init__(self, backend: Tokenizer, eos_id: int | None):
        self.backend = backend
        self.eos_id = eos_id
        self._pieces: dict[int, str] = {}

    @classmethod
    def from_folder(cls, folder: str | Path, eos_id: int | None = None, name: str | None = None) -> "GPTTokenizer":
        folder = Path(folder)
        name = name or folder.name
        for file in TOKENIZER_FILES:
            if (folder / file).is_file() and (folder / file).stat().st_size > MAX_TOKENIZER_BYTES:
                raise BadModel(f"{name}: {file} is larger than {MAX_TOKENIZER_BYTES // 1_000_000} MB; not a tokenizer")
        try:
            if (folder / "tokenizer.json").is_file():
                backend = Tokenizer.from_file(str(folder / "tokenizer.json"))
            elif (folder / "vocab.json").is_file() and (folder / "merges.txt").is_file():
                backend = ByteLevelBPETokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
            else:
                raise BadModel(f"{name}: missing tokenizer (need tokenizer.json or vocab.json + merges.txt)")
        except BadModel:
            raise
        except Exception as err:  # tokenizers raises plain Exceptions for malformed files
            raise BadModel(f"{name}: unreadable tokenizer ({str(err).splitlines()[0][:120]})") from None
        if eos_id is None:
            eos_id = backend.token_to_id(END_OF_TEXT)
        return cls(backend, eos_id)

    @property
    def vocab_size(self) -> int:
        return self.backend.get_vocab_size(with_added_tokens=True)

    def encode(self, text: str) -> list[int]:
        return self.backend.encode(text, add_special_tokens=False).ids

    def decode(self, ids: list[int]) -> str:
        return self.backend.decode(ids, skip_special_tokens=False)

    def piece(self, token_id: int) -> str:
        """How one token reads on its own (a lone byte of a multi-byte character shows as U+FFFD)."""
        text = self._pieces.get(token_id)
        if text is None:
            text = self._pieces[token_id] = self.decode([token_id])
        return text

    def token_strings(self, ids: list[int]) -> list[str]:
        return [self.piece(i) for i in ids]


class StreamDecoder:
    """Turns ids into text pieces one at a time without splitting multi-byte characters.

    A token may end half-way through a UTF-8 character; its text is held back (empty piece)
    until the next token completes it.
    """

    def __init__(self, tokenizer: GPTTokenizer):
        self.tokenizer = tokenizer
        self.pending: list[int] = []

    def push(self, token_id: int) -> str:
        self.pending.append(token_id)
        text = self.tokenizer.decode(self.pending)
        if text.endswith("\ufffd") and len(self.pending) < 4:  # a UTF-8 character spans at most 4 bytes
            return ""
        self.pending = []
        return text

    def flush(self) -> str:
        """Whatever is held back, as is (an incomplete character reads as U+FFFD)."""
        text = self.tokenizer.decode(self.pending) if self.pending else ""
        self.pending = []
        return text
