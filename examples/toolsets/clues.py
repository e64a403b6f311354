"""A treasure hunt: trails of clues to follow, locks to open by probing, messages to decode.

Every trail is a chain of clues: each clue gives one symbol and the id of the next clue, so a
trail can only be read one step at a time. Each short trail spells the name of a lock; a lock
opens with a number between 0 and 9999 that ``probe_lock`` narrows down ("higher" or "lower").
Messages are encoded with one of four ciphers (see ``Cipher``). Nothing here changes state.
"""

from __future__ import annotations

import enum
import random
import string
from typing import Literal

from pydantic import BaseModel, Field

from engine import tool


class Clue(BaseModel):
    """One stop on a trail."""

    id: str
    trail: str
    symbol: str = Field(description="the single character this clue contributes")
    decoy: bool = Field(default=False,
                        description="a decoy's symbol is not part of the trail's message")
    next_id: str | None = Field(
        default=None, description="the clue to read next; None at the end of the trail")


class Cipher(enum.StrEnum):
    """How a message was encoded, and so how to decode it.

    CAESAR: every letter was shifted `key` places forward in the alphabet, wrapping z to a;
    decode by shifting back (caesar_shift(text, -key)). ATBASH: every letter was mirrored
    (a<->z, b<->y, ...); mirroring again decodes. REVERSE: the whole text was written
    backwards. CODEBOOK: the text is space-separated 'page.line' references and
    codebook_word(page, line) gives each word. Spaces are kept by every cipher but CODEBOOK.
    """

    CAESAR = "CAESAR"
    ATBASH = "ATBASH"
    REVERSE = "REVERSE"
    CODEBOOK = "CODEBOOK"


class Message(BaseModel):
    """An intercepted message: lowercase words separated by single spaces once decoded."""

    id: int
    sender: str
    cipher: Cipher
    key: int = Field(default=0, description="the CAESAR shift (1 to 25); 0 for other ciphers")
    text: str = Field(description="the encoded text")


_TRAILS = ("amber", "cobalt", "crimson", "ivory", "jade", "onyx", "saffron", "teal")
_LOCKS = ("anchor", "beacon", "cipher", "dragon", "ember", "falcon", "glacier", "harbor",
          "island", "jasmine", "kestrel", "lantern")
_VOCABULARY = (
    "meet", "at", "the", "old", "bridge", "river", "north", "south", "gate", "dawn", "dusk",
    "gold", "silver", "map", "is", "under", "stone", "tower", "bring", "key", "wait", "for",
    "signal", "moon", "harbor", "boat", "leaves", "tonight", "three", "seven", "lantern",
    "watch", "garden", "hidden", "behind", "clock", "market", "square", "red", "door", "east",
    "west", "library", "second", "shelf", "train", "station", "noon", "crow", "flies",
)
_SENDERS = ("Agent Fox", "Agent Lynx", "Agent Owl", "Agent Wren")
_PAGES, _LINES = 20, 30


def caesar(text: str, shift: int) -> str:
    """Shift every lowercase letter `shift` places forward, wrapping around."""
    return "".join(
        chr((ord(c) - 97 + shift) % 26 + 97) if "a" <= c <= "z" else c for c in text
    )


def atbash(text: str) -> str:
    """Mirror every lowercase letter: a<->z, b<->y, ..."""
    return "".join(chr(219 - ord(c)) if "a" <= c <= "z" else c for c in text)


class Hunt:
    """The trails, locks, codebook and messages; deterministic for a given seed."""

    def __init__(self, seed: int = 23, marathon: int = 2_400) -> None:
        rng = random.Random(seed)
        used: set[str] = set()

        def new_id() -> str:
            while True:
                candidate = f"{rng.getrandbits(24):06x}"
                if candidate not in used:
                    used.add(candidate)
                    return candidate

        self.clues: dict[str, Clue] = {}
        self.starts: dict[str, str] = {}
        self.words: dict[str, str] = {}  # trail -> the lock name it spells

        def lay(trail: str, steps: list[tuple[str, bool]]) -> None:
            ids = [new_id() for _ in steps]
            for i, (symbol, decoy) in enumerate(steps):
                self.clues[ids[i]] = Clue(id=ids[i], trail=trail, symbol=symbol, decoy=decoy,
                                          next_id=ids[i + 1] if i + 1 < len(ids) else None)
            self.starts[trail] = ids[0]

        for trail, word in zip(_TRAILS, rng.sample(_LOCKS, len(_TRAILS)), strict=True):
            self.words[trail] = word
            decoy_rate = rng.choice((0.0, 0.0, 0.3, 0.5))
            steps: list[tuple[str, bool]] = []
            for letter in word:
                while rng.random() < decoy_rate:
                    steps.append((rng.choice(string.ascii_lowercase), True))
                steps.append((letter, False))
            lay(trail, steps)
        alphabet = string.ascii_lowercase + string.digits
        lay("marathon", [(rng.choice(alphabet), rng.random() < 0.2) for _ in range(marathon)])

        self.locks = {name: rng.randint(0, 9999) for name in _LOCKS}

        slots = [(page, line) for page in range(1, _PAGES + 1) for line in range(1, _LINES + 1)]
        rng.shuffle(slots)
        fill = list(_VOCABULARY) + [rng.choice(_VOCABULARY)
                                    for _ in range(len(slots) - len(_VOCABULARY))]
        self.codebook: dict[tuple[int, int], str] = dict(zip(slots, fill, strict=True))
        where: dict[str, list[tuple[int, int]]] = {}
        for slot, word in sorted(self.codebook.items()):
            where.setdefault(word, []).append(slot)

        self.messages: dict[int, Message] = {}
        self.plaintexts: dict[int, str] = {}
        ciphers = list(Cipher)
        for message_id in range(1, 41):
            words = [rng.choice(_VOCABULARY) for _ in range(rng.randint(3, 7))]
            plain = " ".join(words)
            cipher = ciphers[(message_id - 1) % len(ciphers)] if message_id <= 8 else \
                rng.choice(ciphers)
            key = rng.randint(1, 25) if cipher is Cipher.CAESAR else 0
            if cipher is Cipher.CAESAR:
                text = caesar(plain, key)
            elif cipher is Cipher.ATBASH:
                text = atbash(plain)
            elif cipher is Cipher.REVERSE:
                text = plain[::-1]
            else:
                text = " ".join("{}.{}".format(*rng.choice(where[w])) for w in words)
            self.plaintexts[message_id] = plain
            self.messages[message_id] = Message(id=message_id, sender=rng.choice(_SENDERS),
                                                cipher=cipher, key=key, text=text)


HUNT = Hunt()


@tool
def list_trails() -> list[str]:
    """Names of every trail, sorted."""
    return sorted(HUNT.starts)


@tool
def trail_start(trail: str) -> str:
    """The id of a trail's first clue. Raises KeyError for an unknown trail."""
    if trail not in HUNT.starts:
        raise KeyError(f"no trail named {trail!r}; known: {sorted(HUNT.starts)}")
    return HUNT.starts[trail]


@tool
def get_clue(clue_id: str) -> Clue:
    """The clue with this id. Raises KeyError for an unknown id."""
    if clue_id not in HUNT.clues:
        raise KeyError(f"no clue {clue_id!r}")
    return HUNT.clues[clue_id]


@tool
def list_locks() -> list[str]:
    """Names of every lock, sorted."""
    return sorted(HUNT.locks)


@tool
def probe_lock(lock: str, guess: int) -> Literal["higher", "lower", "open"]:
    """Try a code (0 to 9999) on a lock: "open" if it is right, "higher" if the code is
    greater than the guess, "lower" if it is smaller. Raises KeyError for an unknown lock."""
    if lock not in HUNT.locks:
        raise KeyError(f"no lock named {lock!r}")
    code = HUNT.locks[lock]
    if guess == code:
        return "open"
    return "higher" if code > guess else "lower"


@tool
def list_message_ids() -> list[int]:
    """Ids of every intercepted message, ascending."""
    return sorted(HUNT.messages)


@tool
def get_message(message_id: int) -> Message:
    """The message with this id, still encoded. Raises KeyError for an unknown id."""
    if message_id not in HUNT.messages:
        raise KeyError(f"no message {message_id}")
    return HUNT.messages[message_id]


@tool
def caesar_shift(text: str, shift: int) -> str:
    """Shift every lowercase letter of `text` by `shift` places (negative: backwards), wrapping
    around the alphabet; other characters are unchanged."""
    return caesar(text, shift)


@tool
def codebook_word(page: int, line: int) -> str:
    """The word on a page (1 to 20) and line (1 to 30) of the codebook."""
    if (page, line) not in HUNT.codebook:
        raise KeyError(f"the codebook has no page {page} line {line}")
    return HUNT.codebook[page, line]


TOOLS = [
    list_trails, trail_start, get_clue, list_locks, probe_lock, list_message_ids, get_message,
    caesar_shift, codebook_word,
]
