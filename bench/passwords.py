"""Cost of one argon2id password hash and verification (pwdlib defaults: m=64 MiB, t=3, p=4).

Every sign-in attempt pays one verification per account with that email (unknown emails pay
one too, so that timing does not reveal which emails exist); accepting an invitation or resetting
a password pays one hash. This bounds sign-ins per core per second.

    .venv/bin/python bench/passwords.py [rounds]
"""

from __future__ import annotations

import statistics
import sys
import time

from autoscribe.auth.passwords import hash_password, verify_password


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    hashes, verifies = [], []
    stored = hash_password("warm-up password")
    for i in range(rounds):
        started = time.perf_counter()
        stored = hash_password(f"benchmark password {i}")
        hashes.append(time.perf_counter() - started)
        started = time.perf_counter()
        assert verify_password(f"benchmark password {i}", stored)
        verifies.append(time.perf_counter() - started)
    print(f"argon2id hash:   median {statistics.median(hashes) * 1000:.0f} ms over {rounds} rounds")
    print(f"argon2id verify: median {statistics.median(verifies) * 1000:.0f} ms over {rounds} rounds")
    print(f"=> about {1 / statistics.median(verifies):.1f} sign-in checks per second per core")


if __name__ == "__main__":
    main()
