"""Encryption at rest: format 2 (chunked AES-GCM with a key id), format 1 still read, rotation."""

import io
import os

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given, settings
from hypothesis import strategies as st

from market.encryption import HEADER, TAG_BYTES, Encryptor, key_id_of
from market.errors import DatasetCorrupted
from market.storage import EncryptedFolderStore, rotate_master_key

PLAINTEXT = b"sensor_id,value\nS001,42\n" * 20


@pytest.fixture
def store(tmp_path) -> EncryptedFolderStore:  # type: ignore[no-untyped-def]
    return EncryptedFolderStore(tmp_path, Encryptor(bytes(range(32))))


def test_stored_file_holds_none_of_the_plaintext(store: EncryptedFolderStore) -> None:
    store.put("abc123", PLAINTEXT)
    on_disk = store.path_of("abc123").read_bytes()
    assert b"S001" not in on_disk and b"sensor_id" not in on_disk
    assert store.get("abc123") == PLAINTEXT


@pytest.mark.parametrize("position", [0, 8, 20, -1])
def test_flipping_one_byte_makes_decryption_fail(
    store: EncryptedFolderStore, position: int
) -> None:
    store.put("abc123", PLAINTEXT)
    path = store.path_of("abc123")
    blob = bytearray(path.read_bytes())
    blob[position] ^= 0x01
    path.write_bytes(bytes(blob))
    with pytest.raises(DatasetCorrupted, match="abc123"):
        store.get("abc123")


def test_a_blob_moved_to_another_id_does_not_open(store: EncryptedFolderStore) -> None:
    store.put("first", PLAINTEXT)
    store.path_of("second").write_bytes(store.path_of("first").read_bytes())
    with pytest.raises(DatasetCorrupted):
        store.get("second")


def test_another_master_key_cannot_open(tmp_path) -> None:  # type: ignore[no-untyped-def]
    EncryptedFolderStore(tmp_path, Encryptor(b"\x01" * 32)).put("x1", PLAINTEXT)
    with pytest.raises(DatasetCorrupted):
        EncryptedFolderStore(tmp_path, Encryptor(b"\x02" * 32)).get("x1")


OLD_KEY, NEW_KEY = b"\x0a" * 32, b"\x0b" * 32
CHUNK = 64


def small_chunks(tmp_path, key: bytes = OLD_KEY, previous=()) -> EncryptedFolderStore:  # type: ignore[no-untyped-def]
    return EncryptedFolderStore(tmp_path, Encryptor(key, previous, chunk_bytes=CHUNK))


def chunks_of(path) -> tuple[bytes, list[bytes]]:  # type: ignore[no-untyped-def]
    blob = path.read_bytes()
    body = blob[HEADER.size :]
    step = CHUNK + TAG_BYTES
    return blob[: HEADER.size], [body[i : i + step] for i in range(0, len(body), step)]


def sealed_v1(master: bytes, object_id: str, plaintext: bytes) -> bytes:
    """A blob as the first version of the store wrote it (one GCM message, no key id)."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=object_id.encode())
    nonce = os.urandom(12)
    sealed = AESGCM(hkdf.derive(master)).encrypt(nonce, plaintext, object_id.encode())
    return b"DMENC1" + nonce + sealed


@settings(max_examples=60, deadline=None)
@given(
    pieces=st.lists(st.binary(max_size=3 * CHUNK), max_size=6),
)
def test_any_split_of_the_input_round_trips(tmp_path_factory, pieces: list[bytes]) -> None:  # type: ignore[no-untyped-def]
    store = small_chunks(tmp_path_factory.mktemp("s"))
    store.put("p1", iter(pieces))
    assert store.get("p1") == b"".join(pieces)
    streamed = list(store.stream("p1"))
    assert b"".join(streamed) == b"".join(pieces)
    assert all(len(chunk) == CHUNK for chunk in streamed[:-1])


def test_a_file_is_stored_and_read_back_as_a_stream_of_chunks(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = small_chunks(tmp_path / "objects")
    source = tmp_path / "big.csv"
    source.write_bytes(PLAINTEXT * 10)
    with source.open("rb") as handle:
        store.put("f1", handle)
    streamed = list(store.stream("f1"))
    assert len(streamed) == -(-len(PLAINTEXT * 10) // CHUNK)
    assert b"".join(streamed) == PLAINTEXT * 10


def test_the_header_names_the_key_that_sealed_the_blob(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = small_chunks(tmp_path)
    store.put("k1", PLAINTEXT)
    header, _ = chunks_of(store.path_of("k1"))
    assert header.startswith(b"DMENC2")
    assert store.sealed_key_id("k1") == key_id_of(OLD_KEY) == store.encryptor.key_id
    assert key_id_of(OLD_KEY) != key_id_of(NEW_KEY)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda c: [c[1], c[0], *c[2:]], id="two chunks swapped"),
        pytest.param(lambda c: c[:-1], id="last chunk dropped"),
        pytest.param(lambda c: c[:2], id="cut at a chunk boundary"),
        pytest.param(lambda c: [*c, c[0]], id="a chunk appended"),
        pytest.param(lambda c: [c[0], *c[2:]], id="a middle chunk dropped"),
        pytest.param(lambda c: [*c[:-1], c[-1][:-1]], id="last byte cut"),
    ],
)
def test_reordered_or_truncated_chunks_fail(tmp_path, tamper) -> None:  # type: ignore[no-untyped-def]
    store = small_chunks(tmp_path)
    store.put("t1", PLAINTEXT)
    path = store.path_of("t1")
    header, chunks = chunks_of(path)
    assert len(chunks) > 3
    path.write_bytes(header + b"".join(tamper(chunks)))
    with pytest.raises(DatasetCorrupted, match="t1"):
        store.get("t1")
    with pytest.raises(DatasetCorrupted):
        list(store.stream("t1"))


def test_an_empty_object_round_trips_and_cannot_be_emptied_further(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = small_chunks(tmp_path)
    store.put("e1", b"")
    assert store.get("e1") == b""
    path = store.path_of("e1")
    path.write_bytes(path.read_bytes()[: HEADER.size])
    with pytest.raises(DatasetCorrupted):
        store.get("e1")


def test_the_old_format_is_still_read(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = small_chunks(tmp_path)
    store.path_of("v1").write_bytes(sealed_v1(OLD_KEY, "v1", PLAINTEXT))
    assert store.sealed_key_id("v1") is None
    assert store.get("v1") == PLAINTEXT
    assert b"".join(store.stream("v1")) == PLAINTEXT


def test_rotation_re_encrypts_everything_under_the_new_key(tmp_path) -> None:  # type: ignore[no-untyped-def]
    old = small_chunks(tmp_path)
    old.put("a1", PLAINTEXT)
    old.put("a2", b"x" * 1000)
    old.path_of("a3").write_bytes(sealed_v1(OLD_KEY, "a3", PLAINTEXT))
    during = small_chunks(tmp_path, NEW_KEY, previous=[OLD_KEY])
    during.put("b1", PLAINTEXT)  # written during the rotation: already under the new key
    reading = during.stream("a1")  # a reader that started before the rotation
    first = next(reading)

    rotation = rotate_master_key(during)

    assert (rotation.resealed, rotation.current, rotation.failed) == (3, 1, [])
    assert first + b"".join(reading) == PLAINTEXT
    new_only = small_chunks(tmp_path, NEW_KEY)
    assert {o.object_id: new_only.get(o.object_id) for o in new_only.objects()} == {
        "a1": PLAINTEXT,
        "a2": b"x" * 1000,
        "a3": PLAINTEXT,
        "b1": PLAINTEXT,
    }
    assert {new_only.sealed_key_id(o.object_id) for o in new_only.objects()} == {key_id_of(NEW_KEY)}
    assert rotate_master_key(during).resealed == 0
    with pytest.raises(DatasetCorrupted, match="DATAMARKET_PREVIOUS_MASTER_KEYS"):
        small_chunks(tmp_path, OLD_KEY).get("a1")


def test_rotation_reports_a_blob_no_key_opens_and_leaves_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    small_chunks(tmp_path, b"\x0c" * 32).put("lost", PLAINTEXT)
    before = (tmp_path / "lost.bin").read_bytes()
    rotation = rotate_master_key(small_chunks(tmp_path, NEW_KEY, previous=[OLD_KEY]))
    assert rotation.failed == ["lost"]
    assert (tmp_path / "lost.bin").read_bytes() == before


def test_store_folder_and_blobs_are_owner_only(tmp_path) -> None:  # type: ignore[no-untyped-def]
    loose = tmp_path / "objects"
    loose.mkdir(mode=0o755)
    loose.chmod(0o755)
    store = small_chunks(loose)
    store.put("o1", io.BytesIO(PLAINTEXT))
    assert loose.stat().st_mode & 0o777 == 0o700
    assert store.path_of("o1").stat().st_mode & 0o777 == 0o600
    assert list(store.temporaries()) == []
