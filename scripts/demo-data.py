#!/usr/bin/env python3
"""Load a demo territory into a running snpd over the line protocol.

A CPTS around Vannes (Morbihan, 56), plus a few professionals of a neighbouring
CPTS-ARC-SUD: 40 professionals (GPs, kinés, nurses) placed in real communes weighted by
population, and their volunteer slots over the next 48 hours in office hours
(Europe/Paris), plus a few weekly plans (SPEC §3.10) and two GPs with extra capacity. Professionals and their RPPS numbers are deterministic for a given
--seed; slot times follow the clock.

    scripts/demo-data.py --host 127.0.0.1 --port 7441 --token TOKEN [--seed 7]
    scripts/demo-data.py --dry-run [--now 2026-11-23T07:00:00+01:00]   # print, send nothing

Commands are pipelined; every reply must begin with OK. An ERR reply is printed to
standard error with the command that caused it, and the script exits 1 at the end.
Standard library only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import socket
import sys
import threading
from dataclasses import dataclass
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
UTC = dt.timezone.utc

# Communes: (name, latitude, longitude, approximate population, territory).
# Coordinates are the town centres (approximate); jitter keeps pros near the centre.
COMMUNES = [
    ("Vannes", 47.6559, -2.7603, 54000, "CPTS-VANNES"),
    ("Saint-Avé", 47.6886, -2.7358, 11900, "CPTS-VANNES"),
    ("Séné", 47.6197, -2.7369, 9200, "CPTS-VANNES"),
    ("Sarzeau", 47.5278, -2.7683, 8400, "CPTS-VANNES"),
    ("Theix-Noyalo", 47.6292, -2.6578, 8300, "CPTS-VANNES"),
    ("Questembert", 47.6614, -2.4522, 7900, "CPTS-VANNES"),
    ("Ploeren", 47.6575, -2.8653, 6900, "CPTS-VANNES"),
    ("Elven", 47.7325, -2.5897, 6200, "CPTS-VANNES"),
    ("Plescop", 47.6975, -2.8058, 6100, "CPTS-VANNES"),
    ("Grand-Champ", 47.7583, -2.8433, 5500, "CPTS-VANNES"),
    ("Arradon", 47.6278, -2.8228, 5500, "CPTS-VANNES"),
    ("Surzur", 47.5783, -2.6275, 4800, "CPTS-VANNES"),
    ("Baden", 47.6183, -2.9194, 4400, "CPTS-VANNES"),
    ("Saint-Nolff", 47.7033, -2.6517, 4000, "CPTS-VANNES"),
    ("Muzillac", 47.5542, -2.4806, 5300, "CPTS-ARC-SUD"),
    ("Ambon", 47.5542, -2.5567, 1900, "CPTS-ARC-SUD"),
    ("Damgan", 47.5183, -2.5783, 1700, "CPTS-ARC-SUD"),
]

# Headcount per territory and profession (40 in all: 18 GPs, 12 kinés, 10 nurses).
HEADCOUNT = {
    "CPTS-VANNES": {"gp": 16, "kine": 11, "nurse": 8},
    "CPTS-ARC-SUD": {"gp": 2, "kine": 1, "nurse": 2},
}

FIRST_NAMES = [
    "Anne", "Yann", "Maël", "Gwenaëlle", "Erwan", "Nolwenn", "Morgane", "Ronan", "Soizic",
    "Loïc", "Katell", "Gaëlle", "Marie", "Pierre", "Claire", "Julien", "Camille", "Thomas",
    "Sophie", "Nicolas", "Élodie", "Mathieu", "Laure", "Brendan", "Enora", "Goulven",
    "Hélène", "Jean-Marc", "Isabelle", "François", "Céline", "Tristan", "Annaïg", "Yannick",
    "Servane", "Gurvan", "Maëlle", "Corentin", "Armelle", "Kévin", "Aziliz", "Alain",
]
SURNAMES = [
    "Le Goff", "Le Bihan", "Le Gall", "Le Roux", "Guillou", "Le Floch", "Jaouen", "Le Corre",
    "Tanguy", "Le Guen", "Le Pape", "Morvan", "Kerbrat", "Le Moal", "Le Dantec", "Hamon",
    "Riou", "Le Bras", "Cadoret", "Le Meur", "Quéré", "Le Berre", "Caradec", "Guégan",
    "Évano", "Le Touze", "Jégo", "Le Priol", "Allanic", "Conan", "Le Ray", "Le Cam",
    "Le Gurun", "Le Texier", "Le Strat", "Danet", "Bréhier", "Le Hénanff", "Martin",
    "Lambert", "Dubois", "Moreau", "Girard", "Fontaine", "Le Sommer", "Mahéo", "Le Labourier",
]

# Postcodes of the communes, and streets for the practices' addresses (the FHIR interface
# shows them to the SAS platform: SPEC §3.6, §7.2).
POSTCODES = {
    "Vannes": "56000", "Saint-Avé": "56890", "Séné": "56860", "Sarzeau": "56370", "Theix-Noyalo": "56450",
    "Questembert": "56230", "Ploeren": "56880", "Elven": "56250", "Plescop": "56890", "Grand-Champ": "56390",
    "Arradon": "56610", "Surzur": "56450", "Baden": "56870", "Saint-Nolff": "56250", "Muzillac": "56190",
    "Ambon": "56190", "Damgan": "56750",
}
STREETS = [
    "rue de la Mairie", "place de l'Église", "rue du Port", "avenue de la Gare", "rue des Écoles",
    "rue Thiers", "boulevard de la Paix", "rue du Général de Gaulle", "allée des Chênes", "rue de Vannes",
]

# Office hours, Europe/Paris, by ISO weekday (1 = Monday): (start hour, end hour).
OFFICE_HOURS = {1: (8, 20), 2: (8, 20), 3: (8, 20), 4: (8, 20), 5: (8, 20), 6: (8, 12)}
HORIZON = dt.timedelta(hours=48)
MIN_LEAD = dt.timedelta(minutes=30)
GRID_MIN = 15  # slot starts on the quarter hour


@dataclass
class Professional:
    rpps: str
    prof: str
    name: str
    lat: float
    lon: float
    territory: str
    weekly_cap: int | None = None
    home_radius_km: int | None = None
    tele: bool = False  # a GP who also offers teleconsultation
    given: str = ""
    family: str = ""
    address: str = ""
    city: str = ""
    phone: str = ""


def luhn_check_digit(payload: str) -> str:
    """The digit that, appended to `payload`, makes the number pass the Luhn test."""
    total = 0
    # Walking from the right of the payload, the first digit is doubled (it will be
    # second from the right once the check digit is appended).
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def make_rpps(rng: random.Random, taken: set[str]) -> str:
    """An 11-digit RPPS number: '10', eight random digits, a Luhn check digit."""
    while True:
        payload = "10" + "".join(str(rng.randrange(10)) for _ in range(8))
        rpps = payload + luhn_check_digit(payload)
        if rpps not in taken:
            taken.add(rpps)
            return rpps


def quote(value: str) -> str:
    """A protocol argument value: bare if it can be, else double-quoted (§3.2)."""
    if value and not any(c in value for c in ' "\\=\t'):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def place(rng: random.Random, territory: str, count: int) -> list[tuple[str, float, float]]:
    """`count` practice locations in the territory's communes: every commune gets one
    while there are enough, the rest are drawn weighted by population."""
    communes = [c for c in COMMUNES if c[4] == territory]
    chosen = list(communes[:count])
    remaining = count - len(chosen)
    if remaining > 0:
        chosen += rng.choices(communes, weights=[c[3] for c in communes], k=remaining)
    rng.shuffle(chosen)
    spots = []
    for name, lat, lon, population, _ in chosen:
        # Jitter of about 0.5 km for a village to 1.5 km for Vannes.
        km = 0.5 if population < 10000 else 1.5
        dlat = rng.uniform(-km, km) / 111.0
        dlon = rng.uniform(-km, km) / 75.0  # one degree of longitude is ~75 km at 47.6°N
        spots.append((name, round(lat + dlat, 4), round(lon + dlon, 4)))
    return spots


def make_professionals(rng: random.Random) -> list[Professional]:
    pros: list[Professional] = []
    taken_rpps: set[str] = set()
    headcount = sum(sum(n.values()) for n in HEADCOUNT.values())
    first_names, surnames = rng.sample(FIRST_NAMES, headcount), rng.sample(SURNAMES, headcount)

    def person() -> tuple[str, str]:
        return first_names.pop(), surnames.pop()

    for territory, by_prof in HEADCOUNT.items():
        spots = place(rng, territory, sum(by_prof.values()))
        for prof, n in by_prof.items():
            for _ in range(n):
                commune, lat, lon = spots.pop()
                first, last = person()
                pros.append(
                    Professional(
                        rpps=make_rpps(rng, taken_rpps),
                        prof=prof,
                        name=f"Dr {first} {last}" if prof == "gp" else f"{first} {last}",
                        lat=lat,
                        lon=lon,
                        territory=territory,
                        home_radius_km=15 if prof == "nurse" else None,
                        given=first,
                        family=last,
                        address=f"{rng.randint(1, 60)} {rng.choice(STREETS)}",
                        city=commune,
                        phone="+332970" + f"{rng.randint(0, 99999):05d}",
                    )
                )
    # A few volunteers cap their SNP bookings at 20 a week (the SAS fee cap).
    for p in rng.sample([p for p in pros if p.prof == "gp"], 4) + rng.sample([p for p in pros if p.prof == "kine"], 1):
        p.weekly_cap = 20
    for p in rng.sample([p for p in pros if p.prof == "gp"], 4):
        p.tele = True
    return pros


def pro_command(p: Professional) -> str:
    parts = [
        "PRO PUT",
        f"id={p.rpps}",
        f"prof={p.prof}",
        f"name={quote(p.name)}",
        f"lat={p.lat:.4f}",
        f"lon={p.lon:.4f}",
    ]
    if p.home_radius_km is not None:
        parts.append(f"home_radius_km={p.home_radius_km}")
    if p.weekly_cap is not None:
        parts.append(f"weekly_cap={p.weekly_cap}")
    parts.append(f"territory={p.territory}")
    parts += [
        f"given={quote(p.given)}", f"family={quote(p.family)}", f"address={quote(p.address)}",
        f"city={quote(p.city)}", f"postcode={POSTCODES.get(p.city, '56000')}", f"phone={p.phone}",
    ]
    return " ".join(parts)


def office_windows(now: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """Office-hour windows (aware, Europe/Paris) within [now + lead, now + 48 h]."""
    earliest, latest = now + MIN_LEAD, now + HORIZON
    windows = []
    day = now.astimezone(PARIS).date()
    while day <= latest.astimezone(PARIS).date():
        hours = OFFICE_HOURS.get(day.isoweekday())
        if hours:
            open_ = dt.datetime(day.year, day.month, day.day, hours[0], tzinfo=PARIS)
            close = dt.datetime(day.year, day.month, day.day, hours[1], tzinfo=PARIS)
            # Compare in UTC: aware datetimes sharing a tzinfo compare by wall clock.
            start = max(open_.astimezone(UTC), earliest)
            end = min(close.astimezone(UTC), latest)
            if end - start >= dt.timedelta(minutes=15):
                windows.append((start, end))
        day += dt.timedelta(days=1)
    return windows


def slot_mode(rng: random.Random, p: Professional) -> str:
    if p.prof == "nurse":
        return "home" if rng.random() < 0.85 else "office"
    if p.prof == "gp" and p.tele and rng.random() < 0.4:
        return "tele"
    return "office"


def slot_minutes(rng: random.Random, prof: str) -> int:
    if prof == "gp":
        return rng.choice([15, 15, 20, 20, 30])
    if prof == "kine":
        return 30
    return rng.choice([15, 20, 30])


def make_slots(rng: random.Random, pros: list[Professional], now: dt.datetime) -> list[str]:
    """1 to 4 non-overlapping slots per professional and working day, 15 to 30 min."""
    commands = []
    windows = office_windows(now)
    doubles_left = 5  # a handful of GP slots for two patients (e.g. two doctors in the practice)
    for p in pros:
        for w_start, w_end in windows:
            # Starts on the quarter hour (Paris offsets are whole hours, so UTC minutes do).
            first = w_start.replace(second=0, microsecond=0)
            if first < w_start:
                first += dt.timedelta(minutes=1)
            first += dt.timedelta(minutes=-first.minute % GRID_MIN)
            taken: list[tuple[dt.datetime, dt.datetime]] = []
            wanted = rng.randint(1, 4)
            for _ in range(40):
                if len(taken) == wanted:
                    break
                minutes = slot_minutes(rng, p.prof)
                steps = int((w_end - first - dt.timedelta(minutes=minutes)) / dt.timedelta(minutes=GRID_MIN))
                if steps < 0:
                    continue
                start = first + dt.timedelta(minutes=GRID_MIN * rng.randint(0, steps))
                end = start + dt.timedelta(minutes=minutes)
                if any(start < e and s < end for s, e in taken):
                    continue
                taken.append((start, end))
            for start, end in sorted(taken):
                mode = slot_mode(rng, p)
                parts = [
                    "SLOT ADD",
                    f"pro={p.rpps}",
                    f"start={start.astimezone(PARIS).isoformat()}",
                    f"end={end.astimezone(PARIS).isoformat()}",
                    f"mode={mode}",
                ]
                if p.prof == "gp" and mode == "office" and doubles_left > 0 and rng.random() < 0.1:
                    parts.append("capacity=2")
                    doubles_left -= 1
                commands.append(" ".join(parts))
    return commands


def make_plans(pros: list[Professional]) -> list[str]:
    """A few weekly plans (SPEC §3.10), so that a newcomer sees them at work: three kinés of
    Grand Amiens style plannings (two afternoons a week in 30-minute slots), one nurse
    with a morning round of home visits, and two GPs who take patients beyond their slots
    (extra capacity, "surnuméraire") on weekdays. Times are Paris times; the daemon
    publishes the slots as they come within the horizon, skipping any that would overlap
    a slot above (counted, never an error)."""
    commands = []
    kines = [p for p in pros if p.prof == "kine"][:3]
    for i, p in enumerate(kines):
        days = ["tue,thu", "mon,wed", "wed,fri"][i]
        commands.append(f"PLAN ADD pro={p.rpps} days={days} from=17:00 to=19:00 length=30m")
    nurses = [p for p in pros if p.prof == "nurse"][:1]
    for p in nurses:
        commands.append(f"PLAN ADD pro={p.rpps} days=mon,tue,wed,thu,fri from=07:00 to=08:00 length=20m mode=home")
    gps = [p for p in pros if p.prof == "gp"][:2]
    for p in gps:
        commands.append(f"PLAN ADD pro={p.rpps} days=mon,tue,wed,thu,fri from=08:00 to=19:00 kind=extra capacity=2")
    return commands


def is_ok(reply: str) -> bool:
    return reply == "OK" or reply.startswith("OK ")


def send_all(host: str, port: int, token: str, commands: list[str]) -> list[tuple[str, str]]:
    """Sends AUTH, then pipelines `commands`; returns (command, reply) for every ERR."""
    with socket.create_connection((host, port), timeout=30) as sock:
        reader = sock.makefile("r", encoding="utf-8", newline="\n")

        def read_reply() -> str:
            while True:
                line = reader.readline()
                if not line:
                    raise ConnectionError("the server closed the connection")
                line = line.rstrip("\r\n")
                if not line.startswith("EVENT "):
                    return line

        sock.sendall(f"AUTH {token}\n".encode())
        reply = read_reply()
        if not is_ok(reply):
            print(f"AUTH failed: {reply}", file=sys.stderr)
            sys.exit(1)

        # Write from a thread while reading here: a writer that never reads could fill
        # both socket buffers and wait forever on a server blocked writing its replies.
        payload = "".join(c + "\n" for c in commands).encode()
        failure: list[BaseException] = []

        def write() -> None:
            try:
                sock.sendall(payload)
            except OSError as error:
                failure.append(error)

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        errors = []
        for i, command in enumerate(commands):
            try:
                reply = read_reply()
            except (OSError, ConnectionError) as error:
                print(f"no reply to command {i + 1} of {len(commands)} ({command}): {error}", file=sys.stderr)
                sys.exit(1)
            if not is_ok(reply):
                errors.append((command, reply))
        writer.join()
        if failure:
            print(f"sending failed: {failure[0]}", file=sys.stderr)
            sys.exit(1)
        sock.sendall(b"QUIT\n")
        return errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7441)
    parser.add_argument("--token", default=os.environ.get("SNPD_ADMIN_TOKEN"),
                        help="an admin or coordinator token (default: $SNPD_ADMIN_TOKEN)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dry-run", action="store_true", help="print the commands instead of sending them")
    parser.add_argument("--now", type=dt.datetime.fromisoformat,
                        help="pretend it is this time (RFC 3339 with offset); for testing")
    args = parser.parse_args()

    now = args.now or dt.datetime.now(UTC)
    if now.tzinfo is None:
        parser.error("--now needs an offset, e.g. 2026-11-23T07:00:00+01:00")
    now = now.astimezone(UTC)

    rng = random.Random(args.seed)
    pros = make_professionals(rng)
    # Slot times come from their own generator, so that the professionals of a seed do
    # not depend on the time of day.
    slots = make_slots(random.Random(args.seed * 1000003 + 1), pros, now)
    plans = make_plans(pros)
    commands = [pro_command(p) for p in pros] + slots + plans

    if args.dry_run:
        for command in commands:
            print(command)
        print(f"would load {len(pros)} professionals, {len(slots)} slots, {len(plans)} plans", file=sys.stderr)
        return

    if not args.token:
        parser.error("--token is required (or set SNPD_ADMIN_TOKEN)")
    errors = send_all(args.host, args.port, args.token, commands)
    for command, reply in errors:
        print(f"{reply}\n  <- {command}", file=sys.stderr)
    failed_pros = sum(1 for c, _ in errors if c.startswith("PRO "))
    failed_plans = sum(1 for c, _ in errors if c.startswith("PLAN "))
    failed_slots = len(errors) - failed_pros - failed_plans
    print(f"loaded {len(pros) - failed_pros} professionals, {len(slots) - failed_slots} slots, "
          f"{len(plans) - failed_plans} plans (2 GPs with extra capacity)")
    if errors:
        print(f"{len(errors)} command(s) failed", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
