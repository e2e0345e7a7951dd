"""Generated Sirene stock files: the official columns and types, every case, any size.

:func:`write_stock` writes ``StockEtablissement_utf8.parquet`` and
``StockUniteLegale_utf8.parquet`` (the names INSEE publishes) into a folder, with
DuckDB alone (``pip install 'dlnuf[stock]'``), in seconds for millions of rows::

    from dlnuf.testing.stock import write_stock
    summary = write_stock("/tmp/stock", establishments=10_000)
    summary.examples["partial_unmasked"]   # a SIRET of each case

What the rows hold (deterministic for a ``seed``): valid SIREN/SIRET (Luhn),
legal units with one or two establishments, the head office flagged
(``etablissementSiege``) and named by ``nicSiegeUniteLegale``, about 10 % of
establishments closed (``F``, ``dateDebut`` = closing date), 5 % of units ceased
(``C``), companies (SAS, with a denomination) and sole traders (``1000``, with first
and last names), and about 4 % partially diffusible persons (``P``): half of them with
their names and street masked as ``[ND]`` as INSEE publishes them, half with the
values present (to check that the status alone withholds them).
"""

# ruff: noqa: S608 - SQL is built from constant column names and quoted paths; values are
# bound as parameters.
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

__all__ = [
    "ESTABLISHMENTS_FILE",
    "UNITS_FILE",
    "StockSummary",
    "write_stock",
]

ESTABLISHMENTS_FILE = "StockEtablissement_utf8.parquet"
"""The establishment file's published name."""
UNITS_FILE = "StockUniteLegale_utf8.parquet"
"""The legal-unit file's published name."""

_CASES = {
    "company_head_office": "u.kind = 'company' AND e.head AND NOT e.closed AND u.status = 'O'",
    "company_secondary": "u.kind = 'company' AND NOT e.head AND NOT e.closed",
    "closed": "e.closed",
    "ceased_unit": "u.ceased",
    "sole_trader": "u.kind = 'person' AND u.status = 'O' AND NOT e.closed",
    "partial_masked": "u.status = 'P' AND u.masked",
    "partial_unmasked": "u.status = 'P' AND NOT u.masked",
}

_MACROS = """
CREATE OR REPLACE TEMP MACRO luhn_digit(p) AS (
  10 - list_sum(list_transform(range(length(p)), lambda i:
    CASE WHEN (length(p) - i) % 2 = 1
         THEN (2 * CAST(substr(p, i + 1, 1) AS INTEGER)) // 10
              + (2 * CAST(substr(p, i + 1, 1) AS INTEGER)) % 10
         ELSE CAST(substr(p, i + 1, 1) AS INTEGER) END)) % 10) % 10;
CREATE OR REPLACE TEMP MACRO with_luhn(p) AS p || CAST(luhn_digit(p) AS VARCHAR);
CREATE OR REPLACE TEMP MACRO h(x, salt) AS hash(x * 1000003 + salt + getvariable('seed'));
CREATE OR REPLACE TEMP MACRO pick(x, salt, choices) AS
  choices[1 + CAST(h(x, salt) % len(choices) AS INTEGER)];
CREATE OR REPLACE TEMP MACRO day(x, salt, lo, span) AS
  CAST(lo AS DATE) + CAST(h(x, salt) % span AS INTEGER);
"""

_UNITS = """
CREATE OR REPLACE TEMP TABLE u AS
SELECT
  n AS u,
  with_luhn(CAST(40000000 + n AS VARCHAR)) AS siren,
  CASE WHEN h(n, 1) % 100 < 4 THEN 'P' ELSE 'O' END AS status,
  h(n, 2) % 2 = 0 AS masked,
  CASE WHEN h(n, 1) % 100 < 4 OR h(n, 3) % 100 < 30 THEN 'person' ELSE 'company' END AS kind,
  h(n, 4) % 100 < 5 AS ceased,
  (4 * n + 2) // 3 AS head_e
FROM range(CAST(getvariable('units') AS BIGINT)) t(n);
"""

_ESTABLISHMENTS = """
CREATE OR REPLACE TEMP TABLE e AS
SELECT
  n AS e,
  (3 * n) // 4 AS u,
  n = (4 * ((3 * n) // 4) + 2) // 3 AS head,
  h(n, 10) % 100 < 10 OR u.ceased AS closed,
  lpad(CAST(n % 10000 AS VARCHAR), 4, '0') AS nic4
FROM range(CAST(getvariable('establishments') AS BIGINT)) t(n) JOIN u ON u.u = (3 * n) // 4;
"""

_ND = "'[ND]'"


def _masked(expr: str) -> str:
    """``expr``, or ``[ND]`` for a masked partially diffusible unit."""
    return f"CASE WHEN u.status = 'P' AND u.masked THEN {_ND} ELSE {expr} END"


_UNIT_COLUMNS = f"""
  u.siren AS siren,
  u.status AS statutDiffusionUniteLegale,
  CAST(NULL AS BOOLEAN) AS unitePurgeeUniteLegale,
  day(u.u, 20, DATE '1950-01-01', 27000) AS dateCreationUniteLegale,
  CASE WHEN u.kind = 'company' AND h(u.u, 21) % 3 = 0
       THEN {_masked("'S' || CAST(h(u.u, 22) % 1000 AS VARCHAR)")} END AS sigleUniteLegale,
  CASE WHEN u.kind = 'person' THEN pick(u.u, 23, ['M', 'F']) END AS sexeUniteLegale,
  CASE WHEN u.kind = 'person'
       THEN {_masked("pick(u.u, 24, ['MARIE', 'JEAN', 'LEA', 'PAUL', 'INES', 'HUGO'])")}
       END AS prenom1UniteLegale,
  CAST(NULL AS VARCHAR) AS prenom2UniteLegale,
  CAST(NULL AS VARCHAR) AS prenom3UniteLegale,
  CAST(NULL AS VARCHAR) AS prenom4UniteLegale,
  CASE WHEN u.kind = 'person'
       THEN {_masked("pick(u.u, 24, ['MARIE', 'JEAN', 'LEA', 'PAUL', 'INES', 'HUGO'])")}
       END AS prenomUsuelUniteLegale,
  CAST(NULL AS VARCHAR) AS pseudonymeUniteLegale,
  CAST(NULL AS VARCHAR) AS identifiantAssociationUniteLegale,
  pick(u.u, 25, ['NN', '00', '01', '02', '03', '11', '12', '21', '22', '31'])
    AS trancheEffectifsUniteLegale,
  CAST(2023 AS BIGINT) AS anneeEffectifsUniteLegale,
  CAST(day(u.u, 26, getvariable('month') - INTERVAL 3000 DAY, 3000) AS TIMESTAMP)
    + INTERVAL 9 HOUR AS dateDernierTraitementUniteLegale,
  CAST(1 + h(u.u, 27) % 4 AS BIGINT) AS nombrePeriodesUniteLegale,
  CASE WHEN u.kind = 'company' THEN pick(u.u, 28, ['PME', 'ETI', 'GE']) END
    AS categorieEntreprise,
  CASE WHEN u.kind = 'company' THEN '2022' END AS anneeCategorieEntreprise,
  day(u.u, 29, DATE '1990-01-01', 12000) AS dateDebut,
  CASE WHEN u.ceased THEN 'C' ELSE 'A' END AS etatAdministratifUniteLegale,
  CASE WHEN u.kind = 'person'
       THEN {_masked("pick(u.u, 30, ['MARTIN', 'BERNARD', 'DUBOIS', 'THOMAS', 'ROBERT'])")}
       END AS nomUniteLegale,
  CAST(NULL AS VARCHAR) AS nomUsageUniteLegale,
  CASE WHEN u.kind = 'company'
       THEN pick(u.u, 31, ['ATELIERS', 'SOCIETE', 'GROUPE', 'COMPAGNIE', 'BUREAU'])
            || ' ' || pick(u.u, 32, ['DU NORD', 'BLEUE', 'CONSEIL', 'DES ALPES', 'NUMERIQUE'])
            || ' ' || CAST(u.u AS VARCHAR) END AS denominationUniteLegale,
  CAST(NULL AS VARCHAR) AS denominationUsuelle1UniteLegale,
  CAST(NULL AS VARCHAR) AS denominationUsuelle2UniteLegale,
  CAST(NULL AS VARCHAR) AS denominationUsuelle3UniteLegale,
  CASE WHEN u.kind = 'person' THEN '1000' ELSE pick(u.u, 33, ['5710', '5499', '5720']) END
    AS categorieJuridiqueUniteLegale,
  pick(u.u, 34, ['62.01Z', '70.22Z', '43.21A', '56.10A', '47.11B'])
    AS activitePrincipaleUniteLegale,
  'NAFRev2' AS nomenclatureActivitePrincipaleUniteLegale,
  substr(with_luhn(u.siren || lpad(CAST(u.head_e % 10000 AS VARCHAR), 4, '0')), 10, 5)
    AS nicSiegeUniteLegale,
  pick(u.u, 35, ['O', 'N']) AS economieSocialeSolidaireUniteLegale,
  CAST(NULL AS VARCHAR) AS societeMissionUniteLegale,
  pick(u.u, 36, ['O', 'N']) AS caractereEmployeurUniteLegale
"""

_ADDRESS_2 = ",\n".join(
    f"  CAST(NULL AS VARCHAR) AS {name}2Etablissement"
    for name in (
        "complementAdresse", "numeroVoie", "indiceRepetition", "typeVoie", "libelleVoie",
        "codePostal", "libelleCommune", "libelleCommuneEtranger", "distributionSpeciale",
        "codeCommune", "codeCedex", "libelleCedex", "codePaysEtranger", "libellePaysEtranger",
    )
)

_ESTABLISHMENT_COLUMNS = f"""
  u.siren AS siren,
  substr(with_luhn(u.siren || e.nic4), 10, 5) AS nic,
  with_luhn(u.siren || e.nic4) AS siret,
  u.status AS statutDiffusionEtablissement,
  day(e.e, 40, DATE '1960-01-01', 23000) AS dateCreationEtablissement,
  pick(e.e, 41, ['NN', '00', '01', '02', '03', '11', '12']) AS trancheEffectifsEtablissement,
  CAST(2023 AS BIGINT) AS anneeEffectifsEtablissement,
  CAST(NULL AS VARCHAR) AS activitePrincipaleRegistreMetiersEtablissement,
  CASE WHEN e.e = 0 THEN CAST(getvariable('month') AS TIMESTAMP)
       ELSE CAST(day(e.e, 42, getvariable('month') - INTERVAL 3000 DAY, 3000) AS TIMESTAMP)
       END + INTERVAL 10 HOUR AS dateDernierTraitementEtablissement,
  e.head AS etablissementSiege,
  CAST(1 + h(e.e, 43) % 3 AS BIGINT) AS nombrePeriodesEtablissement,
  CASE WHEN h(e.e, 44) % 5 = 0 THEN {_masked("'BATIMENT B'")} END
    AS complementAdresseEtablissement,
  {_masked("CAST(1 + h(e.e, 45) % 180 AS VARCHAR)")} AS numeroVoieEtablissement,
  CASE WHEN h(e.e, 46) % 20 = 0 THEN 'B' END AS indiceRepetitionEtablissement,
  CAST(NULL AS VARCHAR) AS dernierNumeroVoieEtablissement,
  CAST(NULL AS VARCHAR) AS indiceRepetitionDernierNumeroVoieEtablissement,
  {_masked("pick(e.e, 47, ['RUE', 'AV', 'BD', 'PL', 'CHE'])")} AS typeVoieEtablissement,
  {_masked("pick(e.e, 48, ['DE LA PAIX', 'VICTOR HUGO', 'DES LILAS', 'DU PORT', 'JEAN JAURES'])")}
    AS libelleVoieEtablissement,
  pick(e.e, 49, ['75007', '69003', '13001', '31000', '59000', '33000']) AS codePostalEtablissement,
  pick(e.e, 49, ['PARIS 7', 'LYON 3EME', 'MARSEILLE', 'TOULOUSE', 'LILLE', 'BORDEAUX'])
    AS libelleCommuneEtablissement,
  CAST(NULL AS VARCHAR) AS libelleCommuneEtrangerEtablissement,
  CAST(NULL AS VARCHAR) AS distributionSpecialeEtablissement,
  pick(e.e, 49, ['75107', '69383', '13201', '31555', '59350', '33063']) AS codeCommuneEtablissement,
  CAST(NULL AS VARCHAR) AS codeCedexEtablissement,
  CAST(NULL AS VARCHAR) AS libelleCedexEtablissement,
  CAST(NULL AS VARCHAR) AS codePaysEtrangerEtablissement,
  CAST(NULL AS VARCHAR) AS libellePaysEtrangerEtablissement,
  CAST(NULL AS VARCHAR) AS identifiantAdresseEtablissement,
  CAST(NULL AS VARCHAR) AS coordonneeLambertAbscisseEtablissement,
  CAST(NULL AS VARCHAR) AS coordonneeLambertOrdonneeEtablissement,
{_ADDRESS_2},
  CASE WHEN e.closed THEN day(e.e, 50, DATE '2015-01-01', 3500)
       ELSE day(e.e, 51, DATE '2000-01-01', 8000) END AS dateDebut,
  CASE WHEN e.closed THEN 'F' ELSE 'A' END AS etatAdministratifEtablissement,
  CASE WHEN h(e.e, 52) % 4 = 0 THEN {_masked("'CHEZ ' || CAST(e.e AS VARCHAR)")} END
    AS enseigne1Etablissement,
  CAST(NULL AS VARCHAR) AS enseigne2Etablissement,
  CAST(NULL AS VARCHAR) AS enseigne3Etablissement,
  CAST(NULL AS VARCHAR) AS denominationUsuelleEtablissement,
  pick(e.e, 53, ['62.01Z', '70.22Z', '43.21A', '56.10A', '47.11B'])
    AS activitePrincipaleEtablissement,
  'NAFRev2' AS nomenclatureActivitePrincipaleEtablissement,
  pick(e.e, 54, ['O', 'N']) AS caractereEmployeurEtablissement
"""


@dataclass(frozen=True)
class StockSummary:
    """What :func:`write_stock` wrote: the folder, row counts, and a SIRET of each case."""

    folder: Path
    establishments: int
    units: int
    month: date
    examples: dict[str, str] = field(default_factory=dict)
    """One SIRET per case: ``company_head_office``, ``company_secondary``, ``closed``,
    ``ceased_unit``, ``sole_trader``, ``partial_masked``, ``partial_unmasked``."""


def write_stock(
    folder: str | os.PathLike[str],
    *,
    establishments: int = 1000,
    month: date = date(2026, 11, 1),
    seed: int = 0,
    row_group_size: int = 122_880,
    threads: int | None = None,
) -> StockSummary:
    """Write the two stock files for ``establishments`` rows into ``folder``; see the module.

    ``month`` is the stock's month: the latest treatment (``dateDernierTraitement…``)
    is on its first day at 10:00.
    Existing files of the same names are replaced.
    """
    duckdb = _duckdb()
    if establishments < 1:
        raise ValueError("establishments must be at least 1")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    units = (3 * (establishments - 1)) // 4 + 1
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        if threads is not None:
            con.execute(f"SET threads = {int(threads)}")
        con.execute(f"SET VARIABLE seed = {int(seed)}")
        con.execute(f"SET VARIABLE units = {units}")
        con.execute(f"SET VARIABLE establishments = {int(establishments)}")
        con.execute(f"SET VARIABLE month = DATE '{month.replace(day=1).isoformat()}'")
        con.execute(_MACROS)
        con.execute(_UNITS)
        con.execute(_ESTABLISHMENTS)
        options = f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {int(row_group_size)})"
        unit_path = (out / UNITS_FILE).as_posix().replace("'", "''")
        etab_path = (out / ESTABLISHMENTS_FILE).as_posix().replace("'", "''")
        con.execute(f"COPY (SELECT {_UNIT_COLUMNS} FROM u ORDER BY u.u) TO '{unit_path}' {options}")
        con.execute(
            f"COPY (SELECT {_ESTABLISHMENT_COLUMNS} FROM e JOIN u ON u.u = e.u ORDER BY e.e) "
            f"TO '{etab_path}' {options}"
        )
        examples: dict[str, str] = {}
        for case, condition in _CASES.items():
            row = con.execute(
                f"SELECT with_luhn(u.siren || e.nic4) FROM e JOIN u ON u.u = e.u "
                f"WHERE {condition} ORDER BY e.e LIMIT 1"
            ).fetchone()
            if row is not None:
                examples[case] = str(row[0])
    finally:
        con.close()
    return StockSummary(out, establishments, units, month.replace(day=1), examples)


def _duckdb() -> Any:
    try:
        import duckdb
    except ImportError as exc:  # pragma: no cover - the extra is part of dev
        from ..errors import ConfigurationError

        raise ConfigurationError(
            "the Sirene stock needs DuckDB: pip install 'dlnuf[stock]'"
        ) from exc
    return duckdb


def main() -> None:  # pragma: no cover - a convenience for benchmarks
    """``python -m dlnuf.testing.stock FOLDER N``: write a stock of N establishments."""
    import sys

    folder, count = sys.argv[1], int(sys.argv[2])
    summary = write_stock(folder, establishments=count)
    print(f"{summary.establishments} establishments, {summary.units} units in {summary.folder}")


if __name__ == "__main__":  # pragma: no cover
    main()
