"""Backups: the database and the encrypted storage in one archive, taken while the market runs.

The archive is a tar file:

    datamarket-backup/database.sealed    the database (SQLite online backup, or pg_dump's custom
                                         format), sealed under the master key like any blob
    datamarket-backup/objects/<id>.bin   the stored objects, copied as they are (still sealed)
    datamarket-backup/manifest.json      kind of database, schema revision, key ids, SHA-256 of
                                         every member (ids, sizes and hashes; no personal data)

Nothing in the archive is readable without the master key, which is never put in it: keep the
key (and, during a rotation, the previous one) apart from the backups.

The database is copied first, then the objects. Every writer stores its blob before it commits
the row naming it, and a blob is removed only when no row names it, so each object the copied
database names is in the archive; objects stored after the database copy come along as orphans,
which the sweep removes after a restore.
"""

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import create_engine, inspect, make_url, text

from market.encryption import read_pieces
from market.errors import MarketError
from market.storage import SUFFIX, EncryptedFolderStore

FORMAT = "datamarket-backup/1"
ROOT = "datamarket-backup"
DATABASE_OBJECT = "backup-database"
MANIFEST = f"{ROOT}/manifest.json"
DATABASE_MEMBER = f"{ROOT}/database.sealed"


class BackupFailed(MarketError):
    """A backup or a restore could not be completed (a restore refused by its checks wrote nothing)."""

    status = 500
    title = "Backup or restore failed"


@dataclass(frozen=True)
class BackupSummary:
    archive: Path
    database: str
    objects: int
    size_bytes: int


@dataclass(frozen=True)
class RestoreSummary:
    database: str
    objects: int
    revision: str | None


def create_backup(
    *, database_url: str, store: EncryptedFolderStore, archive: Path
) -> BackupSummary:
    """Write one archive of the database and the stored objects (the market may keep serving)."""
    kind = _kind(database_url)
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_name(f".{archive.name}.partial")
    objects = 0
    with tempfile.TemporaryDirectory(prefix="datamarket-backup-") as work:
        dump = Path(work) / "database"
        if kind == "sqlite":
            _sqlite_copy(_sqlite_path(database_url), dump)
        else:
            _pg_dump(database_url, dump)
        revision = _revision(database_url)
        sealed = Path(work) / "database.sealed"
        with dump.open("rb") as plain, _owner_only(sealed) as out:
            for piece in store.encryptor.seal_stream(DATABASE_OBJECT, read_pieces(plain)):
                out.write(piece)
        dump.unlink()
        members: dict[str, dict[str, Any]] = {}
        key_ids: set[str] = {store.encryptor.key_id}
        try:
            with _owner_only(partial) as raw, tarfile.open(fileobj=raw, mode="w") as tar:
                with sealed.open("rb") as handle:
                    members[DATABASE_MEMBER] = _add(tar, DATABASE_MEMBER, handle)
                for stored in store.objects():
                    try:
                        handle = stored.path.open("rb")
                    except FileNotFoundError:
                        continue  # removed since the listing: an orphan or a failed write
                    with handle:
                        try:
                            sealed_by = store.encryptor.sealed_key_id(
                                stored.object_id, handle.read(64)
                            )
                            key_ids.add(sealed_by or "format-1")
                        except MarketError:
                            pass  # damaged: copied as it is, `storage verify` names it
                        handle.seek(0)
                        name = f"{ROOT}/objects/{stored.object_id}{SUFFIX}"
                        members[name] = _add(tar, name, handle)
                    objects += 1
                manifest = {
                    "format": FORMAT,
                    "created_at": datetime.now(UTC).isoformat(),
                    "database": kind,
                    "revision": revision,
                    "key_ids": sorted(key_ids),
                    "members": members,
                }
                body = json.dumps(manifest, indent=2, sort_keys=True).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mode, info.mtime = (
                    len(body),
                    0o600,
                    int(datetime.now(UTC).timestamp()),
                )
                tar.addfile(info, _BytesReader(body))
            os.replace(partial, archive)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    return BackupSummary(archive, kind, objects, archive.stat().st_size)


def restore_backup(
    *, archive: Path, database_url: str, store: EncryptedFolderStore
) -> RestoreSummary:
    """Restore an archive into an empty database and an empty object folder.

    Every member is checked against the manifest, and the configured keys against the key ids
    that sealed the archive, before anything is written.
    """
    kind = _kind(database_url)
    try:
        return _restore(archive, kind, database_url, store)
    except (tarfile.TarError, EOFError, ValueError) as exc:
        raise BackupFailed(
            f"{archive} is not a readable datamarket backup ({type(exc).__name__})"
        ) from None


def _restore(
    archive: Path, kind: str, database_url: str, store: EncryptedFolderStore
) -> RestoreSummary:
    with tarfile.open(archive, mode="r:") as tar:
        manifest = _manifest(tar)
        if manifest["database"] != kind:
            raise BackupFailed(
                f"the archive holds a {manifest['database']} database; restore it into "
                f"{manifest['database']} (DATAMARKET_DATABASE_URL), not {kind}"
            )
        missing = set(manifest["key_ids"]) - store.encryptor.key_ids - {"format-1"}
        if missing:
            raise BackupFailed(
                f"the archive was sealed under master key(s) {', '.join(sorted(missing))}, "
                "which are not configured: set DATAMARKET_MASTER_KEY (or add the key to "
                "DATAMARKET_PREVIOUS_MASTER_KEYS)"
            )
        _require_empty(database_url, store)
        for name, expected in manifest["members"].items():
            _check_member(tar, name, expected)
        with tempfile.TemporaryDirectory(prefix="datamarket-restore-") as work:
            dump = Path(work) / "database"
            sealed = tar.extractfile(DATABASE_MEMBER)
            if sealed is None:
                raise BackupFailed("the archive has no database")
            with _owner_only(dump) as out:
                for piece in store.encryptor.open_stream(DATABASE_OBJECT, sealed):  # type: ignore[arg-type]
                    out.write(piece)
            if kind == "sqlite":
                _sqlite_restore(dump, _sqlite_path(database_url))
            else:
                _pg_restore(database_url, dump)
        objects = 0
        prefix = f"{ROOT}/objects/"
        for name in manifest["members"]:
            if not name.startswith(prefix):
                continue
            object_id = name.removeprefix(prefix).removesuffix(SUFFIX)
            source = tar.extractfile(name)
            if source is None:
                raise BackupFailed(f"archive member {name} is not a file")
            target = store.path_of(object_id)
            with _owner_only(target) as out:
                shutil.copyfileobj(source, out, 1024 * 1024)
            objects += 1
    return RestoreSummary(kind, objects, manifest.get("revision"))


def _manifest(tar: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = tar.extractfile(MANIFEST)
    except KeyError:
        member = None
    if member is None:
        raise BackupFailed("not a datamarket backup: the archive has no manifest")
    manifest: dict[str, Any] = json.loads(member.read())
    if manifest.get("format") != FORMAT:
        raise BackupFailed(f"unknown backup format {manifest.get('format')!r}; expected {FORMAT}")
    for name in manifest["members"]:
        if name != DATABASE_MEMBER and not (
            name.startswith(f"{ROOT}/objects/") and name.endswith(SUFFIX) and name.count("/") == 2
        ):
            raise BackupFailed(f"unexpected archive member {name!r}")
    return manifest


def _check_member(tar: tarfile.TarFile, name: str, expected: dict[str, Any]) -> None:
    try:
        handle = tar.extractfile(name)
    except KeyError:
        handle = None
    if handle is None:
        raise BackupFailed(f"archive member {name} is missing; the archive is incomplete")
    digest = hashlib.sha256()
    size = 0
    while piece := handle.read(1024 * 1024):
        digest.update(piece)
        size += len(piece)
    if size != expected["size"] or digest.hexdigest() != expected["sha256"]:
        raise BackupFailed(f"archive member {name} does not match its manifest (damaged archive)")


def _add(tar: tarfile.TarFile, name: str, handle: IO[bytes]) -> dict[str, Any]:
    """Add an open file to the archive as it is now; its size and SHA-256."""
    size = os.fstat(handle.fileno()).st_size
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o600, int(datetime.now(UTC).timestamp())
    reader = _HashingReader(handle)
    tar.addfile(info, reader)
    return {"size": size, "sha256": reader.digest.hexdigest()}


class _HashingReader:
    """A file-like reader that hashes what passes through it."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self.digest.update(data)
        return data


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._offset = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size < 0 else self._offset + size
        chunk = bytes(self._data[self._offset : end])
        self._offset += len(chunk)
        return chunk


@contextmanager
def _owner_only(path: Path) -> Iterator[IO[bytes]]:
    """A new file only its owner can read (0600), for writing."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())


def _kind(database_url: str) -> str:
    backend = make_url(database_url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupFailed(f"backups support SQLite and PostgreSQL, not {backend}")
    return backend


def _sqlite_path(database_url: str) -> Path:
    path = make_url(database_url).database
    if not path or path == ":memory:":
        raise BackupFailed("an in-memory SQLite database cannot be backed up or restored")
    return Path(path)


def _sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy through SQLite's online backup API, while writers carry on."""
    if not source.exists():
        raise BackupFailed(f"the database {source} does not exist")
    src = sqlite3.connect(source)
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst)
    finally:
        dst.close()
        src.close()


def _sqlite_restore(dump: Path, target: Path) -> None:
    from market.db import create_owner_only

    create_owner_only(target)
    src = sqlite3.connect(dump)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst)
    finally:
        dst.close()
        src.close()


def _pg_environment(database_url: str) -> dict[str, str]:
    """libpq's variables for a URL: the password never appears on a command line."""
    url = make_url(database_url)
    env = {**os.environ}
    for name, value in (
        ("PGHOST", url.host),
        ("PGPORT", url.port),
        ("PGUSER", url.username),
        ("PGPASSWORD", url.password),
        ("PGDATABASE", url.database),
    ):
        if value is not None:
            env[name] = str(value)
    return env


def _run(arguments: list[str], database_url: str) -> None:
    try:
        done = subprocess.run(  # noqa: S603  (fixed program, arguments built here)
            arguments,
            env=_pg_environment(database_url),
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        raise BackupFailed(
            f"{arguments[0]} is not installed; install the PostgreSQL client tools"
        ) from None
    if done.returncode != 0:
        # pg_dump's messages name objects, not row values, so they are safe to show.
        raise BackupFailed(f"{arguments[0]} failed: {done.stderr.strip()[-2000:]}")


def _pg_dump(database_url: str, target: Path) -> None:
    _run(
        ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={target}"],
        database_url,
    )


def _pg_restore(database_url: str, dump: Path) -> None:
    database = make_url(database_url).database or ""
    _run(
        [
            "pg_restore",
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={database}",
            str(dump),
        ],
        database_url,
    )


def _revision(database_url: str) -> str | None:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return None
            revision = connection.execute(text("SELECT version_num FROM alembic_version"))
            return str(revision.scalar_one())
    finally:
        engine.dispose()


def _require_empty(database_url: str, store: EncryptedFolderStore) -> None:
    """Refuse to restore over data: the database must have no tables, the store no objects."""
    if any(True for _ in store.objects()):
        raise BackupFailed(
            f"the object folder {store.root} is not empty; restore into a new data directory"
        )
    if _kind(database_url) == "sqlite":
        path = _sqlite_path(database_url)
        if not path.exists() or path.stat().st_size == 0:
            return
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            tables = inspect(connection).get_table_names()
    finally:
        engine.dispose()
    if tables:
        raise BackupFailed(
            "the database already has tables; restore into a new, empty database "
            "(create it first on PostgreSQL)"
        )
