"""US National Provider Identifier check (CMS: Luhn over the prefix 80840 + the first nine digits)."""

from __future__ import annotations


def is_valid_npi(npi: str | None) -> bool:
    if npi is None or len(npi) != 10 or not npi.isascii() or not npi.isdigit():
        return False
    digits = [int(c) for c in "80840" + npi[:9]]
    total = 0
    # Luhn: double every second digit from the right of the payload (the check digit is excluded).
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10 == int(npi[9])
