"""The SHA-256 of a data file, recorded when a run starts and checked when it resumes, so a
resume never continues on other data than it began with."""
import hashlib
from pathlib import Path


def sha256(path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
