"""Revisions over real HTTP: a seller publishes revisions 1 to 3; buyers holding each kind of
coverage download exactly the revisions their licences cover, directly and by signed link, and
are refused the others; a leaked copy of an old revision traces to its licence."""

import csv
import io
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from market import db
from market.models import OutboxEvent
from market.settings import Settings
from tests.e2e.test_delivery import run_trace
from tests.e2e.test_market_slice import PROBLEM, auth, register, register_buyer, upload

ROWS = 300


def revision_csv(number: int) -> bytes:
    """Revision 1 has three columns; 2 and 3 add a unit, and each revision has its own readings."""
    header = ["sensor", "site", "reading"] + (["unit"] if number > 1 else [])
    lines = [",".join(header)]
    for i in range(ROWS):
        row = [f"S{i:04d}", "新宿" if i % 3 else "渋谷", str((i * 37 + number * 11) % 997)]
        lines.append(",".join(row + (["km/h"] if number > 1 else [])))
    return ("\n".join(lines) + "\n").encode("utf-8")


def rows_of(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8"), newline="")))


def same_table(copy: bytes, number: int) -> bool:
    """The copy has revision `number`'s header and rows (in any order)."""
    got, want = rows_of(copy), rows_of(revision_csv(number))
    return got[0] == want[0] and sorted(got[1:]) == sorted(want[1:])


@pytest.fixture
def outbox_count(settings: Settings) -> Iterator[Callable[[], int]]:
    engine = db.make_engine(settings.resolved_database_url)

    def count() -> int:
        with Session(engine) as session:
            return int(session.exec(select(func.count()).select_from(OutboxEvent)).one())

    yield count
    engine.dispose()


@pytest.fixture
def revised(http: httpx.Client, operator_key: str) -> dict[str, str]:
    """Revision 1 listed three times, one listing per coverage, each bought by its own buyer:
    `revision` and `history` while revision 2 is current, `updates` while revision 1 is.
    Revision 3 is then published."""
    seller = register(http, "東都センサー")
    uploaded = upload(http, seller, revision_csv(1))
    assert uploaded.status_code == 201, uploaded.text
    dataset = uploaded.json()["id"]
    found = {"seller": seller, "dataset": dataset}

    def sell(covers: str) -> None:
        listing = http.post(
            "/listings",
            headers=auth(seller),
            json={
                "dataset_id": dataset,
                "price_yen": 1_000,
                "licence_count": 1,
                "allowed_purposes": ["research"],
            },
        )
        assert listing.status_code == 201, listing.text
        coverage = http.put(
            f"/listings/{listing.json()['id']}/coverage",
            headers=auth(seller),
            json={"covers": covers},
        )
        assert coverage.status_code == 200, coverage.text
        buyer = register_buyer(http, operator_key, f"Lab {covers}", recipient_category="research")
        bid = http.post(
            "/bids",
            headers=auth(buyer),
            json={
                "instrument": listing.json()["instrument"],
                "max_price_yen": 1_000,
                "purpose": "research.academic",
                "dataset_id": dataset,
            },
        )
        assert [t["listing_id"] for t in bid.json()["trades"]] == [listing.json()["id"]], bid.text
        found[covers] = buyer
        found[f"{covers}_licence"] = http.get("/licences", headers=auth(buyer)).json()[0]["id"]

    def publish(number: int) -> None:
        published = http.post(
            f"/datasets/{dataset}/revisions",
            headers=auth(seller),
            files={"file": ("d.csv", revision_csv(number), "text/csv")},
        )
        assert published.status_code == 201, published.text
        assert published.json()["number"] == number

    sell("updates")
    publish(2)
    sell("revision")
    sell("history")
    publish(3)
    return found


def get(http: httpx.Client, key: str, dataset: str, revision: object = None) -> httpx.Response:
    params = {} if revision is None else {"revision": revision}
    return http.get(f"/datasets/{dataset}/download", headers=auth(key), params=params)


def assert_refused(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["detail"]
    assert "content-disposition" not in response.headers and "S0001" not in response.text


# coverage kind -> (revisions it may download, the default one)
ENTITLED = {"revision": ({2}, 2), "history": ({1, 2}, 2), "updates": ({1, 2, 3}, 3)}


def test_each_coverage_downloads_exactly_its_revisions(
    http: httpx.Client, revised: dict[str, str]
) -> None:
    dataset = revised["dataset"]
    for kind, (allowed, default) in ENTITLED.items():
        key = revised[kind]
        served = get(http, key, dataset)
        assert served.status_code == 200, served.text
        assert served.headers["X-Dataset-Revision"] == str(default)
        assert same_table(served.content, default), kind
        assert f"-r{default}.csv" in served.headers["content-disposition"]
        for number in (1, 2, 3):
            response = get(http, key, dataset, number)
            if number in allowed:
                assert response.status_code == 200, (kind, number, response.text)
                assert response.headers["X-Dataset-Revision"] == str(number)
                assert same_table(response.content, number)
                assert response.content != revision_csv(number)  # fingerprinted, not the original
            else:
                assert_refused(response, 403)
                assert f"revision {number}" in response.json()["detail"]
        assert get(http, key, dataset, 2).content == get(http, key, dataset, 2).content

    # The buyer of revision 2 alone is not given the newer current revision.
    assert not same_table(get(http, revised["revision"], dataset).content, 3)


def test_the_seller_gets_every_revision_as_stored(
    http: httpx.Client, revised: dict[str, str]
) -> None:
    dataset, seller = revised["dataset"], revised["seller"]
    current = get(http, seller, dataset)
    assert current.headers["X-Dataset-Revision"] == "3"
    assert current.content == revision_csv(3)
    for number in (1, 2, 3):
        assert get(http, seller, dataset, number).content == revision_csv(number)
    assert_refused(get(http, seller, dataset, 4), 404)


def test_bad_unknown_and_uncovered_revisions_are_refused_and_nothing_is_recorded(
    http: httpx.Client, revised: dict[str, str], outbox_count: Callable[[], int]
) -> None:
    dataset, buyer = revised["dataset"], revised["revision"]
    stranger = register(http, "Stranger")
    before = outbox_count()
    for bad in (0, -1, "two", "1.5", 10**12):
        response = get(http, buyer, dataset, bad)
        assert_refused(response, 422)
        assert "revision" in response.json()["detail"]
    missing = get(http, buyer, dataset, 4)
    assert_refused(missing, 404)
    assert "no revision 4" in missing.json()["detail"]
    assert_refused(get(http, buyer, dataset, 3), 403)
    assert_refused(get(http, stranger, dataset, 1), 403)
    assert_refused(get(http, stranger, dataset), 403)
    licence = revised["revision_licence"]
    for bad in (0, "x"):
        response = http.post(
            f"/licences/{licence}/download-url", headers=auth(buyer), params={"revision": bad}
        )
        assert_refused(response, 422)
    link = http.post(
        f"/licences/{licence}/download-url", headers=auth(buyer), params={"revision": 1}
    )
    assert_refused(link, 403)
    link = http.post(
        f"/licences/{licence}/download-url", headers=auth(buyer), params={"revision": 9}
    )
    assert_refused(link, 404)
    assert outbox_count() == before


def test_a_signed_link_serves_the_revision_it_names(
    http: httpx.Client, revised: dict[str, str]
) -> None:
    dataset = revised["dataset"]
    key, licence = revised["history"], revised["history_licence"]
    default = http.post(f"/licences/{licence}/download-url", headers=auth(key))
    assert default.status_code == 200, default.text
    assert default.json()["revision"] == 2
    old = http.post(f"/licences/{licence}/download-url", headers=auth(key), params={"revision": 1})
    assert old.status_code == 200 and old.json()["revision"] == 1, old.text
    for made, number in ((default, 2), (old, 1)):
        served = http.get(made.json()["url"], headers=auth(key))
        assert served.status_code == 200, served.text
        assert served.headers["X-Dataset-Revision"] == str(number)
        assert served.content == get(http, key, dataset, number).content
    assert_refused(http.get(old.json()["url"], headers=auth(revised["updates"])), 403)
    # The revision is signed: a link altered to name another revision is refused.
    token = old.json()["url"].rsplit("/", 1)[1]
    lic, _, expires, signature = token.split(".")
    altered = http.get(f"/downloads/{lic}.2.{expires}.{signature}", headers=auth(key))
    assert_refused(altered, 403)


def test_the_revisions_list_shows_what_each_caller_may_download(
    http: httpx.Client, revised: dict[str, str]
) -> None:
    dataset = revised["dataset"]
    for kind, (allowed, _) in ENTITLED.items():
        listed = http.get(f"/datasets/{dataset}/revisions", headers=auth(revised[kind]))
        assert listed.status_code == 200, listed.text
        shown = {r["number"]: (r["downloadable"], r["your_licences"]) for r in listed.json()}
        licence = revised[f"{kind}_licence"]
        assert shown == {n: (n in allowed, [licence] if n in allowed else []) for n in (1, 2, 3)}
    seller = http.get(f"/datasets/{dataset}/revisions", headers=auth(revised["seller"])).json()
    assert [(r["number"], r["downloadable"]) for r in seller] == [(1, True), (2, True), (3, True)]


def test_a_leaked_copy_of_an_old_revision_traces_to_its_licence(
    http: httpx.Client, revised: dict[str, str], settings: Settings, tmp_path: Path
) -> None:
    # Revision 1 has fewer columns than the dataset has now: the trace still finds it.
    copy = get(http, revised["history"], revised["dataset"], 1)
    assert copy.status_code == 200, copy.text
    frame = pd.read_csv(io.BytesIO(copy.content), dtype=str, na_filter=False)
    leak = tmp_path / "leak.csv"
    frame.drop(frame.sample(frac=0.1, random_state=5).index)[["site", "reading", "sensor"]].to_csv(
        leak, index=False
    )
    traced = run_trace(leak, settings)
    assert traced.returncode == 0, traced.stderr
    assert revised["history_licence"] in traced.stdout
    assert revised["updates_licence"] not in traced.stdout
