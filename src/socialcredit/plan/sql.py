"""The scoring plan as SQL: one query over the ledger's records and subjects and the
plan's policy tables (:mod:`socialcredit.plan.tables`), written once and transpiled by
SQLGlot for each engine (DuckDB embedded, Spark for the national batch).

Inputs (views the executor registers): ``records`` (record_id, subject_id,
record_type, occurred_on, amount, revokes), ``subjects`` (subject_id, kind, region),
``region_variants`` (region, variant), ``marks`` (record_id: repaired or frozen by
casework), and the tables of :class:`~socialcredit.plan.tables.PlanTables`.

Output: one row per subject: kind, region, variant, points (before the clamp), score,
grade, list bits, records counted, the measures granted and imposed (bit masks), and
rank and percentile at each level. Ranks come from histograms: the subjects are
counted per (kind, group, score), the counts cumulated over the small histogram in
score order, and each subject looks its score up there: no sort of the subjects.
The same rules as docs/scoring.md and the embedded engine, which a differential test
holds them to.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

import sqlglot

from socialcredit.policy.models import CASEWORK_PREFIX
from socialcredit.scoring.policy_tables import PolicyTables

#: rank levels: name and the leading digits of the region that group (0: all)
LEVELS: tuple[tuple[str, int], ...] = (("national", 0), ("province", 2), ("city", 4), ("region", 6))

_QUERY = """
WITH
revoked AS (
  SELECT DISTINCT revokes AS record_id FROM records
  WHERE revokes IS NOT NULL AND record_type NOT LIKE '{casework}%'
),
subject AS (
  SELECT s.subject_id, s.kind, s.region, v.variant
  FROM subjects s JOIN region_variants v ON v.region = s.region
),
valid AS (
  SELECT r.record_id, r.subject_id, r.record_type, r.occurred_on, r.amount,
         s.variant, u.fixed, u.per_unit, u.cap, u.pooled, u.first_day, u.list_bits, u.against
  FROM records r
  JOIN subject s ON s.subject_id = r.subject_id
  JOIN rules u ON u.variant = s.variant AND u.record_type = r.record_type AND u.kind = s.kind
  LEFT JOIN revoked x ON x.record_id = r.record_id
  LEFT JOIN marks m ON m.record_id = r.record_id
  WHERE r.revokes IS NULL AND r.occurred_on <= DATE '{as_of}'
    AND x.record_id IS NULL AND m.record_id IS NULL
),
counting AS (
  SELECT *, COALESCE(CAST(fixed AS DOUBLE), per_unit * COALESCE(amount, 0.0), 0.0) AS value
  FROM valid WHERE occurred_on >= first_day
),
yearly AS (
  SELECT subject_id, cap,
         CASE WHEN total >= 0 THEN FLOOR(total + 1e-9) ELSE CEIL(total - 1e-9) END AS whole
  FROM (
    SELECT subject_id, record_type, YEAR(occurred_on) AS year, MAX(cap) AS cap,
           SUM(value) AS total
    FROM counting WHERE pooled GROUP BY subject_id, record_type, YEAR(occurred_on)
  ) t
),
points AS (
  SELECT subject_id, CAST(SUM(value) AS BIGINT) AS points, CAST(SUM(n) AS BIGINT) AS counted
  FROM (
    SELECT subject_id, CASE WHEN pooled THEN 0.0 ELSE value END AS value, 1 AS n
    FROM counting
    UNION ALL
    SELECT subject_id,
           CASE WHEN cap IS NULL THEN whole ELSE LEAST(GREATEST(whole, -cap), cap) END,
           0
    FROM yearly
  ) p GROUP BY subject_id
),
cleared AS (
  SELECT w.subject_id, k.cleared AS record_type, MAX(w.occurred_on) AS last_day
  FROM valid w JOIN clears k ON k.variant = w.variant AND k.clearing = w.record_type
  GROUP BY w.subject_id, k.cleared
),
listing AS (
  SELECT c.subject_id, c.record_id, c.record_type, c.occurred_on, c.list_bits FROM counting c
  LEFT JOIN cleared z ON z.subject_id = c.subject_id AND z.record_type = c.record_type
  WHERE c.list_bits <> 0 AND (z.last_day IS NULL OR z.last_day < c.occurred_on)
),
record_lists AS (
  SELECT subject_id, BIT_OR(list_bits) AS bits FROM listing GROUP BY subject_id
),
blemished AS (
  SELECT DISTINCT w.subject_id, g.bit FROM valid w
  JOIN windows g ON g.variant = w.variant AND g.record_type = w.record_type
  WHERE w.against AND w.occurred_on >= g.since
),
scored AS (
  SELECT s.subject_id, s.kind, s.region, s.variant,
         COALESCE(p.points, 0) AS points, COALESCE(p.counted, 0) AS records_counted,
         LEAST(GREATEST({base} + COALESCE(p.points, 0), {floor}), {ceiling}) AS score,
         COALESCE(l.bits, 0) AS record_bits
  FROM subject s
  LEFT JOIN points p ON p.subject_id = s.subject_id
  LEFT JOIN record_lists l ON l.subject_id = s.subject_id
),
graded AS (
  SELECT c.*, g.grade FROM scored c JOIN grades g ON c.score BETWEEN g.low AND g.high
),
grade_members AS (
  SELECT c.subject_id, q.bit FROM graded c
  JOIN grade_lists q ON c.score >= q.low
  LEFT JOIN blemished b ON b.subject_id = c.subject_id AND b.bit = q.bit
  WHERE b.subject_id IS NULL
),
listed AS (
  SELECT c.subject_id, c.record_bits | COALESCE(BIT_OR(m.bit), 0) AS lists
  FROM graded c LEFT JOIN grade_members m ON m.subject_id = c.subject_id
  GROUP BY c.subject_id, c.record_bits
),
decided AS (
  SELECT c.*, l.lists, d.incentives, d.restrictions
  FROM graded c JOIN listed l ON l.subject_id = c.subject_id
  JOIN decisions d
    ON d.variant = c.variant AND d.kind = c.kind AND d.grade = c.grade AND d.lists = l.lists
),
record_status AS (
  SELECT r.subject_id, r.record_id, r.record_type, r.occurred_on, s.kind, u.first_day, u.public,
    CASE
      WHEN s.subject_id IS NULL THEN 'not_in_policy'
      WHEN r.record_type LIKE '{casework}%' THEN 'casework'
      WHEN u.record_type IS NULL THEN 'not_in_policy'
      WHEN r.revokes IS NOT NULL THEN 'revocation'
      WHEN x.record_id IS NOT NULL THEN 'revoked'
      WHEN m.repaired THEN 'repaired'
      WHEN m.record_id IS NOT NULL THEN 'under_objection'
      WHEN r.occurred_on > DATE '{as_of}' THEN 'not_yet'
      WHEN r.occurred_on < u.first_day THEN 'expired'
      ELSE 'counted'
    END AS status,
    s.subject_id IS NULL AS unregistered,
    s.subject_id IS NOT NULL AND r.record_type NOT LIKE '{casework}%'
      AND k.record_type IS NULL AS unknown_type
  FROM records r
  LEFT JOIN subject s ON s.subject_id = r.subject_id
  LEFT JOIN (SELECT DISTINCT record_type FROM rules) k ON k.record_type = r.record_type
  LEFT JOIN rules u ON u.variant = s.variant AND u.record_type = r.record_type AND u.kind = s.kind
  LEFT JOIN revoked x ON x.record_id = r.record_id
  LEFT JOIN marks m ON m.record_id = r.record_id
),
statuses AS (
  SELECT status, CAST(COUNT(*) AS BIGINT) AS n,
         CAST(SUM(CASE WHEN unregistered THEN 1 ELSE 0 END) AS BIGINT) AS unregistered,
         CAST(SUM(CASE WHEN unknown_type THEN 1 ELSE 0 END) AS BIGINT) AS unknown_type
  FROM record_status GROUP BY status
),
published AS (
  SELECT subject_id, record_id, record_type, occurred_on,
         status = 'under_objection' AS under_objection
  FROM record_status
  WHERE kind = 'organisation' AND public AND (
    status = 'counted' OR (
      status = 'under_objection' AND occurred_on >= first_day
      AND occurred_on <= DATE '{as_of}'
    )
  )
),
listed_records AS (
  SELECT l.subject_id, b.bit, l.record_id, l.record_type, l.occurred_on FROM listing l
  JOIN lists b ON (l.list_bits & b.bit) <> 0
),
{histograms}
SELECT d.subject_id, d.kind, d.region, d.variant, d.points, d.score, d.grade, d.lists,
       d.records_counted, d.incentives, d.restrictions,
       {rank_columns}
FROM decided d
{rank_joins}
"""


def _group(region: str, digits: int) -> str:
    """A level's group of a region column: its first ``digits`` (0: one group)."""
    return f"SUBSTRING({region}, 1, {digits})" if digits else "''"


def _histogram(level: str, digits: int) -> str:
    group = _group("region", digits)
    return f"""
hist_{level} AS (
  SELECT kind, grp, score, n,
         SUM(n) OVER (PARTITION BY kind, grp ORDER BY score DESC
                      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) - n AS higher,
         SUM(n) OVER (PARTITION BY kind, grp) AS total
  FROM (SELECT kind, {group} AS grp, score, COUNT(*) AS n FROM decided
        GROUP BY kind, {group}, score) h
)"""


def scoring_steps(tables: PolicyTables, as_of: dt.date, dialect: str) -> list[tuple[str, str]]:
    """The plan's query as of ``as_of`` as named steps in ``dialect`` (``duckdb`` or
    ``spark``), in order, the last one named ``scores``: an engine materialises each
    (DuckDB would otherwise evaluate a step once for each step that reads it)."""
    scale = tables.national.scale
    return _steps(query_text(as_of, scale.base, scale.floor, scale.ceiling), dialect)


@cache
def _steps(text: str, dialect: str) -> list[tuple[str, str]]:
    tree = sqlglot.parse_one(text, read="duckdb")
    with_ = tree.args.pop("with_", None) or tree.args.pop("with", None)
    if with_ is None:
        raise ValueError("the plan's query has no steps")
    steps = [(cte.alias, cte.this.sql(dialect=dialect)) for cte in with_.expressions]
    return [*steps, ("scores", tree.sql(dialect=dialect))]


def query_text(as_of: dt.date, base: int, floor: int, ceiling: int) -> str:
    """The query in DuckDB's dialect (the one it is written in)."""
    histograms = ",".join(_histogram(level, digits) for level, digits in LEVELS)
    rank_columns = ",\n       ".join(
        f"CAST(h_{level}.higher + 1 AS BIGINT) AS {level}_rank, "
        f"CAST(h_{level}.total - h_{level}.higher - h_{level}.n AS DOUBLE) * CAST(100 AS DOUBLE)"
        f" / CAST(h_{level}.total AS DOUBLE) AS {level}_percentile"
        for level, _ in LEVELS
    )
    rank_joins = "\n".join(
        f"JOIN hist_{level} h_{level} ON h_{level}.kind = d.kind AND h_{level}.score = d.score "
        f"AND h_{level}.grp = {_group('d.region', digits)}"
        for level, digits in LEVELS
    )
    return _QUERY.format(
        casework=CASEWORK_PREFIX,
        as_of=as_of.isoformat(),
        base=base,
        floor=floor,
        ceiling=ceiling,
        histograms=histograms,
        rank_columns=rank_columns,
        rank_joins=rank_joins,
    )
