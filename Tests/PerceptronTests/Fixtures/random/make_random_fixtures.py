#!/usr/bin/env python3
"""Writes random.json: the first outputs of xoshiro256** seeded by SplitMix64,
from the algorithms as their authors publish them (prng.di.unimi.it), written
here in Python's unbounded integers masked to 64 bits, for the Swift tests.

Run from this folder: python3 make_random_fixtures.py
"""
import json

MASK = (1 << 64) - 1


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & MASK
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return state, z ^ (z >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & MASK


def xoshiro256starstar(s):
    result = (rotl((s[1] * 5) & MASK, 7) * 9) & MASK
    t = (s[1] << 17) & MASK
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = rotl(s[3], 45)
    return result


cases = []
for seed in [0, 1, 42, 0xFFFFFFFFFFFFFFFF]:
    sm = seed
    state = []
    for _ in range(4):
        sm, word = splitmix64(sm)
        state.append(word)
    initial = list(state)
    outputs = [xoshiro256starstar(state) for _ in range(16)]
    # Decimal strings: JSON numbers past 2^53 would lose digits in some readers.
    cases.append({"seed": str(seed), "state": [str(w) for w in initial], "outputs": [str(o) for o in outputs]})

with open("random.json", "w") as out:
    json.dump(cases, out, indent=1)
    out.write("\n")
