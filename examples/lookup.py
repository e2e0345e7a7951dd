"""Look companies up in the offline sandbox: identity, provenance, errors.

Run: ``python examples/lookup.py`` (no network, no key). Swap ``sources=["sandbox"]``
for ``Client()`` to ask Recherche d'entreprises for real.
"""

from __future__ import annotations

import dlnuf


def main() -> list[str]:
    """Print a line per company and return them (the test reads them back)."""
    lines: list[str] = []
    with dlnuf.Client(sources=["sandbox"], cache="memory://") as client:
        for typed in ["552 049 447 76279", "35005144700018", "00000000000000", "552 049 447 76278"]:
            try:
                ident = client.identity(typed)
            except dlnuf.InvalidSiret as exc:  # raised before any request
                lines.append(f"{typed}: invalid ({exc.reason}): {exc.detail}")
            except dlnuf.NotFound:
                lines.append(f"{typed}: unknown to {client.sources[0].name}")
            else:
                state = "active" if ident.active else f"closed on {ident.closing_date}"
                lines.append(
                    f"{ident.siret.formatted}: {ident.name} ({state}), {ident.address.one_line}"
                    f" [{ident.provenance.source}]"
                )
    for line in lines:
        print(line)
    return lines


if __name__ == "__main__":
    main()
