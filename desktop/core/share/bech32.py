"""Bech32 (BIP 173) as age uses it: no length limit, all-lower or all-upper case.

age encodes X25519 recipients as ``age1...`` and identities as ``AGE-SECRET-KEY-1...``.
pyrage parses those strings but does not hand out the raw 32-byte keys that the age header
code (:mod:`desktop.core.share.age_header`) needs, so this module converts both ways.
"""

from __future__ import annotations

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_GENERATORS = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _polymod(values: list[int]) -> int:
    check = 1
    for value in values:
        top = check >> 25
        check = (check & 0x1FFFFFF) << 5 ^ value
        for i, generator in enumerate(_GENERATORS):
            if (top >> i) & 1:
                check ^= generator
    return check


def _expand_hrp(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convert_bits(data: bytes | list[int], from_bits: int, to_bits: int, pad: bool) -> list[int]:
    accumulator = bits = 0
    out: list[int] = []
    max_value = (1 << to_bits) - 1
    for value in data:
        if value >> from_bits:
            raise ValueError("bech32: value out of range")
        accumulator = (accumulator << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((accumulator >> bits) & max_value)
    if pad:
        if bits:
            out.append((accumulator << (to_bits - bits)) & max_value)
    elif bits >= from_bits or (accumulator << (to_bits - bits)) & max_value:
        raise ValueError("bech32: non-zero padding")
    return out


def encode(hrp: str, data: bytes, upper: bool = False) -> str:
    """``hrp`` + ``1`` + data + checksum; upper case for age secret keys."""
    hrp = hrp.lower()
    words = _convert_bits(data, 8, 5, pad=True)
    polymod = _polymod(_expand_hrp(hrp) + words + [0] * 6) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    text = hrp + "1" + "".join(_CHARSET[w] for w in words + checksum)
    return text.upper() if upper else text


def decode(text: str, hrp: str) -> bytes:
    """The bytes of ``text`` if it is valid Bech32 with human-readable part ``hrp``.

    Raises :class:`ValueError` (with a technical message; callers turn it into a person's).
    """
    if text != text.lower() and text != text.upper():
        raise ValueError("bech32: mixed case")
    lowered = text.lower()
    separator = lowered.rfind("1")
    if separator < 1 or separator + 7 > len(lowered):
        raise ValueError("bech32: no separator or checksum")
    if lowered[:separator] != hrp.lower():
        raise ValueError("bech32: unexpected prefix")
    try:
        words = [_CHARSET.index(c) for c in lowered[separator + 1:]]
    except ValueError:
        raise ValueError("bech32: invalid character") from None
    if _polymod(_expand_hrp(lowered[:separator]) + words) != 1:
        raise ValueError("bech32: bad checksum")
    return bytes(_convert_bits(words[:-6], 5, 8, pad=False))
