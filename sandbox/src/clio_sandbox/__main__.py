"""``python -m clio_sandbox``: serve a generated firm, or write one to a directory.

python -m clio_sandbox --firm small [--seed N] [--port P] [--jurisdiction ie|ew]
                       [--rate-limit peak|off-peak|off]
python -m clio_sandbox --firm-dir DIR            # serve a firm written earlier
python -m clio_sandbox generate --firm large --out DIR   # write a firm (+ oracle.json)
"""

from __future__ import annotations

import argparse
import sys
import time

from .settings import OAuthClient, SandboxSettings


def _serve(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m clio_sandbox",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--firm", default="small", choices=["tiny", "small", "medium", "large"])
    parser.add_argument("--firm-dir", help="serve a firm directory written by `generate`")
    parser.add_argument(
        "--db", default=":memory:", help="SQLite file for the served records (large firms)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jurisdiction", default="ie", choices=["ie", "ew"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--rate-limit", default="peak", choices=["peak", "off-peak", "off"])
    parser.add_argument("--token-expires-in", type=int, default=2_592_000)
    parser.add_argument("--no-auto-approve", action="store_true", help="show the consent page")
    parser.add_argument("--client-id", default="cashroom-sandbox")
    parser.add_argument("--client-secret", default="cashroom-sandbox-secret")
    parser.add_argument(
        "--redirect-uri", action="append", default=[], help="registered redirect URI (repeatable)"
    )
    parser.add_argument(
        "--allow-loopback-redirects",
        action="store_true",
        help="accept any http://127.0.0.1:<port>/ redirect",
    )
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print("clio_sandbox: serving on a non-loopback host is refused", file=sys.stderr)
        return 2

    import uvicorn

    from .app import create_app
    from .firm import generate_firm, load_firm

    started = time.monotonic()
    if args.firm_dir:
        firm = load_firm(args.firm_dir, db_path=args.db)
    else:
        firm = generate_firm(args.seed, args.firm, args.jurisdiction, db_path=args.db)
    redirects = args.redirect_uri or [
        f"http://127.0.0.1:{args.port}/callback",
        "http://127.0.0.1:8000/oauth/callback",
        "http://localhost:8000/oauth/callback",
    ]
    settings = SandboxSettings(
        rate_limit=args.rate_limit,
        token_expires_in=args.token_expires_in,
        auto_approve=not args.no_auto_approve,
        allow_loopback_redirects=args.allow_loopback_redirects,
        oauth_clients=[
            OAuthClient(
                client_id=args.client_id, client_secret=args.client_secret, redirect_uris=redirects
            )
        ],
    )
    app = create_app(firm, settings)
    meta = firm.meta
    print(
        f"clio_sandbox: {meta.firm_name} ({meta.size}, seed {meta.seed}, {meta.jurisdiction}) ready in"
        f" {time.monotonic() - started:.1f}s on http://{args.host}:{args.port}  (client_id={args.client_id})",
        flush=True,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def _generate(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m clio_sandbox generate")
    parser.add_argument("--firm", default="small", choices=["tiny", "small", "medium", "large"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jurisdiction", default="ie", choices=["ie", "ew"])
    parser.add_argument("--out", required=True)
    parser.add_argument("--no-oracle", action="store_true")
    args = parser.parse_args(argv)
    from .firm import generate_firm_to_dir

    started = time.monotonic()
    generate_firm_to_dir(
        args.out, args.seed, args.firm, args.jurisdiction, with_oracle=not args.no_oracle
    )
    print(f"clio_sandbox: wrote {args.out} in {time.monotonic() - started:.1f}s")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "generate":
        return _generate(argv[1:])
    return _serve(argv)


if __name__ == "__main__":
    raise SystemExit(main())
