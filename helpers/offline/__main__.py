"""``python -m helpers.offline --port 8765``: serve the offline backend on loopback."""

from __future__ import annotations

import argparse

from .server import DEFAULT_HOST, DEFAULT_PORT, serve


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.offline",
        description="Serve the kit's offline Messages API backend over HTTP (replies are the kit's own text, not Claude's).",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT})")
    args = parser.parse_args()
    print(f"Offline Messages API backend on http://{args.host}:{args.port} (the kit's deterministic text, not Claude). Ctrl-C stops it.", flush=True)
    serve(args.host, args.port)


if __name__ == "__main__":
    main()
