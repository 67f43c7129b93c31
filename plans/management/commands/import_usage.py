"""``manage.py import_usage FILE.csv``: usage records from a file, through the same service as the API."""

from __future__ import annotations

import csv
import re
from argparse import ArgumentParser
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError

from plans.usage import MAX_BATCH, RecordError, usage_ingest

COLUMNS = ("id", "msisdn", "iccid", "kind", "amount", "country", "at")
ERRORS_SHOWN = 20
_INTEGER = re.compile(r"[-+]?[0-9]{1,30}")


def _record(row: dict[str | Any, str | Any]) -> dict[str, Any]:
    """A CSV row as the API would receive it: an integer amount where the cell holds one."""
    record: dict[str, Any] = {column: (row.get(column) or "").strip() for column in COLUMNS}
    amount = record["amount"]
    record["amount"] = int(amount) if _INTEGER.fullmatch(amount) else amount or None
    return record


def _chunks(reader: csv.DictReader[str], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in reader:
        chunk.append(_record(row))
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _plain(text: str) -> str:
    return text


class Command(BaseCommand):
    help = (
        "Apply usage records from a CSV file with the columns id, msisdn, iccid, kind, amount, country, at "
        "(msisdn or iccid may be empty). Records already applied are skipped, so a file can be run again."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--chunk-size", type=int, default=MAX_BATCH, help=f"records a transaction (most {MAX_BATCH})"
        )

    def handle(self, *args: Any, file: Path, chunk_size: int, **options: Any) -> None:
        if not 1 <= chunk_size <= MAX_BATCH:
            raise CommandError(f"--chunk-size must be between 1 and {MAX_BATCH}")
        total = self._count(file)
        accepted = duplicate = rejected = done = 0
        first_errors: list[tuple[int, RecordError]] = []
        with self._open(file) as handle:
            reader = self._reader(handle, file)
            try:
                for chunk in _chunks(reader, chunk_size):
                    report = usage_ingest(records=chunk)
                    accepted += report.accepted
                    duplicate += report.duplicate
                    rejected += report.rejected
                    # The header is row 1, so record i of the file (from 0) is row i + 2.
                    first_errors += [(done + error.index + 2, error) for error in report.errors]
                    del first_errors[ERRORS_SHOWN:]
                    done += len(chunk)
                    self.stderr.write(f"\r{done}/{total} records", style_func=_plain, ending="")
                    self.stderr.flush()
            except (UnicodeDecodeError, csv.Error) as exc:
                raise CommandError(f"{file}, near line {reader.line_num + 1}: cannot read it: {exc}") from exc
        if done:
            self.stderr.write("", style_func=_plain)
        for row_number, error in first_errors:
            shown_id = f" (id {error.id})" if error.id not in (None, "") else ""
            self.stderr.write(f"row {row_number}{shown_id}: {error.field}: {error.reason}")
        if rejected > len(first_errors):
            self.stderr.write(f"... and {rejected - len(first_errors)} more rejected rows")
        summary = f"{accepted} accepted, {duplicate} duplicate, {rejected} rejected"
        self.stdout.write(self.style.WARNING(summary) if rejected else self.style.SUCCESS(summary))
        if rejected:
            raise CommandError(f"{rejected} row(s) rejected; the other rows were applied.", returncode=1)

    def _open(self, file: Path) -> TextIO:
        try:
            return file.open(newline="", encoding="utf-8-sig")
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}") from exc

    def _reader(self, handle: TextIO, file: Path) -> csv.DictReader[str]:
        reader = csv.DictReader(handle)
        try:
            header = reader.fieldnames
        except (UnicodeDecodeError, csv.Error) as exc:
            raise CommandError(f"{file}: cannot read the header: {exc}") from exc
        if not header:
            raise CommandError(f"{file} is empty: the first row must be the header {','.join(COLUMNS)}")
        missing = [column for column in COLUMNS if column not in {name.strip() for name in header}]
        if missing:
            raise CommandError(
                f"{file}: the header lacks {', '.join(missing)}; it must name the columns {','.join(COLUMNS)}"
            )
        reader.fieldnames = [name.strip() for name in header]
        return reader

    def _count(self, file: Path) -> int:
        """The number of records, for the progress line (a first, quick pass over the file)."""
        with self._open(file) as handle:
            reader = self._reader(handle, file)
            try:
                return sum(1 for _ in reader)
            except (UnicodeDecodeError, csv.Error):
                return 0  # the real pass reports where the file goes wrong
