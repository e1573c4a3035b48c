"""Creating learners' tokens, and handing them out: printed lines, one env file per learner, or one JSON
file that a JupyterHub configuration reads (see the README's JupyterHub recipe).

Tokens exist in clear only here, at creation: the database keeps their hashes. Files that hold
tokens are written readable by their owner only, in one step (a failed write leaves no half file).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

from ..safe_file import replace_file
from . import tokens as tk
from .store import Store

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")


@dataclass(frozen=True)
class Issued:
    name: str
    token: str


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise ValueError(f"{name!r} cannot be a learner's name: use 1 to 64 letters, digits, '.', '_', '-', '@' or "
                         "'+', starting with a letter or digit (a JupyterHub user name works).")
    return name


def free_names(store: Store, count: int) -> list[str]:
    taken = {learner.name for learner in store.learners()}
    names, number = [], 1
    while len(names) < count:
        name = f"learner-{number:02d}"
        if name not in taken:
            names.append(name)
        number += 1
    return names


def add(store: Store, names: Iterable[str], *, budget_nano: Optional[int], budget_tokens: Optional[int]) -> list[Issued]:
    issued = []
    for name in names:
        secret = tk.new_secret()
        learner_id = store.add_learner(check_name(name), secret, budget_nano, budget_tokens)
        issued.append(Issued(name, tk.learner_token(learner_id, secret)))
    return issued


def reissue(store: Store, name: str) -> Issued:
    """A new token for ``name``; the old one stops working at once."""
    secret = tk.new_secret()
    return Issued(name, tk.learner_token(store.new_secret_for(name, secret), secret))


def environment(issued: Issued, url: str) -> dict[str, str]:
    """What a learner's kernel needs: ``connect()`` then runs live against the classroom server."""
    return {"ANTHROPIC_API_KEY": issued.token, "ANTHROPIC_BASE_URL": url}


def env_text(issued: Issued, url: str) -> str:
    lines = [f"# Classroom token for {issued.name}: put this file in the kit's folder as .env",
             *(f"{k}={v}" for k, v in environment(issued, url).items())]
    return "\n".join(lines) + "\n"


def write_env_files(issued: list[Issued], url: str, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    paths = []
    for item in issued:
        path = folder / f"{item.name}.env"
        replace_file(path, env_text(item, url).encode(), mode=0o600)
        paths.append(path)
    return paths


def write_hub_file(issued: list[Issued], url: str, path: Path) -> None:
    """``{"users": {name: {ANTHROPIC_API_KEY: ..., ANTHROPIC_BASE_URL: ...}}}``, merged into the file if it exists."""
    existing = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"users": {}}
    users = dict(existing.get("users", {}))
    users.update({item.name: environment(item, url) for item in issued})
    replace_file(path, (json.dumps({"users": users}, indent=2, sort_keys=True) + "\n").encode(), mode=0o600)
