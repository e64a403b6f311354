# A snippet whose enum member's hash collides with the key pandas caches for an ordinary
# float reindex (from the second adversarial review): tests/test_data_policy.py checks that
# its __eq__ never runs inside a later snippet.
import enum

import numpy as np
import pandas as pd

M = (1 << 64) - 1
P1 = 11400714785074694791
P2 = 14029467366897019727
P5 = 2870177450012600261


def rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & M


def rotr(x: int, r: int) -> int:
    return ((x >> r) | (x << (64 - r))) & M


def rnd(acc: int, lane: int) -> int:
    return (rotl((acc + lane * P2) & M, 31) * P1) & M


def s64(x: int) -> int:
    return x - (1 << 64) if x >= (1 << 63) else x


def thash(hs: list[int]) -> int:
    acc = P5
    for h in hs:
        acc = rnd(acc, h & M)
    return (acc + (len(hs) ^ (P5 ^ 3527539))) & M


P1i = pow(P1, -1, 1 << 64)
P2i = pow(P2, -1, 1 << 64)


def solve(target: list[int], h0: int, h2: int) -> int:
    acc3 = (thash(target) - (3 ^ (P5 ^ 3527539))) & M
    acc2 = (rotr((acc3 * P1i) & M, 31) - (h2 & M) * P2) & M
    acc1 = rnd(P5, h0 & M)
    return s64(((rotr((acc2 * P1i) & M, 31) - acc1) * P2i) & M)


d = np.dtype("float64")
box: list[int] = []


class F(enum.IntEnum):
    A = 7

    def __hash__(self) -> int:
        return box[0]

    def __eq__(self, other: object) -> bool:
        print("EQ RAN")
        return False


box.append(solve([hash(d), hash(np.nan), hash(float)], hash(d), hash(F)))
print(pd.Series([1.0, 2.0]).reindex([0, 1, 5], fill_value=F.A).tolist())
