"""The lines the Text GAN learns from, their alphabet, and two quality figures a reader can check.

The corpus is ``ganstudio/data/shakespeare_heldout.txt`` (the bundled GPT never trained on it): every line of at
least ``line_chars`` characters, cut to that length. The alphabet is the characters those lines use; a prompt
with any other character (a control byte, an emoji) is refused in one line.

Quality figures of a set of generated lines, both against the corpus:

* ``bigram_distance``: total-variation distance between the character-pair frequencies of the lines and of the
  corpus (0 = the same pairs, equally often; 1 = no pair in common);
* ``word_share``: the share of whole words (2+ letters, the last word of a line left out: it may be cut) that
  occur somewhere in the corpus.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import torch

from ganstudio.checks import shown
from ganstudio.errors import BadInput

CORPUS_PATH = Path(__file__).resolve().parent.parent / "data" / "shakespeare_heldout.txt"
END_OF_TEXT = "<|endoftext|>"
WORD = re.compile(r"[a-z']*[a-z]")


@dataclass(frozen=True)
class Corpus:
    lines: tuple[str, ...]  # every corpus line of at least line_chars characters, cut to line_chars
    alphabet: str  # the characters they use, sorted: id i is alphabet[i]
    words: frozenset  # every word of the whole text, lower case (word_share looks words up here)
    bigrams: dict  # (a, b) -> share of all adjacent character pairs of ``lines``

    def encode(self, text: str) -> list[int]:
        return [self.alphabet.index(c) for c in text]

    def decode(self, ids) -> str:
        return "".join(self.alphabet[int(i)] for i in ids)

    def tensor(self, lines: list[str]) -> torch.Tensor:
        """(B, T) character ids of equally long lines."""
        return torch.tensor([self.encode(line) for line in lines], dtype=torch.long)

    def check_prompt(self, name: str, text: str) -> str:
        """A prompt G can read: every character in the alphabet (else one line naming the first stranger)."""
        strangers = [c for c in text if c not in self.alphabet]
        if strangers:
            raise BadInput(f"{name} holds {shown(strangers[0])}, a character no line of the corpus uses: type "
                           "plain letters and punctuation")
        return text


@functools.lru_cache(maxsize=4)
def load_corpus(line_chars: int = 24, path: Path = CORPUS_PATH) -> Corpus:
    text = path.read_text(encoding="utf-8")
    lines = tuple(line[:line_chars] for line in text.split("\n") if len(line) >= line_chars and line != END_OF_TEXT)
    alphabet = "".join(sorted(set("".join(lines))))
    words = frozenset(WORD.findall(text.lower()))
    return Corpus(lines, alphabet, words, _bigram_shares(lines))


def _bigram_shares(lines) -> dict:
    counts = Counter(pair for line in lines for pair in zip(line, line[1:]))
    total = sum(counts.values()) or 1
    return {pair: n / total for pair, n in counts.items()}


def bigram_distance(lines: list[str], corpus: Corpus) -> float:
    """Total-variation distance of the lines' character pairs from the corpus's: 0 (same) to 1 (disjoint)."""
    ours = _bigram_shares(lines)
    pairs = ours.keys() | corpus.bigrams.keys()
    return 0.5 * sum(abs(ours.get(p, 0.0) - corpus.bigrams.get(p, 0.0)) for p in pairs)


def word_share(lines: list[str], corpus: Corpus) -> float:
    """Share of the lines' whole words (2+ letters, each line's last word left out) found in the corpus."""
    words = [w for line in lines for w in WORD.findall(line.lower())[:-1] if len(w) >= 2]
    return sum(w in corpus.words for w in words) / len(words) if words else 0.0
