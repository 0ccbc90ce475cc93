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
from enum import Enum
from typing import Any

from jupyter_amlpipe.errors import DefinitionError

__all__ = ["WINDOWS_ZONES", "TimeZone", "resolve_time_zone"]

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
    # the rest of v1's TimeZone members
    "Aleutian Standard Time": "America/Adak",
    "Marquesas Standard Time": "Pacific/Marquesas",
    "UTC-09": "Etc/GMT+9",
    "UTC-08": "Etc/GMT+8",
    "Mountain Standard Time (Mexico)": "America/Mazatlan",
    "Easter Island Standard Time": "Pacific/Easter",
    "Eastern Standard Time (Mexico)": "America/Cancun",
    "Haiti Standard Time": "America/Port-au-Prince",
    "Cuba Standard Time": "America/Havana",
    "Paraguay Standard Time": "America/Asuncion",
    "Central Brazilian Standard Time": "America/Cuiaba",
    "Turks And Caicos Standard Time": "America/Grand_Turk",
    "Tocantins Standard Time": "America/Araguaina",
    "SA Eastern Standard Time": "America/Cayenne",
    "Greenland Standard Time": "America/Nuuk",
    "Montevideo Standard Time": "America/Montevideo",
    "Saint Pierre Standard Time": "America/Miquelon",
    "Bahia Standard Time": "America/Bahia",
    "Mid-Atlantic Standard Time": "Etc/GMT+2",
    "Morocco Standard Time": "Africa/Casablanca",
    "Namibia Standard Time": "Africa/Windhoek",
    "Jordan Standard Time": "Asia/Amman",
    "Syria Standard Time": "Asia/Damascus",
    "West Bank Standard Time": "Asia/Hebron",
    "E. Europe Standard Time": "Europe/Chisinau",
    "Kaliningrad Standard Time": "Europe/Kaliningrad",
    "Libya Standard Time": "Africa/Tripoli",
    "Arabic Standard Time": "Asia/Baghdad",
    "Belarus Standard Time": "Europe/Minsk",
    "Astrakhan Standard Time": "Europe/Astrakhan",
    "Azerbaijan Standard Time": "Asia/Baku",
    "Russia Time Zone 3": "Europe/Samara",
    "Mauritius Standard Time": "Indian/Mauritius",
    "Georgian Standard Time": "Asia/Tbilisi",
    "Caucasus Standard Time": "Asia/Yerevan",
    "West Asia Standard Time": "Asia/Tashkent",
    "Ekaterinburg Standard Time": "Asia/Yekaterinburg",
    "Central Asia Standard Time": "Asia/Bishkek",
    "N. Central Asia Standard Time": "Asia/Novosibirsk",
    "Altai Standard Time": "Asia/Barnaul",
    "W. Mongolia Standard Time": "Asia/Hovd",
    "North Asia Standard Time": "Asia/Krasnoyarsk",
    "Tomsk Standard Time": "Asia/Tomsk",
    "North Asia East Standard Time": "Asia/Irkutsk",
    "Ulaanbaatar Standard Time": "Asia/Ulaanbaatar",
    "North Korea Standard Time": "Asia/Pyongyang",
    "Aus Central W. Standard Time": "Australia/Eucla",
    "Transbaikal Standard Time": "Asia/Chita",
    "Yakutsk Standard Time": "Asia/Yakutsk",
    "Vladivostok Standard Time": "Asia/Vladivostok",
    "Lord Howe Standard Time": "Australia/Lord_Howe",
    "Bougainville Standard Time": "Pacific/Bougainville",
    "Russia Time Zone 10": "Asia/Srednekolymsk",
    "Magadan Standard Time": "Asia/Magadan",
    "Norfolk Standard Time": "Pacific/Norfolk",
    "Sakhalin Standard Time": "Asia/Sakhalin",
    "Central Pacific Standard Time": "Pacific/Guadalcanal",
    "Russia Time Zone 11": "Asia/Kamchatka",
    "Kamchatka Standard Time": "Asia/Kamchatka",
    "Chatham Islands Standard Time": "Pacific/Chatham",
}
_UTC_NAMES = {"utc", "utctimezone", "coordinateduniversaltime", "gmt", "z", "etcutc"}


def _key(name: str) -> str:
    """v1's enum member names are the Windows ids without punctuation: ``WEuropeStandardTime``, ``UTC11``."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


_BY_KEY = {_key(windows): iana for windows, iana in WINDOWS_ZONES.items()}


class _WindowsZone(str, Enum):
    """A member's value is its Windows id; ``str()`` of a member is that id, as v1 sent it to the service."""

    def __str__(self) -> str:
        return str(self.value)


def member_name(windows: str) -> str:
    """v1's member name of a Windows id: its letters and digits (``"UTC-11"`` -> ``UTC11``)."""
    return re.sub(r"[^A-Za-z0-9]", "", windows)


# v1's ``azureml.pipeline.core.schedule.TimeZone``: ``TimeZone.WEuropeStandardTime.value == "W. Europe Standard Time"``.
# Built from the table above, so every member resolves (its IANA zone is ``WINDOWS_ZONES[member.value]``).
TimeZone: Any = _WindowsZone(  # type: ignore[call-overload]
    "TimeZone", [(member_name(w), w) for w in WINDOWS_ZONES], module=__name__, qualname="TimeZone"
)


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
