import pytest

from market.encryption import Encryptor
from market.errors import DatasetCorrupted
from market.storage import EncryptedFolderStore

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
