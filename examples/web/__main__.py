"""``python -m examples.web [--port 8000]``: serve the page on loopback, on the sandbox."""

from __future__ import annotations

import argparse

import uvicorn


def main() -> None:
    """Serve :data:`examples.web.app.app` on 127.0.0.1."""
    parser = argparse.ArgumentParser(prog="python -m examples.web")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    print(f"open http://127.0.0.1:{args.port}/ (offline: the sandbox's companies)")
    uvicorn.run("examples.web.app:app", host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
