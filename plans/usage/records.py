"""Checking the records the mobile network sends, without the database: what a good record is
(``UsageIn``), why a bad one was rejected (``RecordError``), and what became of a batch
(``IngestReport``). Whether a record's line exists and whether its id was seen before are found
when the records are applied (``plans.usage.apply``)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import phonenumbers
from django.conf import settings

MAX_BATCH = 5000
MAX_ID_LENGTH = 64  # UsageRecord.record_id
# A record may be stamped a little ahead of our clock; further ahead is a clock the network must fix.
FUTURE_TOLERANCE = timedelta(minutes=5)
# Far beyond any real record, and far below the columns' limits once summed over a day's batches
# (DailyUsage.sms is a 32-bit integer).
MAX_AMOUNT = {"data": 10**13, "voice": 10**8, "sms": 10**4}

# ISO 3166-1 alpha-2, every code assigned, plus XK (Kosovo), which roaming partners report.
COUNTRIES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
    BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
    EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
    HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
    LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
    NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
    TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW
    """.split()  # noqa: SIM905 (a table reads better than 250 quoted strings)
)

_EARLIEST = datetime.min.replace(tzinfo=UTC) + timedelta(days=1)
_LATEST = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_ICCID = re.compile(r"[0-9]{19,20}")


@dataclass(slots=True)
class UsageIn:
    """A record that passed the checks. Its line is named by ``msisdn`` (E.164) or ``iccid``.

    Not frozen, though nothing changes one: thousands are made a batch, and a frozen dataclass
    takes four times as long to make. A UsageBatch stores it as a list (``BATCH_FIELDS``)."""

    index: int
    record_id: str
    msisdn: str | None
    iccid: str | None
    kind: str
    amount: int
    country: str
    at: datetime  # in UTC


@dataclass(frozen=True, slots=True)
class RecordError:
    """Why the record at ``index`` of the batch was rejected: the first field found wrong."""

    index: int
    id: str | int | None
    field: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "index": self.index, "field": self.field, "reason": self.reason}


@dataclass
class IngestReport:
    """What became of a batch: each record is accepted, a duplicate or rejected."""

    accepted: int = 0
    duplicate: int = 0
    errors: list[RecordError] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.errors)

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "duplicate": self.duplicate,
            "rejected": self.rejected,
            "errors": [error.as_dict() for error in self.errors],
        }


class BatchTooLarge(ValueError):
    pass


# --- Checking -------------------------------------------------------------------------------


class _Bad(Exception):
    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason


def usage_records_check(
    *, records: Sequence[Mapping[str, Any]], now: datetime
) -> tuple[list[UsageIn], list[RecordError]]:
    """Split ``records`` (as the network sends them) into good ones and errors, without the database.

    Whether the line exists and whether the id was seen before is for ``usage_ingest`` to find.
    """
    latest = now + FUTURE_TOLERANCE
    good: list[UsageIn] = []
    errors: list[RecordError] = []
    msisdns: dict[str, str] = {}  # as sent -> E.164, parsed once per batch
    for index, record in enumerate(records):
        try:
            good.append(_record_check(index, record, latest, msisdns))
        except _Bad as bad:
            raw_id = record.get("id")
            shown_id = raw_id if isinstance(raw_id, str | int) and not isinstance(raw_id, bool) else None
            errors.append(RecordError(index=index, id=shown_id, field=bad.field, reason=bad.reason))
    return good, errors


def _record_check(index: int, record: Mapping[str, Any], latest: datetime, msisdns: dict[str, str]) -> UsageIn:
    record_id = _id_check(record.get("id"))
    msisdn, iccid = record.get("msisdn") or None, record.get("iccid") or None
    if msisdn is not None and iccid is not None:
        raise _Bad("msisdn", "give msisdn or iccid, not both")
    if msisdn is None and iccid is None:
        raise _Bad("msisdn", "msisdn or iccid is required")
    if msisdn is not None:
        sent = msisdn
        msisdn = msisdns.get(sent) if isinstance(sent, str) else None
        if msisdn is None:
            msisdn = msisdns[sent] = _msisdn_check(sent)
    elif not isinstance(iccid, str) or not _ICCID.fullmatch(iccid):
        raise _Bad("iccid", "iccid must be 19 or 20 digits")
    kind = record.get("kind")
    if not isinstance(kind, str) or kind not in MAX_AMOUNT:
        raise _Bad("kind", "kind must be data, voice or sms")
    amount = record.get("amount")
    if amount is None:
        raise _Bad("amount", "amount is missing")
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise _Bad("amount", "amount must be a whole number")
    if amount < 0:
        raise _Bad("amount", "amount must not be negative")
    if amount > MAX_AMOUNT[kind]:
        raise _Bad("amount", f"amount must not exceed {MAX_AMOUNT[kind]} for {kind}")
    country = record.get("country")
    if not isinstance(country, str) or not country.isascii() or (country := country.upper()) not in COUNTRIES:
        raise _Bad("country", "unknown country (ISO 3166 alpha-2 expected)")
    at = _at_check(record.get("at"), latest)
    return UsageIn(index, record_id, msisdn, iccid, kind, amount, country, at)


def _id_check(raw: object) -> str:
    if raw is None or raw == "":
        raise _Bad("id", "id is missing")
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str):
        raise _Bad("id", "id must be a string")
    if len(raw) > MAX_ID_LENGTH:
        raise _Bad("id", f"id is longer than {MAX_ID_LENGTH} characters")
    if not raw.isprintable():
        raise _Bad("id", "id must be printable text")
    return raw


def _msisdn_check(raw: object) -> str:
    if not isinstance(raw, str):
        raise _Bad("msisdn", "msisdn must be a string")
    if _E164.fullmatch(raw):
        return raw
    try:
        number = phonenumbers.parse(raw, settings.PHONENUMBER_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise _Bad("msisdn", "msisdn is not a phone number") from None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _at_check(raw: object, latest: datetime) -> datetime:
    if raw is None or raw == "":
        raise _Bad("at", "time is missing")
    if not isinstance(raw, str):
        raise _Bad("at", "time must be an ISO 8601 string")
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        raise _Bad("at", "time is not ISO 8601") from None
    if at.tzinfo is None or at.utcoffset() is None:
        raise _Bad("at", "time needs a UTC offset")
    try:
        at = at.astimezone(UTC)
    except OverflowError:
        raise _Bad("at", "time is out of range") from None
    # Its day (plans.models.usage_day) must exist too: a day either side of datetime's range is
    # beyond any zone's offset. (A comparison: converting each record to the zone costs more.)
    if not _EARLIEST <= at <= _LATEST:
        raise _Bad("at", "time is out of range")
    if at > latest:
        raise _Bad("at", "time is more than 5 minutes ahead")
    return at
