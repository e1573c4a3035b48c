"""``python -m helpers.classroom``: serve a room, and manage its roster and budgets.

    python -m helpers.classroom roster add --count 30 --usd 2 --url http://192.168.1.20:8780 --env-dir tokens/
    python -m helpers.classroom serve                          # loopback only; --host 0.0.0.0 --expose for a room
    python -m helpers.classroom topup learner-07 --usd 1       # while the server runs
    python -m helpers.classroom budget --all --usd 0.5         # set budgets, lower as well as higher
    python -m helpers.classroom status
"""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path
from typing import Optional, Sequence

from ..offline import server as http_server
from . import roster
from .dashboard import dollars, top_up_command
from .limits import MB, FileLimits, RateLimits
from .pricing import to_nano, to_usd
from .service import DEFAULT_DB, DEFAULT_PORT, build
from .store import Caps, SqliteStore, StorageError
from .upstream import API_URL, SetupError, instructor_key


ROOM_LIMITS = http_server.Limits(idle_timeout_s=5.0, read_timeout_s=60.0)
"""The loopback server's connection limits, with a minute (not 10 s) to send a request: a learner on a busy
Wi-Fi may upload an image or a PDF of several megabytes."""


def _money(text: str) -> float:
    value = float(text)
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is not a dollar amount (a number of dollars, 0 or more)")
    return value


def _megabytes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is not a size in MB (a number above 0, such as 32)")
    return value


def _budget_usd(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is not a budget: give a number of dollars, 0 or more (a budget "
                                         "cannot be negative; 0 stops the learner's calls)")
    return value


def _budget_tokens(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is not a budget: give a whole number of tokens, 0 or more (a "
                                         "budget cannot be negative; 0 stops the learner's calls)")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is not a count (a whole number, 0 or more)")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m helpers.classroom", description=(
        "A classroom server: learners call the Messages API through it with their own token and budget, "
        "and the instructor's key never leaves it."))
    parser.add_argument("--db", type=Path, default=Path(DEFAULT_DB),
                        help=f"the classroom's SQLite database (default ./{DEFAULT_DB}; keep it private)")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="forward learners' calls to the API (rehearsal: offline, if no key)")
    serve.add_argument("--host", default=http_server.DEFAULT_HOST,
                       help="address to listen on (default 127.0.0.1; a room needs e.g. 0.0.0.0 and --expose)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    serve.add_argument("--expose", action="store_true",
                       help="allow a host that other machines can reach (learners on your network)")
    serve.add_argument("--certfile", type=Path, help="TLS certificate (PEM): serve https")
    serve.add_argument("--keyfile", type=Path, help="TLS private key (PEM) for --certfile")
    serve.add_argument("--upstream", default=API_URL, help=f"the API to forward to (default {API_URL})")
    serve.add_argument("--rehearsal", action="store_true",
                       help="answer from the kit's offline backend even if a key is set (nothing is billed)")
    serve.add_argument("--per-minute", type=float, default=RateLimits.per_minute,
                       help=f"requests per learner per minute (default {RateLimits.per_minute:g})")
    serve.add_argument("--burst", type=int, default=RateLimits.burst,
                       help=f"requests a learner may send at once (default {RateLimits.burst})")
    serve.add_argument("--concurrent", type=int, default=RateLimits.concurrent,
                       help=f"calls of one learner running at once (default {RateLimits.concurrent})")
    serve.add_argument("--file-mb", type=_megabytes, default=FileLimits.per_file_bytes // MB,
                       help=f"the largest file a learner may upload, in MB (default {FileLimits.per_file_bytes // MB})")
    serve.add_argument("--files-mb", type=_megabytes, default=FileLimits.per_learner_bytes // MB,
                       help="all of one learner's uploaded files together at most, in MB (default "
                            f"{FileLimits.per_learner_bytes // MB})")
    serve.add_argument("--stuck-after", type=int, default=3,
                       help="failed tries of one exercise after which the dashboard lists a learner as stuck")

    roster_cmd = commands.add_parser("roster", help="create learners' tokens, list them, or replace one")
    roster_sub = roster_cmd.add_subparsers(dest="action", required=True)
    add = roster_sub.add_parser("add", help="add learners and print their tokens (shown once: save them)")
    add.add_argument("names", nargs="*", help="learners' names (JupyterHub user names for the hub file)")
    add.add_argument("--count", type=_count, default=0, help="add this many learners named learner-01, ...")
    add.add_argument("--usd", type=_money, default=1.0, help="each learner's budget in dollars (default 1.00)")
    add.add_argument("--tokens", type=_count, help="each learner's budget in tokens (input + output), as well")
    add.add_argument("--no-usd", action="store_true", help="no dollar budget (then give --tokens)")
    for command in (add, roster_sub.add_parser("reissue", help="a new token for a learner; the old one stops working")):
        if command is not add:
            command.add_argument("names", nargs="+", help="learners' names")
        command.add_argument("--url", default=f"http://{http_server.DEFAULT_HOST}:{DEFAULT_PORT}",
                             help="the server's address as learners reach it (their ANTHROPIC_BASE_URL)")
        command.add_argument("--env-dir", type=Path, help="write one NAME.env file per learner in this folder")
        command.add_argument("--hub-file", type=Path, help="add the tokens to this JSON file for JupyterHub")
    roster_sub.add_parser("list", help="list learners with their budgets and spending")

    topup = commands.add_parser("topup", help="raise budgets (the running server sees it at once)")
    topup.add_argument("names", nargs="*", help="learners' names")
    topup.add_argument("--all", action="store_true", help="every learner")
    topup.add_argument("--usd", type=_money, default=0.0, help="dollars to add")
    topup.add_argument("--tokens", type=_count, default=0, help="tokens to add")

    budget = commands.add_parser("budget", help="set budgets to an amount, lower or higher (the running server "
                                                "uses it from the next call)")
    budget.add_argument("names", nargs="*", help="learners' names")
    budget.add_argument("--all", action="store_true", help="every learner")
    budget.add_argument("--usd", type=_budget_usd, help="the budget in dollars")
    budget.add_argument("--tokens", type=_budget_tokens, help="the budget in tokens (input + output)")

    cap = commands.add_parser("cap", help="set the class-wide cap on spending (all learners together)")
    cap.add_argument("--usd", type=_money, help="dollars for the whole class")
    cap.add_argument("--tokens", type=_count, help="tokens for the whole class")
    commands.add_parser("status", help="the room at a glance, in the terminal")
    return parser


def _print_issued(issued: list[roster.Issued], args) -> None:
    print(f"Tokens (shown only now; the database keeps their hashes). Each learner sets, e.g. in the kit's .env:")
    print(f"  ANTHROPIC_BASE_URL={args.url}")
    width = max(len(item.name) for item in issued)
    for item in issued:
        print(f"  {item.name:<{width}}  ANTHROPIC_API_KEY={item.token}")
    if args.env_dir:
        paths = roster.write_env_files(issued, args.url, args.env_dir)
        print(f"Wrote {len(paths)} env files in {args.env_dir}/ (NAME.env, readable only by you): give each learner "
              "theirs, to save as .env in the kit's folder.")
    if args.hub_file:
        roster.write_hub_file(issued, args.url, args.hub_file)
        print(f"Added {len(issued)} learners to {args.hub_file} (for JupyterHub; readable only by you).")


def _budget_words(budget_nano: Optional[int], spent_nano: int, budget_tokens: Optional[int], tokens: int) -> str:
    usd = f"{dollars(to_usd(spent_nano))} of " + ("no limit" if budget_nano is None else dollars(to_usd(budget_nano)))
    return usd + (f", {tokens:,} of {budget_tokens:,} tokens" if budget_tokens is not None else f", {tokens:,} tokens")


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _error_words(learner) -> str:
    """The learner's errors for ``status``, as the dashboard splits them: a refusal for budget first, with its fix
    (only the instructor can give it), then the lessons' own errors apart from the trouble."""
    words = []
    if learner.refused:
        words.append(f"out of budget: {_plural(learner.refused, 'call')} refused (fix: {top_up_command(learner)})")
    if learner.errors:
        words.append(f"{_plural(learner.lesson_errors, 'lesson error')}, "
                     f"{_plural(learner.errors - learner.lesson_errors, 'problem')}")
    if learner.last_error:
        words.append(f"last error: {learner.last_error}")
    return "".join(f"; {w}" for w in words)


def _over_budget_words(learner) -> Optional[str]:
    """Whether a learner has already spent their (new) budget: then each of their calls is refused."""
    spent = []
    if learner.budget_nano is not None and learner.spent_nano >= learner.budget_nano:
        spent.append((learner.spent_nano > learner.budget_nano,
                      f"{dollars(to_usd(learner.spent_nano))} spent of {dollars(to_usd(learner.budget_nano))}"))
    if learner.budget_tokens is not None and learner.used_tokens >= learner.budget_tokens:
        spent.append((learner.used_tokens > learner.budget_tokens,
                      f"{learner.used_tokens:,} tokens used of {learner.budget_tokens:,}"))
    if not spent:
        return None
    state = "is now over budget" if any(over for over, _ in spent) else "has no budget left"
    return (f"{learner.name} {state} ({', '.join(words for _, words in spent)}): their calls are refused until it "
            "is raised (`topup` or `budget`).")


def exposure_notes(host: str, port: int, *, tls: bool) -> str:
    """What other machines can reach when the server listens beyond loopback."""
    where = "every network interface" if host.strip("[]") in ("0.0.0.0", "::", "") else host
    notes = (f"EXPOSED on {where}, port {port}: anyone who can reach this machine can send requests to "
             "/v1/messages, /v1/messages/count_tokens, /v1/messages/batches and /v1/models (answered only with a learner's token), report "
             "progress (same), and load the dashboard page (its data needs the instructor token). The instructor's "
             "key never leaves this server.")
    if not tls:
        notes += ("\nWARNING: plain HTTP: tokens cross the network readable by anyone on it. Use it only on a network "
                  "you trust, or serve https with --certfile and --keyfile (see the README).")
    return notes


def _serve(args) -> None:
    if not http_server.is_loopback(args.host) and not args.expose:
        raise SystemExit(f"--host {args.host} is not a loopback address: learners on other machines could reach this "
                         "server. Add --expose if that is what you want (see the README's room recipe).")
    if bool(args.certfile) != bool(args.keyfile):
        raise SystemExit("TLS needs both --certfile and --keyfile.")
    try:
        key = None if args.rehearsal else instructor_key()
    except SetupError as error:
        raise SystemExit(str(error)) from None
    limits = RateLimits(args.per_minute, args.burst, args.concurrent)
    file_limits = FileLimits(int(args.file_mb * MB), int(args.files_mb * MB))
    try:
        started = build(args.db, key=key, upstream_url=args.upstream, limits=limits, stuck_after=args.stuck_after,
                        file_limits=file_limits)
    except StorageError as error:
        raise SystemExit(str(error)) from None
    del key
    scheme = "https" if args.certfile else "http"
    url = http_server.base_url(args.host, args.port).replace("http://", f"{scheme}://", 1)
    learners = started.store.learners()
    if started.app.upstream.rehearsal:
        print("REHEARSAL: no API key is set (or --rehearsal), so calls are answered by the kit's offline backend, "
              "in this process: deterministic text, not Claude, and nothing is billed.")
    else:
        print(f"LIVE: learners' calls go to {args.upstream} with the instructor's key (it stays on this server).")
    print(f"Classroom server on {url} with {len(learners)} learners on the roster ({args.db}).")
    if args.host.strip("[]") in ("0.0.0.0", "::"):
        print(f"Learners reach it at {scheme}://<this machine's address on their network>:{args.port} (the --url "
              "given to `roster add`); the dashboard link below works on this machine.")
    if started.recovered:
        print(f"{started.recovered} calls of the previous run never finished; each was charged its largest possible "
              "cost.")
    print(f"Dashboard: {url}/classroom/#token={started.instructor_token}")
    print("  (a new instructor token each run; keep the link to yourself)")
    if args.expose and not http_server.is_loopback(args.host):
        print(exposure_notes(args.host, args.port, tls=bool(args.certfile)), file=sys.stderr)
    if not learners:
        print("No learners yet: add them with `python -m helpers.classroom roster add --count 30`.")
    print("Ctrl-C stops it.", flush=True)
    options = {"ssl_certfile": str(args.certfile), "ssl_keyfile": str(args.keyfile)} if args.certfile else {}
    # The kit, the SDK and their models are loaded for good: keep the garbage collector from walking them
    # again and again while requests are answered.
    gc.collect()
    gc.freeze()
    try:
        http_server.serve(args.host, args.port, expose=args.expose, asgi=started.app, limits=ROOM_LIMITS, **options)
    except KeyboardInterrupt:
        pass
    finally:
        started.store.close()


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    try:
        store = SqliteStore(args.db)
    except StorageError as error:
        raise SystemExit(str(error)) from None
    try:
        if args.command == "roster" and args.action == "add":
            names = [*args.names, *roster.free_names(store, args.count)] if args.count else list(args.names)
            if not names:
                parser.error("roster add needs names or --count N")
            if args.no_usd and args.tokens is None:
                parser.error("--no-usd leaves no budget at all: give --tokens too")
            issued = roster.add(store, names, budget_nano=None if args.no_usd else to_nano(args.usd),
                                budget_tokens=args.tokens)
            _print_issued(issued, args)
        elif args.command == "roster" and args.action == "reissue":
            _print_issued([roster.reissue(store, name) for name in args.names], args)
        elif args.command == "roster":
            for learner in store.learners():
                print(f"{learner.name}: {learner.calls} calls, "
                      f"{_budget_words(learner.budget_nano, learner.spent_nano, learner.budget_tokens, learner.used_tokens)}")
        elif args.command == "topup":
            if not args.names and not args.all:
                parser.error("topup needs learners' names, or --all")
            if not args.usd and not args.tokens:
                parser.error("topup needs --usd and/or --tokens")
            changed = store.top_up(None if args.all else args.names, to_nano(args.usd), args.tokens)
            print(f"Topped up {len(changed)} learners; the running server uses the new budgets from their next call.")
        elif args.command == "budget":
            if bool(args.names) == args.all:
                parser.error("budget needs learners' names, or --all (not both)")
            if args.usd is None and args.tokens is None:
                parser.error("budget needs --usd and/or --tokens")
            changed = store.set_budget(None if args.all else args.names,
                                       None if args.usd is None else to_nano(args.usd), args.tokens)
            print(f"Set the budget of {len(changed)} learners; the running server uses it from their next call.")
            for learner in changed:
                over = _over_budget_words(learner)
                if over:
                    print(over)
        elif args.command == "cap":
            store.set_caps(Caps(None if args.usd is None else to_nano(args.usd), args.tokens))
            caps = store.caps()
            print("Class-wide cap: " + (", ".join(filter(None, [
                caps.nano is not None and dollars(to_usd(caps.nano)), caps.tokens is not None and f"{caps.tokens:,} tokens"]))
                or "none"))
        elif args.command == "status":
            learners = store.learners(with_progress=True)
            for learner in learners:
                passed = sum(1 for p in learner.progress if p["verified"])
                claimed = sum(1 for p in learner.progress if p["passed"] and not p["verified"])
                print(f"{learner.name}: {learner.calls} calls, "
                      f"{_budget_words(learner.budget_nano, learner.spent_nano, learner.budget_tokens, learner.used_tokens)}, "
                      f"{passed} exercises passed" + (f" (and {claimed} self-reported)" if claimed else "")
                      + _error_words(learner))
            print(f"Room: {len(learners)} learners, {dollars(to_usd(sum(x.spent_nano for x in learners)))} spent.")
    except ValueError as error:
        raise SystemExit(str(error)) from None
    finally:
        store.close()


if __name__ == "__main__":
    main()
