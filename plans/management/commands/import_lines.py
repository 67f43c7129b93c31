from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from plans.lines import lines_import_csv, read_line_csv


class Command(BaseCommand):
    help = "Import unowned eSIM lines from a CSV file (msisdn, iccid, eid, smdp_address, matching_id)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, file: Path, **options: Any) -> None:
        try:
            handle = file.open(newline="", encoding="utf-8-sig")
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}") from exc
        with handle:
            try:
                report = lines_import_csv(rows=read_line_csv(handle))
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from exc
        for row_number, reason in report.errors:
            self.stderr.write(f"row {row_number}: {reason}")
        summary = (
            f"{report.created} created, {report.updated} updated, {report.unchanged} unchanged, "
            f"{len(report.errors)} rejected"
        )
        self.stdout.write(self.style.SUCCESS(summary) if not report.errors else self.style.WARNING(summary))
        if report.errors:
            raise CommandError(f"{len(report.errors)} row(s) rejected; the other rows were imported.", returncode=1)
