"""Compile `matching` with mypyc into `matching._native` (run: python -m matching._build).

The sources are copied into a staging package named `matching._native` so that the compiled
build and the interpreted modules can be imported side by side (the tests run both).
"""

import hashlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
# Exceptions stay interpreted (mypyc cannot subclass AssertionError) and are shared.
SKIP = {"__init__.py", "_build.py", "errors.py"}


def build(verbose: bool = False) -> list[Path]:
    """Compile every module of the package; return the extension files written."""
    from mypyc.build import mypycify
    from setuptools import setup

    sources = sorted(p for p in PACKAGE.glob("*.py") if p.name not in SKIP)
    with tempfile.TemporaryDirectory(prefix="matching-mypyc-") as staging:
        root = Path(staging)
        target = root / "matching" / "_native"
        target.mkdir(parents=True)
        (root / "matching" / "__init__.py").write_text("")
        shutil.copy(PACKAGE / "errors.py", root / "matching" / "errors.py")
        (target / "__init__.py").write_text("")
        for source in sources:
            shutil.copy(source, target / source.name)
        # A stamp of the sources lets tests refuse a stale compiled build.
        (target / "build_stamp.py").write_text(f'SOURCE_DIGEST = "{source_digest()}"\n')
        paths = [f"matching/_native/{p.name}" for p in sources] + [
            "matching/_native/build_stamp.py"
        ]
        previous = Path.cwd()
        os.chdir(root)
        try:
            setup(
                name="matching-native",
                ext_modules=mypycify(paths, group_name="matching._native", opt_level="3"),
                script_args=["build_ext", "--inplace"] + ([] if verbose else ["--quiet"]),
            )
        finally:
            os.chdir(previous)
        written = []
        for built in sorted(root.rglob("*.so")) + sorted(root.rglob("*.pyd")):
            if "build" in built.relative_to(root).parts[:1]:
                continue
            destination = PACKAGE.parent / built.relative_to(root)
            destination.parent.mkdir(parents=True, exist_ok=True)
            # Copy beside, then rename over: a process that has the old extension loaded keeps
            # its (unlinked) file, where copying onto it would change the code under its feet.
            staged = destination.with_name(destination.name + ".new")
            shutil.copy(built, staged)
            os.replace(staged, destination)
            written.append(destination)
    return written


def source_digest() -> str:
    """SHA-256 over the sources the compiled build is made from."""
    digest = hashlib.sha256()
    for path in sorted(p for p in PACKAGE.glob("*.py") if p.name not in SKIP):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def clean() -> None:
    """Remove the compiled build so `matching` falls back to the interpreted modules."""
    for path in list(PACKAGE.glob("_native/*.so")) + list(PACKAGE.glob("_native__mypyc*.so")):
        path.unlink()


if __name__ == "__main__":
    if "--clean" in sys.argv:
        clean()
    else:
        for path in build(verbose="--verbose" in sys.argv):
            print(path.relative_to(PACKAGE.parent))
        sys.stdout.flush()
        # The in-process mypyc compiler can crash while the interpreter tears down after a
        # complete build; every file is written by now, so skip the teardown.
        os._exit(0)
