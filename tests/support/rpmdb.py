"""Writes a real ``rpmdb.sqlite`` (the schema rpm 4.16+ creates) from package records.

Header blobs follow rpm's on-disk layout (``lib/header.c``): entry count, data length,
16-byte index entries, data store; strings NUL-terminated, INT32 aligned to 4.
"""

from __future__ import annotations

import shutil
import sqlite3
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

STRING, INT32, I18NSTRING = 6, 4, 9
TAGS = {"name": 1000, "version": 1001, "release": 1002, "epoch": 1003, "arch": 1022, "sourcerpm": 1044, "vendor": 1011, "summary": 1004}


def header_blob(fields: dict[str, str | int]) -> bytes:
    entries: list[tuple[int, int, int, int]] = []
    data = bytearray()
    for key, value in sorted(fields.items(), key=lambda kv: TAGS[kv[0]]):
        tag = TAGS[key]
        if isinstance(value, int):
            while len(data) % 4:
                data.append(0)
            entries.append((tag, INT32, len(data), 1))
            data += struct.pack(">i", value)
        else:
            kind = I18NSTRING if key == "summary" else STRING
            entries.append((tag, kind, len(data), 1))
            data += value.encode() + b"\0"
    blob = struct.pack(">ii", len(entries), len(data))
    for entry in entries:
        blob += struct.pack(">iIiI", *entry)
    return blob + bytes(data)


def rpmdb_sqlite(packages: list[dict[str, str | int]]) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rpmdb.sqlite"
        connection = sqlite3.connect(path)
        connection.executescript(
            "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);"
            "CREATE TABLE Name (key TEXT NOT NULL, hnum INTEGER NOT NULL, idx INTEGER NOT NULL, PRIMARY KEY(key, hnum, idx)) WITHOUT ROWID;"
        )
        for package in packages:
            connection.execute("INSERT INTO Packages (blob) VALUES (?)", (header_blob(package),))
        connection.commit()
        connection.close()
        return path.read_bytes()


def rpmdb_berkeley(packages: list[dict[str, str | int]], page_size: int = 4096, big_endian: bool = False) -> bytes:
    """A real Berkeley DB hash ``Packages`` file as rpm 4.14 (RHEL 8) writes it, made by
    libdb's own ``db5.3_load`` (Debian package db5.3-util): key 0 holds the next instance
    number, keys 1.. the header blobs, native uint32 keys."""
    order = ">" if big_endian else "<"
    records = [(struct.pack(order + "I", 0), struct.pack(order + "I", len(packages) + 1))]
    records += [(struct.pack(order + "I", n), header_blob(p)) for n, p in enumerate(packages, 1)]
    text = "".join(f"{_escape(key)}\n{_escape(value)}\n" for key, value in records)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "Packages"
        options = ["-c", f"db_pagesize={page_size}", "-c", f"db_lorder={4321 if big_endian else 1234}"]
        subprocess.run([db_load_binary(), "-T", "-t", "hash", *options, str(path)],
                       input=text.encode(), check=True, capture_output=True)
        return path.read_bytes()


def db_load_binary() -> str:
    found = shutil.which("db5.3_load") or shutil.which("db_load")
    if found is None:
        raise RuntimeError("db5.3_load is missing: apt-get install db5.3-util")
    return found


def _escape(data: bytes) -> str:
    """db_load -T text: printable bytes as themselves, backslash doubled, others as \\xx."""
    return "".join(chr(b) if 0x20 <= b < 0x7F and b != 0x5C else ("\\\\" if b == 0x5C else f"\\{b:02x}") for b in data)


def rpmdb_ndb(packages: list[dict[str, str | int]], slot_pages: int = 1, free_slots: tuple[int, ...] = ()) -> bytes:
    """An NDB ``Packages.db`` as SUSE's rpm writes it (lib/backend/ndb/rpmpkg.c: header, slot
    pages, blobs with head, zero padding and Adler-32 tail; little-endian). Simulated: no tool
    on this machine writes NDB (Debian's rpm is built without that backend), so the layout
    follows rpm's writer. ``free_slots`` are slot numbers left empty, as after an erase."""
    slots_per_page = 4096 // 16
    first_block = slot_pages * 4096 // 16
    slots = bytearray()
    blobs = bytearray()
    slot_numbers = [n for n in range(2, slot_pages * slots_per_page) if n not in free_slots]
    if len(packages) > len(slot_numbers):
        raise ValueError("not enough slots for the packages")
    by_slot: dict[int, tuple[int, int, int]] = {}
    for index, (package, slot) in enumerate(zip(packages, slot_numbers, strict=False), 1):
        blob = header_blob(package)
        blocks = -(-(16 + len(blob) + 12) // 16)
        head = b"BlbS" + struct.pack("<III", index, 1_700_000_000, len(blob))
        padding = bytes(blocks * 16 - (16 + len(blob) + 12))
        checksum = zlib.adler32(head + blob + padding)
        by_slot[slot] = (index, first_block + len(blobs) // 16, blocks)
        blobs += head + blob + padding + struct.pack("<II", checksum, len(blob)) + b"BlbE"
    for slot in range(2, slot_pages * slots_per_page):
        index, block, blocks = by_slot.get(slot, (0, 0, 0))
        slots += b"Slot" + struct.pack("<III", index, block, blocks)
    header = b"RpmP" + struct.pack("<IIII", 0, 7, slot_pages, len(packages) + 1) + bytes(12)
    return header + bytes(slots) + bytes(blobs)
