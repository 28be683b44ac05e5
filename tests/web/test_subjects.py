"""A subject's figures, explanation and access log: who may read them."""

from __future__ import annotations

from socialcredit.scoring import answers
from tests.scored import Scored
from tests.web.conftest import Api

UNREGISTERED = "11010519491231002X"


def test_a_subject_reads_its_own_figures_and_explanation(
    api: Api, people: dict[str, str], scored: Scored
) -> None:
    me = people["discredited"]
    mine = api.key("subject", me)
    figures = api.client.get(f"/api/v1/subjects/{me}", headers=mine)
    assert figures.status_code == 200
    assert figures.json() == answers.figures(scored.snapshot, me)
    assert set(figures.json()["ranks"]) == {"national", "province", "city", "region"}
    records = api.client.get(f"/api/v1/subjects/{me}/records", headers=mine)
    assert records.status_code == 200
    explained = records.json()
    assert explained["score"] == figures.json()["score"]
    assert explained["counted"]
    assert explained["arithmetic"]["score"] == explained["score"]


def test_no_key_reads_another_subject_and_existence_is_not_revealed(
    api: Api, people: dict[str, str]
) -> None:
    mine = api.key("subject", people["ordinary"])
    for other in (people["discredited"], UNREGISTERED):
        for path in ("", "/records", "/access-log"):
            got = api.client.get(f"/api/v1/subjects/{other}{path}", headers=mine)
            assert got.status_code == 403, (other, path)
    # the two refusals read the same: nothing tells a registered id from another
    a = api.client.get(f"/api/v1/subjects/{people['discredited']}", headers=mine).json()
    b = api.client.get(f"/api/v1/subjects/{UNREGISTERED}", headers=mine).json()
    assert a == b


def test_a_relying_party_cannot_read_a_score(api: Api, people: dict[str, str]) -> None:
    party = api.key("relying_party", "transport.flight")
    for path in ("", "/records"):
        got = api.client.get(f"/api/v1/subjects/{people['ordinary']}{path}", headers=party)
        assert got.status_code == 403
        assert "score" not in got.text


def test_reviewers_read_and_auditors_see_only_access_logs(api: Api, people: dict[str, str]) -> None:
    who = people["ordinary"]
    assert api.client.get(f"/api/v1/subjects/{who}", headers=api.key("reviewer")).status_code == 200
    auditor = api.key("auditor")
    assert api.client.get(f"/api/v1/subjects/{who}", headers=auditor).status_code == 403
    assert api.client.get(f"/api/v1/subjects/{who}/access-log", headers=auditor).status_code == 200


def test_the_access_log_answers_who_looked_at_my_data(api: Api, people: dict[str, str]) -> None:
    me = people["discredited"]
    party = api.key("relying_party", "transport.flight")
    api.client.get(
        f"/api/v1/checks/transport.flight/{me}", headers={**party, "X-Purpose": "ticket sale"}
    )
    api.client.post(
        "/api/v1/checks",
        json={"measure": "transport.flight", "subject_ids": [people["ordinary"], me]},
        headers=party,
    )
    snooper = api.key("subject", people["ordinary"])
    api.client.get(f"/api/v1/subjects/{me}", headers=snooper)
    log = api.client.get(f"/api/v1/subjects/{me}/access-log", headers=api.key("subject", me))
    entries = log.json()["entries"]
    seen = [(e["role"], e["action"], e["outcome"], e["purpose"]) for e in entries]
    assert ("relying_party", "check:transport.flight", "denied", "ticket sale") in seen
    assert ("relying_party", "check:transport.flight", "answered", "check:transport.flight") in seen
    assert ("subject", "read:figures", "forbidden", "self-access") in seen
    assert [e["seq"] for e in entries] == sorted((e["seq"] for e in entries), reverse=True)
    # the ordinary person's log holds the batch, not the discredited person's other reads
    theirs = api.services.audit.for_subject(people["ordinary"])
    assert {e["action"] for e in theirs} == {"check:transport.flight"}
    assert api.services.audit.verify().ok


def test_a_subject_does_not_see_the_addresses_of_the_public(
    api: Api, people: dict[str, str]
) -> None:
    me = people["discredited"]
    reader = "ip:203.0.113.9"  # a member of the public who read a list page naming me
    api.services.record_as(reader, "public", "disclosure", "read:list:discredited", "ok", me)
    mine = api.client.get(f"/api/v1/subjects/{me}/access-log", headers=api.key("subject", me))
    public = [e for e in mine.json()["entries"] if e["role"] == "public"]
    assert [e["actor"] for e in public] == ["public"]
    audited = api.client.get(f"/api/v1/subjects/{me}/access-log", headers=api.key("auditor"))
    assert reader in [e["actor"] for e in audited.json()["entries"]]
