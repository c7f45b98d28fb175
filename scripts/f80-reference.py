#!/usr/bin/env python3
"""Correctly rounded x87 transcendentals, the reference translator/src/f80/trans.rs
is tested against: mpmath computes at 512 bits and rounds once to the extended
format's 64-bit significand (to nearest, ties to even).

Reads lines "FUNC SE SIG [SE SIG]" (hex: sign-and-exponent word, significand
of an 80-bit value; the second value is ST(1) for fpatan, fyl2x, fyl2xp1) and
writes one line "SE SIG" for each: the result as an 80-bit value.
FUNC is fsin, fcos, ftan, f2xm1, fpatan (atan2(ST1, ST0)), fyl2x (ST1 *
log2(ST0)) or fyl2xp1 (ST1 * log2(ST0 + 1)).
"""
import sys

import mpmath

mpmath.mp.prec = 512


def value(se, sig):
    exp = se & 0x7FFF
    v = mpmath.mpf(sig) * mpmath.mpf(2) ** (max(exp, 1) - 16383 - 63)
    return -v if se & 0x8000 else v


def encode(v):
    if v == 0:
        return 0x8000 if mpmath.sign(v) < 0 else 0, 0
    sign = 0x8000 if v < 0 else 0
    with mpmath.workprec(64):
        r = +abs(v)  # rounded to 64 bits, to nearest even
    man, exp = r.man, r.exp
    bits = man.bit_length()
    sig = man << (64 - bits)
    e = exp + bits - 1 + 16383
    if not 0 < e < 0x7FFF:
        raise ValueError("result outside the extended range")
    return sign | e, sig


FUNCS = {
    "fsin": lambda x, y: mpmath.sin(x),
    "fcos": lambda x, y: mpmath.cos(x),
    "ftan": lambda x, y: mpmath.tan(x),
    "f2xm1": lambda x, y: mpmath.power(2, x) - 1,
    "fpatan": lambda x, y: mpmath.atan2(y, x),
    "fyl2x": lambda x, y: y * mpmath.log(x, 2),
    "fyl2xp1": lambda x, y: y * mpmath.log(x + 1, 2),
}

for line in sys.stdin:
    parts = line.split()
    x = value(int(parts[1], 16), int(parts[2], 16))
    y = value(int(parts[3], 16), int(parts[4], 16)) if len(parts) > 3 else None
    se, sig = encode(FUNCS[parts[0]](x, y))
    print(f"{se:04x} {sig:016x}", flush=True)
