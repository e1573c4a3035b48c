"""``python -m helpers.offline --port 8765``: serve the offline backend on loopback."""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from . import server


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.offline",
        description="Serve the kit's offline Messages API backend over HTTP (replies are the kit's own text, not Claude's).",
    )
    parser.add_argument(
        "--host", default=server.DEFAULT_HOST,
        help=f"address to listen on (default {server.DEFAULT_HOST}; a non-loopback address also needs --expose)",
    )
    parser.add_argument(
        "--port", type=int, default=server.DEFAULT_PORT, help=f"port to listen on (default {server.DEFAULT_PORT})",
    )
    parser.add_argument(
        "--expose", action="store_true",
        help="allow a host that is not loopback, such as 0.0.0.0: other machines can then use the server, "
             "which checks no real key",
    )
    args = parser.parse_args(argv)
    if not server.is_loopback(args.host) and not args.expose:
        parser.error(
            f"--host {args.host} is not a loopback address: other machines could use this server, and it checks "
            "no real key. Use 127.0.0.1, ::1 or localhost, or add --expose if that is what you want."
        )
    url = server.base_url(args.host, args.port)
    print(f"Offline Messages API backend on {url} (the kit's deterministic text, not Claude). Ctrl-C stops it.", flush=True)
    if args.expose and not server.is_loopback(args.host):
        print(server.exposure_warning(args.host, args.port), file=sys.stderr, flush=True)
    server.serve(args.host, args.port, expose=args.expose)


if __name__ == "__main__":
    main()
