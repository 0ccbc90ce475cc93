"""Time zones of a schedule: IANA names (``Europe/Paris``) and v1's Windows names.

v1's ``TimeZone`` enum used Windows time-zone ids (``"W. Europe Standard Time"``)
and member names (``WEuropeStandardTime``); both map to the IANA zone the
Unicode CLDR table gives for the id. Anything else is looked up with
:mod:`zoneinfo`; an unknown name is an error that suggests close ones.
"""

from __future__ import annotations

import difflib
import re
from datetime import timezone, tzinfo
from typing import Any

from jupyter_amlpipe.errors import DefinitionError

__all__ = ["WINDOWS_ZONES", "resolve_time_zone"]

# Windows id -> IANA zone (CLDR windowsZones.xml, territory "001"): the common ones.
WINDOWS_ZONES: dict[str, str] = {
    "Dateline Standard Time": "Etc/GMT+12",
    "UTC-11": "Etc/GMT+11",
    "Hawaiian Standard Time": "Pacific/Honolulu",
    "Alaskan Standard Time": "America/Anchorage",
    "Pacific Standard Time": "America/Los_Angeles",
    "Pacific Standard Time (Mexico)": "America/Tijuana",
    "US Mountain Standard Time": "America/Phoenix",
    "Mountain Standard Time": "America/Denver",
    "Central America Standard Time": "America/Guatemala",
    "Central Standard Time": "America/Chicago",
    "Central Standard Time (Mexico)": "America/Mexico_City",
    "Canada Central Standard Time": "America/Regina",
    "SA Pacific Standard Time": "America/Bogota",
    "Eastern Standard Time": "America/New_York",
    "US Eastern Standard Time": "America/Indiana/Indianapolis",
    "Venezuela Standard Time": "America/Caracas",
    "Atlantic Standard Time": "America/Halifax",
    "SA Western Standard Time": "America/La_Paz",
    "Pacific SA Standard Time": "America/Santiago",
    "Newfoundland Standard Time": "America/St_Johns",
    "E. South America Standard Time": "America/Sao_Paulo",
    "Argentina Standard Time": "America/Argentina/Buenos_Aires",
    "UTC-02": "Etc/GMT+2",
    "Azores Standard Time": "Atlantic/Azores",
    "Cape Verde Standard Time": "Atlantic/Cape_Verde",
    "UTC": "UTC",
    "GMT Standard Time": "Europe/London",
    "Greenwich Standard Time": "Atlantic/Reykjavik",
    "W. Europe Standard Time": "Europe/Berlin",
    "Central Europe Standard Time": "Europe/Budapest",
    "Romance Standard Time": "Europe/Paris",
    "Central European Standard Time": "Europe/Warsaw",
    "W. Central Africa Standard Time": "Africa/Lagos",
    "GTB Standard Time": "Europe/Bucharest",
    "Middle East Standard Time": "Asia/Beirut",
    "Egypt Standard Time": "Africa/Cairo",
    "South Africa Standard Time": "Africa/Johannesburg",
    "FLE Standard Time": "Europe/Helsinki",
    "Israel Standard Time": "Asia/Jerusalem",
    "Turkey Standard Time": "Europe/Istanbul",
    "Arab Standard Time": "Asia/Riyadh",
    "Russian Standard Time": "Europe/Moscow",
    "E. Africa Standard Time": "Africa/Nairobi",
    "Iran Standard Time": "Asia/Tehran",
    "Arabian Standard Time": "Asia/Dubai",
    "Afghanistan Standard Time": "Asia/Kabul",
    "Pakistan Standard Time": "Asia/Karachi",
    "India Standard Time": "Asia/Kolkata",
    "Sri Lanka Standard Time": "Asia/Colombo",
    "Nepal Standard Time": "Asia/Kathmandu",
    "Bangladesh Standard Time": "Asia/Dhaka",
    "Myanmar Standard Time": "Asia/Yangon",
    "SE Asia Standard Time": "Asia/Bangkok",
    "China Standard Time": "Asia/Shanghai",
    "Singapore Standard Time": "Asia/Singapore",
    "Taipei Standard Time": "Asia/Taipei",
    "W. Australia Standard Time": "Australia/Perth",
    "Tokyo Standard Time": "Asia/Tokyo",
    "Korea Standard Time": "Asia/Seoul",
    "Cen. Australia Standard Time": "Australia/Adelaide",
    "AUS Central Standard Time": "Australia/Darwin",
    "E. Australia Standard Time": "Australia/Brisbane",
    "AUS Eastern Standard Time": "Australia/Sydney",
    "West Pacific Standard Time": "Pacific/Port_Moresby",
    "Tasmania Standard Time": "Australia/Hobart",
    "New Zealand Standard Time": "Pacific/Auckland",
    "Fiji Standard Time": "Pacific/Fiji",
    "UTC+12": "Etc/GMT-12",
    "Tonga Standard Time": "Pacific/Tongatapu",
    "Samoa Standard Time": "Pacific/Apia",
    "Line Islands Standard Time": "Pacific/Kiritimati",
}
_UTC_NAMES = {"utc", "utctimezone", "coordinateduniversaltime", "gmt", "z", "etcutc"}


def _key(name: str) -> str:
    """v1's enum member names are the Windows ids without punctuation: ``WEuropeStandardTime``, ``UTC11``."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


_BY_KEY = {_key(windows): iana for windows, iana in WINDOWS_ZONES.items()}


def resolve_time_zone(name: Any) -> tzinfo:
    """The tzinfo of an IANA or Windows name (or a v1 ``TimeZone`` member); UTC for None or ''."""
    name = getattr(name, "value", name)  # a v1-style enum member
    if not name or _key(str(name)) in _UTC_NAMES:
        return timezone.utc
    text = str(name)
    iana = _BY_KEY.get(_key(text), text)
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(iana)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise DefinitionError(f"time_zone {text!r} is not known.{_suggest(text)}", time_zone=text) from exc


def _suggest(text: str) -> str:
    from zoneinfo import available_timezones

    known = sorted(WINDOWS_ZONES) + sorted(available_timezones())
    by_lower = {k.lower(): k for k in known}
    close = difflib.get_close_matches(text.lower(), list(by_lower), n=3, cutoff=0.6)
    if not close:  # "Paris" -> "Europe/Paris": match the last part of IANA names too
        tails = {k.rsplit("/", 1)[-1].lower(): k for k in known if "/" in k}
        close = [tails[c] for c in difflib.get_close_matches(text.lower(), list(tails), n=3, cutoff=0.75)]
        close = [c.lower() for c in close]
    if close:
        return " Did you mean " + " or ".join(repr(by_lower[c]) for c in close) + "?"
    return " Use an IANA name such as 'Europe/Paris' or a Windows name such as 'Pacific Standard Time'."
