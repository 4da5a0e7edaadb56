"""Signed download URLs: bound to the licence, the revision, the buyer and a few minutes."""

import pytest

from market.delivery import urls

KEY = urls.url_key(b"\x11" * 32)


def test_a_token_opens_for_its_buyer_until_it_expires() -> None:
    token = urls.sign(KEY, licence_id="lic1", revision=2, buyer_id="buyer1", expires=1_000)
    assert urls.open_token([KEY], token, buyer_id="buyer1", now=999) == urls.Granted("lic1", 2)
    with pytest.raises(urls.DownloadLinkExpired):
        urls.open_token([KEY], token, buyer_id="buyer1", now=1_000)


def test_another_buyer_or_an_altered_token_is_refused() -> None:
    token = urls.sign(KEY, licence_id="lic1", revision=2, buyer_id="buyer1", expires=1_000)
    with pytest.raises(urls.DownloadLinkRefused):
        urls.open_token([KEY], token, buyer_id="buyer2", now=0)
    licence, revision, expires, signature = token.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    for altered in (
        f"lic2.{revision}.{expires}.{signature}",
        f"{licence}.1.{expires}.{signature}",
        f"{licence}.3.{expires}.{signature}",
        f"{licence}.0.{expires}.{signature}",
        f"{licence}.{revision}.{int(expires) + 600}.{signature}",
        f"{licence}.{revision}.{expires}.{flipped}",
        f"{licence}.{expires}.{signature}",
        f"{licence}.{revision}.{expires}",
        "",
    ):
        with pytest.raises(urls.DownloadLinkRefused):
            urls.open_token([KEY], altered, buyer_id="buyer1", now=0)


def test_a_token_signed_before_a_key_rotation_still_opens() -> None:
    new = urls.url_key(b"\x22" * 32)
    token = urls.sign(KEY, licence_id="lic1", revision=1, buyer_id="b", expires=10)
    assert urls.open_token([new, KEY], token, buyer_id="b", now=0).licence_id == "lic1"
    with pytest.raises(urls.DownloadLinkRefused):
        urls.open_token([new], token, buyer_id="b", now=0)
