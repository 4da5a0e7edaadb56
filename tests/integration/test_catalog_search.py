"""GET /listings' search, filters, sorts and pages on SQLite (FTS5 trigram) and PostgreSQL
(pg_trgm): the same rows in the same order on both, Japanese included."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import hypothesis
import pytest
from alembic import command
from hypothesis import strategies as st
from sqlalchemy import Engine, event, text
from sqlmodel import Session, select

from market import db
from market.catalog import CatalogDesk, ListingFilter, find_listings
from market.catalog import search as search_module
from market.catalog.desk import UnknownColumns
from market.catalog.grams import match_expression
from market.catalog.indexing import normalize, search_terms
from market.catalog.metadata import ListingMetadata
from market.catalog.tables import CatalogEntry
from market.errors import Forbidden
from market.models import Dataset, Listing, Participant
from market.paging import InvalidCursor, Page
from market.settings import Settings
from market.storage import open_store

T0 = datetime(2026, 11, 1, tzinfo=UTC)

# (key, title, description, tags, data_class, category, price, quality, k, seller kind)
CORPUS: list[tuple[str, str, str, list[str], str, str, int, int, int | None, str]] = [
    (
        "tokyo_traffic",
        "東京都 交通量 2025",
        "Traffic counts on Tokyo arterial roads",
        ["交通", "iot"],
        "non_personal",
        "mobility.traffic",
        1_000,
        90,
        None,
        "business",
    ),
    (
        "osaka_traffic",
        "大阪 交通量",
        "Osaka traffic sensors, hourly",
        ["交通"],
        "non_personal",
        "mobility.traffic",
        800,
        70,
        None,
        "business",
    ),
    (
        "tokyo_medical",
        "東京 医療機関 受診データ",
        "匿名加工情報: outpatient visits",
        ["医療"],
        "anonymized",
        "health.visits",
        5_000,
        85,
        10,
        "info_bank",
    ),
    (
        "blood_pressure",
        "血圧測定値",
        "家庭用血圧計の測定値 (匿名加工)",
        ["医療", "ヘルスケア"],
        "anonymized",
        "health.vitals",
        3_000,
        60,
        5,
        "info_bank",
    ),
    (
        "blood_sugar",
        "血糖値ログ",
        "Glucose readings from wearables",
        ["healthcare"],
        "anonymized",
        "health.vitals",
        3_000,
        75,
        20,
        "info_bank",
    ),
    (
        "weather",
        "Weather stations Kanto",
        "Temperature and rain, 関東",
        ["weather", "iot"],
        "non_personal",
        "environment.weather",
        500,
        95,
        None,
        "business",
    ),
    (
        "fullwidth",
        "ＴＯＫＹＯ ｶﾞｲﾄﾞ",
        "Full-width title, half-width katakana",
        ["guide"],
        "non_personal",
        "tourism.guides",
        200,
        50,
        None,
        "individual",
    ),
    (
        "percent",
        "100% renewable_energy",
        "Share of 再生可能エネルギー",
        ["energy"],
        "non_personal",
        "energy.mix",
        700,
        80,
        None,
        "business",
    ),
    (
        "retail",
        "POS 購買データ",
        "Retail purchases in 東京 and 大阪",
        ["retail"],
        "anonymized",
        "retail.pos",
        2_000,
        65,
        3,
        "business",
    ),
]

# query -> keys expected, newest first (the corpus is inserted in order, one minute apart)
QUERIES: dict[str, list[str]] = {
    "東京": ["retail", "tokyo_medical", "tokyo_traffic"],
    "医療": ["blood_pressure", "tokyo_medical"],
    "血": ["blood_sugar", "blood_pressure"],
    "血圧": ["blood_pressure"],
    "交通量": ["osaka_traffic", "tokyo_traffic"],
    "東京 医療": ["tokyo_medical"],
    "医療 東京": ["tokyo_medical"],
    "tokyo": ["fullwidth", "tokyo_traffic"],
    "TOKYO traffic": ["tokyo_traffic"],
    "ｔｏｋｙｏ": ["fullwidth", "tokyo_traffic"],
    "ガイド": ["fullwidth"],
    "iot": ["weather", "tokyo_traffic"],
    "%": ["percent"],
    "_": ["percent"],
    "e_e": ["percent"],
    "s_n": [],
    '"': [],
    '"東京"': [],
    "再生": ["percent"],
    "関東 rain": ["weather"],
    "glucose": ["blood_sugar"],
    "東京 大阪": ["retail"],
    "no-such-data": [],
    # One- and two-character terms (SQLite: the gram index), alone and mixed with longer ones.
    "東": ["retail", "weather", "tokyo_medical", "tokyo_traffic"],
    "a": [row[0] for row in reversed(CORPUS)],  # every entry has a column "a"
    "交通": ["osaka_traffic", "tokyo_traffic"],
    "ai": ["retail", "weather"],
    ":": ["tokyo_medical"],
    "(": ["blood_pressure"],
    "0%": ["percent"],
    # Fields are joined by a line break: every entry ends with the columns "a" and "b", and the
    # tags 交通 and iot follow each other, yet no term matches across the join.
    "ab": ["percent", "blood_sugar"],
    "通i": [],
    "ＫＹ": ["fullwidth", "tokyo_traffic"],
    "ｶﾞ": ["fullwidth"],
    "ｲﾄﾞ": ["fullwidth"],
    "ｶ": [],
    "ai 関東": ["weather"],
    "rain 東": ["weather"],
    "通 iot": ["tokyo_traffic"],
    "血 ログ": ["blood_sugar"],
}


def seed(engine: Engine) -> dict[str, str]:
    """The corpus as listings; returns listing id by key."""
    ids: dict[str, str] = {}
    with db.unit_of_work(engine) as session:
        sellers = {
            kind: Participant(name=f"{kind} seller", kind=kind, display_name=f"{kind}-shop")
            for kind in ("business", "info_bank", "individual")
        }
        session.add_all(sellers.values())
        session.flush()
        for minute, row in enumerate(CORPUS):
            key, title, description, tags, data_class, category, price, quality, k, kind = row
            seller = sellers[kind]
            dataset = Dataset(
                id=f"dataset{minute:02d}",
                seller_id=seller.id,
                title=title,
                description=description,
                category=category,
                data_class=data_class,
                columns=["a", "b"],
                tags=tags,
                row_count=10,
                size_bytes=100,
                source_encoding="utf-8",
                sha256=f"{minute:064d}",
                quality_score=quality,
                privacy_k=k,
            )
            session.add(dataset)
            session.flush()
            # Fixed ids: ties break by id, so both databases must hold the same ones.
            listing = Listing(
                id=f"listing{minute:02d}",
                dataset_id=dataset.id,
                seller_id=seller.id,
                instrument=f"{category}/{data_class}",
                price_yen=price,
                allowed_purposes=["research"],
                created_at=T0 + timedelta(minutes=minute),
            )
            session.add(listing)
            session.flush()
            ids[key] = listing.id
    return ids


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = db.make_engine(settings.resolved_database_url)
    db.migrate(engine)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def ids(engine: Engine) -> dict[str, str]:
    return seed(engine)


def keys_of(ids: dict[str, str], items: list[dict[str, Any]]) -> list[str]:
    by_id = {listing_id: key for key, listing_id in ids.items()}
    return [by_id[item["id"]] for item in items]


def search_page(
    engine: Engine,
    *,
    sort: str = "recency",
    cursor: str | None = None,
    limit: int = 100,
    **where: Any,
) -> Page[dict[str, Any]]:
    with Session(engine) as session:
        viewer = session.exec(select(Participant)).first()
        assert viewer is not None
        return find_listings(
            session=session,
            viewer=viewer,
            where=ListingFilter(**where),
            sort=sort,
            cursor=cursor,
            limit=limit,
        )


@pytest.fixture(autouse=True)
def _no_common_texts() -> Iterator[None]:
    """Texts found common are remembered per database (search.COMMON_TEXTS): not across tests."""
    search_module.COMMON_TEXTS.clear()
    yield
    search_module.COMMON_TEXTS.clear()


def search(engine: Engine, **where: Any) -> list[dict[str, Any]]:
    return search_page(engine, **where).items


def test_search_finds_every_term_as_a_substring(engine: Engine, ids: dict[str, str]) -> None:
    found = {query: keys_of(ids, search(engine, q=query)) for query in QUERIES}
    assert found == QUERIES


def test_one_and_two_character_terms_are_found_through_the_gram_index_on_sqlite(
    engine: Engine, ids: dict[str, str]
) -> None:
    # A trigram MATCH cannot find a term shorter than three characters; the gram index does.
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            by_trigrams = connection.execute(
                text("SELECT count(*) FROM catalog_search WHERE catalog_search MATCH '\"東京\"'")
            ).scalar_one()
            by_grams = connection.execute(
                text("SELECT count(*) FROM catalog_grams WHERE catalog_grams MATCH :query"),
                {"query": match_expression(["東京"])},
            ).scalar_one()
        assert (by_trigrams, by_grams) == (0, len(QUERIES["東京"]))
    assert keys_of(ids, search(engine, q="東京")) == QUERIES["東京"]


def test_filters_narrow_the_listings(engine: Engine, ids: dict[str, str]) -> None:
    assert keys_of(ids, search(engine, tags=("医療",))) == ["blood_pressure", "tokyo_medical"]
    assert keys_of(ids, search(engine, tags=("医療", "ヘルスケア"))) == ["blood_pressure"]
    assert keys_of(ids, search(engine, tags=("IoT",))) == ["weather", "tokyo_traffic"]
    assert keys_of(ids, search(engine, data_class="anonymized", min_k=10)) == [
        "blood_sugar",
        "tokyo_medical",
    ]
    assert keys_of(ids, search(engine, min_quality=90)) == ["weather", "tokyo_traffic"]
    assert keys_of(ids, search(engine, min_price_yen=2_000, max_price_yen=3_000)) == [
        "retail",
        "blood_sugar",
        "blood_pressure",
    ]
    assert keys_of(ids, search(engine, seller_kind="individual")) == ["fullwidth"]
    assert keys_of(ids, search(engine, instrument="mobility.traffic/non_personal", q="東京")) == [
        "tokyo_traffic"
    ]


def test_sorts_break_ties_by_id(engine: Engine, ids: dict[str, str]) -> None:
    cheapest = keys_of(ids, search(engine, sort="price"))
    assert cheapest[:3] == ["fullwidth", "weather", "percent"]
    tied = sorted(["blood_pressure", "blood_sugar"], key=lambda key: ids[key])
    assert cheapest[cheapest.index(tied[0]) : cheapest.index(tied[0]) + 2] == tied
    dearest = keys_of(ids, search(engine, sort="price_desc"))
    assert dearest[:2] == ["tokyo_medical", tied[1]]
    assert keys_of(ids, search(engine, sort="quality"))[:3] == [
        "weather",
        "tokyo_traffic",
        "tokyo_medical",
    ]


@pytest.mark.parametrize("sort", ["recency", "price", "price_desc", "quality"])
def test_pages_are_stable_under_inserts(engine: Engine, ids: dict[str, str], sort: str) -> None:
    whole = [item["id"] for item in search(engine, sort=sort)]
    seen: list[str] = []
    cursor = None
    while True:
        page = search_page(engine, sort=sort, cursor=cursor, limit=2)
        seen += [item["id"] for item in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
        if len(seen) == 2:
            _insert_newest(engine)
    new = set(seen) - set(whole)
    assert [listing_id for listing_id in seen if listing_id not in new] == whole
    assert len(seen) == len(set(seen))


def _insert_newest(engine: Engine) -> None:
    with db.unit_of_work(engine) as session:
        dataset = session.exec(select(Dataset)).first()
        assert dataset is not None
        session.add(
            Listing(
                dataset_id=dataset.id,
                seller_id=dataset.seller_id,
                instrument="mobility.traffic/non_personal",
                price_yen=1,
                allowed_purposes=["research"],
            )
        )


def test_a_cursor_continues_only_its_own_sort(engine: Engine, ids: dict[str, str]) -> None:
    first = search_page(engine, sort="price", limit=2)
    assert first.next_cursor is not None
    with pytest.raises(InvalidCursor, match="sorted by price"):
        search_page(engine, sort="recency", cursor=first.next_cursor, limit=2)


def test_metadata_is_searchable_and_filterable(
    engine: Engine, ids: dict[str, str], settings: Settings
) -> None:
    desk = CatalogDesk(engine, open_store(settings))
    with Session(engine) as session:
        listing = session.get(Listing, ids["weather"])
        seller = session.get(Participant, listing.seller_id) if listing else None
        assert listing is not None and seller is not None
    metadata = ListingMetadata.model_validate(
        {
            "columns": [{"name": "a", "semantic_tag": "measure.temperature", "unit": "℃"}],
            "coverage": {"geography": ["神奈川県"], "period_start": "2025-01-01"},
            "update_frequency": "daily",
            "tags": ["weather", "気象"],
        }
    )
    desk.set_metadata(seller=seller, dataset_id=listing.dataset_id, metadata=metadata)
    assert keys_of(ids, search(engine, q="神奈川")) == ["weather"]
    assert keys_of(ids, search(engine, q="temperature 気象")) == ["weather"]
    assert keys_of(ids, search(engine, update_frequency="daily")) == ["weather"]
    assert keys_of(ids, search(engine, tags=("iot",))) == ["tokyo_traffic"]


def test_a_rewritten_entry_is_found_by_its_new_short_terms_only(
    engine: Engine, ids: dict[str, str], settings: Settings
) -> None:
    desk = CatalogDesk(engine, open_store(settings))
    with Session(engine) as session:
        listing = session.get(Listing, ids["weather"])
        seller = session.get(Participant, listing.seller_id) if listing else None
        assert listing is not None and seller is not None
    assert keys_of(ids, search(engine, q="関東")) == ["weather"]
    metadata = ListingMetadata.model_validate({"description": "気温と雨量, 神奈川"})
    desk.set_metadata(seller=seller, dataset_id=listing.dataset_id, metadata=metadata)
    assert search(engine, q="関東") == []
    assert keys_of(ids, search(engine, q="雨量")) == ["weather"]
    assert keys_of(ids, search(engine, q="雨 神奈川")) == ["weather"]


def test_refused_metadata_stores_nothing(
    engine: Engine, ids: dict[str, str], settings: Settings
) -> None:
    desk = CatalogDesk(engine, open_store(settings))
    with Session(engine) as session:
        listing = session.get(Listing, ids["weather"])
        assert listing is not None
        owner = session.get(Participant, listing.seller_id)
        other = session.exec(select(Participant).where(Participant.kind == "individual")).one()
        before = session.exec(
            select(CatalogEntry).where(CatalogEntry.dataset_id == listing.dataset_id)
        ).one()
        assert owner is not None
    unknown = ListingMetadata.model_validate(
        {"title": "renamed", "columns": [{"name": "nope", "description": "x"}]}
    )
    with pytest.raises(UnknownColumns, match="no column 'nope'"):
        desk.set_metadata(seller=owner, dataset_id=listing.dataset_id, metadata=unknown)
    with pytest.raises(Forbidden):
        desk.set_metadata(
            seller=other,
            dataset_id=listing.dataset_id,
            metadata=ListingMetadata.model_validate({"title": "stolen"}),
        )
    with Session(engine) as session:
        after = session.exec(
            select(CatalogEntry).where(CatalogEntry.dataset_id == listing.dataset_id)
        ).one()
        dataset = session.get(Dataset, listing.dataset_id)
        assert dataset is not None and dataset.title == "Weather stations Kanto"
    assert (after.search_text, after.details) == (before.search_text, before.details)


@pytest.mark.postgres
def test_sqlite_and_postgres_return_the_same_pages(tmp_path, postgres_url: str) -> None:  # type: ignore[no-untyped-def]
    answers = []
    for url in (f"sqlite:///{tmp_path / 'same.db'}", postgres_url):
        engine = db.make_engine(url)
        try:
            db.migrate(engine)
            seeded = seed(engine)
            answers.append(
                {
                    (query, sort): keys_of(seeded, search(engine, q=query, sort=sort))
                    for query in QUERIES
                    for sort in ("recency", "price", "quality")
                }
            )
        finally:
            engine.dispose()
    assert answers[0] == answers[1]


def test_the_quality_sort_follows_a_changed_score(engine: Engine, ids: dict[str, str]) -> None:
    with db.unit_of_work(engine) as session:
        listing = session.get(Listing, ids["fullwidth"])
        assert listing is not None
        dataset = session.get(Dataset, listing.dataset_id)
        assert dataset is not None
        dataset.quality_score = 99
    assert keys_of(ids, search(engine, sort="quality"))[:2] == ["fullwidth", "weather"]
    assert keys_of(ids, search(engine, min_quality=99)) == ["fullwidth"]


def test_a_closed_listing_leaves_the_open_list(engine: Engine, ids: dict[str, str]) -> None:
    with db.unit_of_work(engine) as session:
        listing = session.get(Listing, ids["tokyo_traffic"])
        assert listing is not None
        listing.status = "cancelled"
    assert keys_of(ids, search(engine, q="東京")) == ["retail", "tokyo_medical"]
    assert keys_of(ids, search(engine, q="東京", status="cancelled")) == ["tokyo_traffic"]
    assert keys_of(ids, search(engine, status=None, q="東京")) == QUERIES["東京"]


def test_the_seller_kind_filter_follows_the_seller(engine: Engine, ids: dict[str, str]) -> None:
    with db.unit_of_work(engine) as session:
        listing = session.get(Listing, ids["fullwidth"])
        seller = session.get(Participant, listing.seller_id) if listing else None
        assert seller is not None
        seller.kind = "business"
    assert search(engine, seller_kind="individual") == []
    assert "fullwidth" in keys_of(ids, search(engine, seller_kind="business"))


def test_a_deleted_listing_leaves_no_card(engine: Engine, ids: dict[str, str]) -> None:
    with db.unit_of_work(engine) as session:
        listing = session.get(Listing, ids["percent"])
        assert listing is not None
        session.delete(listing)
    with engine.connect() as connection:
        cards = connection.execute(text("SELECT listing_id FROM catalog_listing")).scalars().all()
    assert ids["percent"] not in cards
    assert sorted(cards) == sorted(set(ids.values()) - {ids["percent"]})


@pytest.mark.parametrize("sort", ["recency", "price", "quality"])
def test_the_few_matches_path_and_the_walk_agree(
    engine: Engine, ids: dict[str, str], sort: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Few matches: the page is sorted among them; many (none counts as few here): the cards are
    # walked in sort order and each entry's text is tested. Both must give the same pages.
    few = {query: keys_of(ids, search(engine, q=query, sort=sort)) for query in QUERIES}
    monkeypatch.setattr(search_module, "FEW_MATCHES", -1)
    walked = {query: keys_of(ids, search(engine, q=query, sort=sort)) for query in QUERIES}
    assert walked == few
    pages: list[str] = []
    cursor = None
    while True:
        page = search_page(engine, q="東京", sort=sort, cursor=cursor, limit=1)
        pages += keys_of(ids, page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert pages == few["東京"]


def test_the_card_triggers_are_there_after_every_migration(engine: Engine) -> None:
    # A later SQLite migration that rebuilds listing, dataset, participant or catalog_entry
    # (batch "move and copy") drops their triggers with the old table: it must create them again.
    if engine.dialect.name == "sqlite":
        listed = text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
    else:
        listed = text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
    with engine.connect() as connection:
        triggers = set(connection.execute(listed).scalars())
    assert {
        "catalog_listing_ai",
        "catalog_listing_au",
        "catalog_listing_ad",
        "catalog_listing_dataset_au",
        "catalog_listing_seller_au",
        "catalog_listing_entry_ai",
        "catalog_listing_entry_au",
        "catalog_listing_entry_ad",
    } <= triggers
    if engine.dialect.name == "sqlite":
        assert {"catalog_grams_ai", "catalog_grams_ad", "catalog_grams_au"} <= triggers


def test_mine_lists_the_viewers_own_listings(engine: Engine, ids: dict[str, str]) -> None:
    with Session(engine) as session:
        viewer = session.exec(select(Participant)).first()
        assert viewer is not None
        own = session.exec(select(Listing.id).where(Listing.seller_id == viewer.id)).all()
    found = [item["id"] for item in search(engine, mine=True, sort="price")]
    assert sorted(found) == sorted(own) and found
    assert keys_of(ids, search(engine, mine=True, q="東京")) == [
        key for key in QUERIES["東京"] if ids[key] in own
    ]


def test_migration_0018_indexes_the_entries_stored_before_it(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'older.db'}")
    config = db.alembic_config(engine.url.render_as_string(hide_password=False))
    listed = text("SELECT name FROM sqlite_master WHERE name LIKE 'catalog_grams%'")
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0017")
        ids = seed(engine)
        db.migrate(engine)
        for query in ("東京", "血", "ab", "東京 医療", "関東 rain"):
            assert keys_of(ids, search(engine, q=query)) == QUERIES[query], query
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0017")
            assert connection.execute(listed).scalars().all() == []
    finally:
        engine.dispose()


# Latin and Japanese, full-width and half-width forms, whitespace (an ideographic space among
# it), LIKE's wildcards, and characters NFKC or case folding expand (ß, ﬁ).
SHORT_TEXT = st.text(alphabet="aAiI東京血ｶﾞｲＡ%_.: \n\u3000ßﬁ", max_size=14)


@hypothesis.settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)
@hypothesis.given(
    texts=st.lists(st.tuples(SHORT_TEXT, SHORT_TEXT), min_size=1, max_size=5),
    queries=st.lists(st.text(alphabet="aAiI東京血ｶﾞｲＡ%_.: ßﬁ", min_size=1, max_size=2)),
)
def test_the_gram_index_finds_exactly_the_entries_holding_a_short_term(
    sqlite_url: str, texts: list[tuple[str, str]], queries: list[str]
) -> None:
    # Each example deletes the entries of the one before, inserts its own and rewrites them,
    # so the triggers' inserts, deletes and rewrites of the contentless index are all checked:
    # a stale token would show as an entry found that does not hold the term (rowids are reused).
    engine = db.make_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            stored = connection.execute(text("SELECT count(*) FROM dataset")).scalar_one()
        if not stored:
            seed(engine)  # nine datasets, made once for all the examples
        with engine.begin() as connection:
            dataset_ids = list(
                connection.execute(text("SELECT id FROM dataset ORDER BY id")).scalars()
            )
            connection.execute(text("DELETE FROM catalog_entry"))
            final: dict[int, str] = {}
            for dataset_id, (first, then) in zip(dataset_ids, texts, strict=False):
                seq = connection.execute(
                    text(
                        "INSERT INTO catalog_entry (dataset_id, search_text, tags_text, "
                        "updated_at) VALUES (:dataset_id, :text, ',', '2026-11-01') RETURNING seq"
                    ),
                    {"dataset_id": dataset_id, "text": normalize(first)},
                ).scalar_one()
                connection.execute(
                    text("UPDATE catalog_entry SET search_text = :text WHERE seq = :seq"),
                    {"text": normalize(then), "seq": seq},
                )
                final[seq] = normalize(then)
            for term in (term for query in queries for term in search_terms(query)):
                if len(term) > 2:
                    continue
                found = connection.execute(
                    text("SELECT rowid FROM catalog_grams WHERE catalog_grams MATCH :query"),
                    {"query": match_expression([term])},
                ).scalars()
                assert set(found) == {seq for seq, body in final.items() if term in body}, term
            connection.execute(
                text("INSERT INTO catalog_grams(catalog_grams) VALUES ('integrity-check')")
            )
    finally:
        engine.dispose()


def test_a_text_found_common_is_walked_at_once_next_time(
    engine: Engine, ids: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once a text matched more than FEW_MATCHES entries, its next search skips asking the text
    index and walks the cards; the page is the same, and another text still asks first."""
    monkeypatch.setattr(search_module, "FEW_MATCHES", 1)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    first = keys_of(ids, search(engine, q="東京"))
    assert first == QUERIES["東京"] and len(first) > 1
    event.listen(engine, "before_cursor_execute", count)
    try:
        again = keys_of(ids, search(engine, q="東京"))
        walked = len(statements)
        statements.clear()
        other = keys_of(ids, search(engine, q="交通"))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert again == first
    assert other == QUERIES["交通"]
    assert len(statements) == walked + 1, "a text not noted asks the text index first"
    # An expired note is no note: the text index is asked again.
    search_module.COMMON_TEXTS.clear()
    monkeypatch.setattr(search_module.COMMON_TEXTS, "seconds", -1.0)
    assert keys_of(ids, search(engine, q="東京")) == first  # noted, already expired
    statements.clear()
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert keys_of(ids, search(engine, q="東京")) == first
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == walked + 1
