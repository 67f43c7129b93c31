import os
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from plans.lines import lines_import_csv, read_line_csv


def operator_language(given: str = "") -> str:
    """The language to report in: ``--language``, else the shell's locale (LANGUAGE, LC_ALL,
    LC_MESSAGES, LANG: ``zh_CN.UTF-8`` reads as Chinese), else English."""
    wanted = [given] if given else [os.environ.get(name, "") for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")]
    for value in wanted:
        code = value.split(":")[0].split(".")[0].replace("_", "-").lower()
        if code in ("", "c", "posix"):
            continue
        try:
            return translation.get_supported_language_variant("zh-hans" if code.startswith("zh") else code)
        except LookupError:
            continue
    return "en"


class Command(BaseCommand):
    help = "Import unowned eSIM lines from a CSV file (msisdn, iccid, eid, smdp_address, matching_id)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="Check every row and report; save nothing.")
        parser.add_argument(
            "--language",
            choices=[code for code, _name in settings.LANGUAGES],
            default="",
            help="The language of the report (default: from the shell's locale, else English).",
        )

    def handle(self, *args: Any, file: Path, dry_run: bool = False, language: str = "", **options: Any) -> None:
        with translation.override(operator_language(language)):
            self._import(file, dry_run=dry_run)

    def _import(self, file: Path, *, dry_run: bool) -> None:
        try:
            handle = file.open(newline="", encoding="utf-8-sig")
        except OSError as exc:
            raise CommandError(_("Cannot read %(file)s: %(error)s") % {"file": file, "error": exc.strerror}) from exc
        with handle:
            try:
                report = lines_import_csv(rows=read_line_csv(handle), dry_run=dry_run)
            except UnicodeDecodeError as exc:
                raise CommandError(_("This file is not UTF-8 text.")) from exc
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from exc
        for row_number, reason in report.errors:
            self.stderr.write(_("row %(row)d: %(reason)s") % {"row": row_number, "reason": reason})
        summary = report.summary()
        if dry_run:
            summary = _("Dry run, nothing saved: %(summary)s") % {"summary": summary}
        self.stdout.write(self.style.SUCCESS(summary) if not report.errors else self.style.WARNING(summary))
        if report.errors:
            count = report.rejected
            if dry_run:
                message = ngettext("%(count)d row would be rejected.", "%(count)d rows would be rejected.", count)
            else:
                message = ngettext(
                    "%(count)d row rejected; the other rows were imported.",
                    "%(count)d rows rejected; the other rows were imported.",
                    count,
                )
            raise CommandError(message % {"count": count}, returncode=1)
