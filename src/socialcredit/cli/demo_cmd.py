"""``socialcredit demo [--people N] [--port P] [--data DIR]``: everything end to end on
embedded defaults.

It validates the shipped policies, generates a population (200,000 people by default)
with its records, registers and ingests them, scores everyone, makes demo keys and
serves the platform, printing the URL and three sample subjects with sign-in keys: a
role model, a discredited person and an ordinary person, and for the discredited one a
relying party's check. Run again on the same data dir, it reuses the data (new keys
are made each time: only their hashes are kept).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from socialcredit.casework import CaseStore
from socialcredit.cli.output import EXIT_FAILED, JsonOption, emit_json, fail, state
from socialcredit.cli.scoring_cmd import progress_stages
from socialcredit.cli.web_cmd import open_store
from socialcredit.ledger import RECORDS, SUBJECTS, Ledger, open_input, run_batch
from socialcredit.policy import PolicyCatalog, check_files
from socialcredit.policy.loader import policy_files_in
from socialcredit.scoring.answers import check
from socialcredit.scoring.run import ScoreRequest, run_scoring
from socialcredit.scoring.snapshots import Snapshot, SnapshotStore
from socialcredit.settings import Settings
from socialcredit.simulate import GenerateOptions, generate

DEFAULT_PEOPLE = 200_000
SEED = 2019
#: how long the demo's keys stay valid
KEY_DAYS = 30


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo_command(
        ctx: typer.Context,
        people: Annotated[
            int,
            typer.Option("--people", min=100, max=5_000_000, help="People to generate."),
        ] = DEFAULT_PEOPLE,
        port: Annotated[int | None, typer.Option("--port", help="Port (default 8000).")] = None,
        data: Annotated[
            Path | None, typer.Option("--data", help="Data dir (as the global --data).")
        ] = None,
        serve: Annotated[
            bool, typer.Option("--serve/--no-serve", help="Serve once set up (default).")
        ] = True,
        as_json: JsonOption = False,
    ) -> None:
        """Set everything up on a generated population and serve it (reusing the data
        of an earlier run in the same data dir)."""
        settings = state(ctx).settings.model_copy(
            update={k: v for k, v in {"data": data, "port": port}.items() if v is not None}
        )
        started = time.perf_counter()
        catalog = _valid_policy(ctx, settings)
        snapshot, reused = _data(ctx, settings, catalog, people)
        samples = _samples(snapshot)
        keys = _keys(settings, samples)
        base = f"http://{settings.host}:{settings.port}"
        debtor = samples.get("discredited")
        document: dict[str, Any] = {
            "url": base + "/",
            "api_docs": base + "/api/v1/docs",
            "data": str(settings.data),
            "snapshot": snapshot.id,
            "reused": reused,
            "setup_seconds": round(time.perf_counter() - started, 1),
            "samples": [
                {"role": role, "subject_id": subject_id, "key": keys[role]}
                for role, subject_id in samples.items()
            ],
            "relying_party_key": keys["relying_party"],
            "role_model_basis": "red list"
            if "role_model" in samples and "red" in _lists_of(snapshot, samples["role_model"])
            else "best score",
        }
        if debtor is not None:
            decision = check(snapshot, debtor, "transport.flight")
            document["sample_check"] = {
                "request": (
                    f'curl -H "Authorization: Bearer {keys["relying_party"]}" '
                    f"{base}/api/v1/checks/transport.flight/{debtor}"
                ),
                "answer": decision,
            }
        if as_json:
            emit_json(document)
        else:
            _print(ctx, document)
        if serve:
            _serve(ctx, settings)


def _valid_policy(ctx: typer.Context, settings: Settings) -> PolicyCatalog:
    directory = settings.effective_policy_dir()
    files = policy_files_in(directory)
    catalog, problems = check_files(files, relative_to=directory)
    for problem in problems:
        state(ctx).err.print(str(problem), highlight=False)
    if catalog is None:
        fail("the policy is not valid; `socialcredit policy validate` says why", EXIT_FAILED)
    return catalog


def _data(
    ctx: typer.Context, settings: Settings, catalog: PolicyCatalog, people: int
) -> tuple[Snapshot, bool]:
    """The demo's snapshot: the one an earlier run made for as many people, if it is
    still the current one; else generated, registered, ingested and scored now."""
    marker = settings.data / "demo" / "READY.json"
    store = SnapshotStore.of(settings.data)
    made = _marker(marker)
    if made is not None and made.get("people") != people:
        fail(
            f"{settings.data} holds a demo of {made.get('people')} people; run with "
            f"--people {made.get('people')}, or give another --data for {people:,}",
        )
    if made is not None and made.get("snapshot") == store.current_id():
        return store.open(str(made["snapshot"])), True
    err = state(ctx).err
    target = settings.data / "demo" / "generated"
    today = dt.date.today()
    with progress_stages(ctx) as stage:
        advance = stage(f"generating {people:,} people and their records", people)
        generate(
            GenerateOptions(people=people, seed=SEED, out=target, as_of=today, force=True),
            catalog,
            progress=advance,
        )
        ledger, _ = Ledger.init(settings.data)
        for layout, name in ((SUBJECTS, "subjects"), (RECORDS, "records")):
            source = open_input(target / f"{name}.parquet")
            step = stage(f"{'registering' if layout is SUBJECTS else 'ingesting'} {name}", None)
            summary = run_batch(
                ledger, layout, [source], catalog=catalog, source="demo", progress=step
            )
            if summary.rejected:
                err.print(f"{name}: {summary.rejected:,} rows rejected", markup=False)
        request = ScoreRequest(today, dt.datetime.now(dt.UTC), settings.snapshot_retention)
        casework = CaseStore(open_store(settings))  # (a demo data dir may have cases)
        snapshot = run_scoring(settings.data, catalog, request, casework, stage=stage).snapshot
    partial = marker.with_suffix(".tmp")  # a crash never leaves half a marker
    partial.write_text(json.dumps({"people": people, "snapshot": snapshot.id}), "utf-8")
    partial.replace(marker)
    return snapshot, False


def _marker(path: Path) -> dict[str, Any] | None:
    """What an earlier run left (None if nothing, or nothing readable: made again)."""
    try:
        found = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def _samples(snapshot: Snapshot) -> dict[str, str]:
    """A role model (on the red list; else the person with the best score), a
    discredited person and an ordinary one (on no list)."""
    table = snapshot.subject_table(["subject_id", "kind", "lists", "score"])
    rows = [
        (str(s), list(ls or []), int(score))
        for s, k, ls, score in zip(*(table.column(i).to_pylist() for i in range(4)), strict=True)
        if k == "person"
    ]
    found: dict[str, str] = {}
    if not rows:
        return found
    model = next((s for s, ls, _ in rows if "red" in ls), None)
    found["role_model"] = model or max(rows, key=lambda row: row[2])[0]
    debtor = next((s for s, ls, _ in rows if "discredited" in ls), None)
    if debtor is not None:
        found["discredited"] = debtor
    ordinary = next((s for s, ls, _ in rows if not ls and s != found["role_model"]), None)
    if ordinary is not None:
        found["ordinary"] = ordinary
    return found


def _lists_of(snapshot: Snapshot, subject_id: str) -> list[str]:
    row = int(snapshot.locate([subject_id])[0])
    bits = int(snapshot.array("lists")[row])
    return [name for i, name in enumerate(snapshot.metadata["list_names"]) if bits >> i & 1]


def _keys(settings: Settings, samples: dict[str, str]) -> dict[str, str]:
    """A subject key for each sample and a relying party's key for flight checks."""
    from socialcredit.keys import KeyRing

    ring = KeyRing(open_store(settings), settings.secret_key.get_secret_value().encode("utf-8"))
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=KEY_DAYS)
    keys = {
        role: ring.create("subject", [subject_id], expires, f"demo {role}")[1]
        for role, subject_id in samples.items()
    }
    keys["relying_party"] = ring.create(
        "relying_party", ["transport.flight"], expires, "demo relying party"
    )[1]
    return keys


def _print(ctx: typer.Context, document: dict[str, Any]) -> None:
    out = state(ctx).out
    how = "reused from an earlier run" if document["reused"] else "made now"
    out.print(
        f"socialcredit demo: data in {document['data']} ({how}, snapshot "
        f"{document['snapshot']}, set up in {document['setup_seconds']} s)",
        markup=False,
        highlight=False,
    )
    out.print(f"\n  {document['url']}   (API: {document['api_docs']})\n", markup=False)
    for sample in document["samples"]:
        out.print(
            f"  {sample['role']:<12} {sample['subject_id']}  key {sample['key']}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    if document["role_model_basis"] != "red list":
        out.print("  (no one is on the red list yet: the role model has the best score)")
    if "sample_check" in document:
        answer = document["sample_check"]["answer"]
        word = "allowed" if answer["allowed"] else "denied"
        out.print("\n  a relying party's check of the discredited person:", markup=False)
        out.print(
            f"  {document['sample_check']['request']}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        out.print(f"  -> {word}: {', '.join(answer['reasons'])}", markup=False)


def _serve(ctx: typer.Context, settings: Settings) -> None:
    import uvicorn

    from socialcredit.web import create_app

    state(ctx).err.print("serving; Ctrl-C stops", markup=False)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning")
