#!/usr/bin/env python3
"""Fills a database with 30 days of plausible past activity, for looking at the report.

    SNPD_DATABASE_URL=postgres://… scripts/demo-history.py [--days 30] [--seed 3]

Writes rows straight into the schema (past days cannot be produced through the daemon,
which refuses slots in the past): professionals of the Vannes demo territory if the
database has none, slots in office hours, requests with bookings, expiries,
cancellations and outcomes. Then run `snpd report --day D` for each day to build the
history (scripts/demo-report does both). Demo data only: never on a real database.
"""
import argparse, datetime as dt, os, random, subprocess, sys
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")

def luhn_digit(prefix):
    for d in range(10):
        s, digits = 0, [int(c) for c in prefix + str(d)]
        for i, x in enumerate(reversed(digits)):
            if i % 2 == 1:
                x *= 2
                x = x - 9 if x > 9 else x
            s += x
        if s % 10 == 0:
            return str(d)

def q(s):
    return "NULL" if s is None else "'" + str(s).replace("'", "''") + "'"

def ts(d):
    return "NULL" if d is None else q(d.astimezone(dt.timezone.utc).isoformat())

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--seed", type=int, default=3)
    a = ap.parse_args()
    url = os.environ.get("SNPD_DATABASE_URL")
    if not url:
        sys.exit("demo-history: set SNPD_DATABASE_URL")
    rnd = random.Random(a.seed)
    towns = [("Vannes", 47.6582, -2.7608, "CPTS-VANNES"), ("Séné", 47.6197, -2.7372, "CPTS-VANNES"),
             ("Saint-Avé", 47.6889, -2.7350, "CPTS-VANNES"), ("Theix-Noyalo", 47.6258, -2.6600, "CPTS-VANNES"),
             ("Elven", 47.7322, -2.5894, "CPTS-VANNES"), ("Muzillac", 47.5542, -2.4811, "CPTS-ARC-SUD")]
    first = ["Anne", "Yann", "Gwenaëlle", "Erwan", "Maëlle", "Loïc", "Soizic", "Tanguy", "Nolwenn", "Ronan"]
    last = ["Le Goff", "Le Bihan", "Guillou", "Jégo", "Le Gall", "Tanguy", "Kerhervé", "Le Roux", "Morvan", "Quéré"]
    sql = ["BEGIN;"]
    existing = subprocess.run(["psql", url, "-Atc", "SELECT rpps, profession, lat, lon FROM professionals"],
                              capture_output=True, text=True, check=True).stdout.split()
    pros = [tuple(l.split("|")) for l in existing]
    if not pros:
        for i in range(36):
            town = towns[i % len(towns)]
            prof = ["gp", "gp", "kine", "nurse"][i % 4]
            prefix = "10" + f"{90000000 + i:08d}"
            rpps = prefix + luhn_digit(prefix)
            lat, lon = town[1] + rnd.uniform(-0.01, 0.01), town[2] + rnd.uniform(-0.01, 0.01)
            name = ("Dr " if prof == "gp" else "") + f"{rnd.choice(first)} {rnd.choice(last)}"
            sql.append(f"INSERT INTO professionals VALUES ({q(rpps)}, {q(prof)}, {q(name)}, {lat}, {lon}, NULL, 20, {q(town[3])}, true, now());")
            pros.append((rpps, prof, str(lat), str(lon)))
    slot_id = int(subprocess.run(["psql", url, "-Atc", "SELECT coalesce(max(id), 0) FROM slots"], capture_output=True, text=True, check=True).stdout) + 1000
    req_id = int(subprocess.run(["psql", url, "-Atc", "SELECT coalesce(max(id), 0) FROM requests"], capture_output=True, text=True, check=True).stdout) + 1000
    today = dt.datetime.now(PARIS).date()
    taken = set()
    for back in range(a.days, 0, -1):
        day = today - dt.timedelta(days=back)
        if day.weekday() == 6:
            continue
        hours = range(8, 12) if day.weekday() == 5 else range(8, 20)
        # Supply improves over the month: the trend chart has something to say.
        supply = 0.55 + 0.4 * (a.days - back) / a.days
        open_slots = []
        for rpps, prof, lat, lon in pros:
            for _ in range(rnd.randint(0, 3)):
                if rnd.random() > supply:
                    continue
                start = dt.datetime.combine(day, dt.time(rnd.choice(list(hours)), rnd.choice([0, 30])), PARIS)
                end = start + dt.timedelta(minutes=20)
                if (rpps, start) in taken:
                    continue
                taken.add((rpps, start))
                mode = "home" if prof == "nurse" else "office"
                sql.append(f"INSERT INTO slots VALUES ({slot_id}, {q(rpps)}, {q(prof)}, {ts(start)}, {ts(end)}, {q(mode)}, 1, NULL, {ts(start - dt.timedelta(hours=20))}, NULL);")
                open_slots.append([slot_id, rpps, start, prof, mode, float(lat), float(lon)])
                slot_id += 1
        for _ in range(rnd.randint(25, 45)):
            prof = rnd.choices(["gp", "kine", "nurse"], [6, 2, 2])[0]
            town = rnd.choice(towns)
            created = dt.datetime.combine(day, dt.time(rnd.randint(7, 19), rnd.randint(0, 59)), PARIS)
            lat, lon = town[1] + rnd.uniform(-0.02, 0.02), town[2] + rnd.uniform(-0.02, 0.02)
            prio = rnd.choices([1, 2, 3], [2, 6, 2])[0]
            deadline = created + dt.timedelta(hours=48)
            candidates = [s for s in open_slots if s[3] == prof and created + dt.timedelta(minutes=15) <= s[2] <= deadline]
            state, slot, booked_at, closed, reason = "expired", None, None, deadline, None
            roll = rnd.random()
            if roll < 0.06:
                state, closed, reason = "cancelled", created + dt.timedelta(minutes=rnd.randint(5, 120)), "regulator"
            elif candidates:
                slot = rnd.choice(candidates)
                open_slots.remove(slot)
                booked_at = created + dt.timedelta(seconds=rnd.choice([0, 0, 0, 40, 600, 5400]))
                state = rnd.choices(["honored", "noshow", "cancelled"], [90, 6, 4])[0]
                closed = slot[2] + dt.timedelta(minutes=30)
            elif rnd.random() < 0.25:
                # Booked later than 48 h (a regulator who accepted a later slot).
                state, booked_at = "honored", created + dt.timedelta(hours=2)
                later = (created + dt.timedelta(hours=rnd.randint(49, 60))).replace(minute=0)
                owner = rnd.choice([p for p in pros if p[1] == prof])[0]
                if (owner, later) in taken:
                    continue
                taken.add((owner, later))
                slot = [slot_id, owner, later, prof, "office", lat, lon]
                sql.append(f"INSERT INTO slots VALUES ({slot_id}, {q(slot[1])}, {q(prof)}, {ts(later)}, {ts(later + dt.timedelta(minutes=20))}, 'office', 1, NULL, {ts(created)}, NULL);")
                slot_id += 1
                closed = later + dt.timedelta(minutes=30)
            cols = "id, ref, owner, profession, priority, modes, lat, lon, within_s, created_at, deadline, state, slot_id, pro, slot_start, slot_end, slot_mode, distance_km, cost, matched_at, booked_at, reason, closed_at, updated_at"
            if slot:
                km = ((slot[5] - lat) ** 2 + ((slot[6] - lon) * 0.67) ** 2) ** 0.5 * 111.2
                vals = f"{req_id}, {q(f'DEMO-{req_id}')}, 'regulateur-demo', {q(prof)}, {prio}, 'office,home', {lat}, {lon}, 172800, {ts(created)}, {ts(deadline)}, {q(state)}, {slot[0]}, {q(slot[1])}, {ts(slot[2])}, {ts(slot[2] + dt.timedelta(minutes=20))}, {q(slot[4])}, {km:.3f}, 1.0, {ts(booked_at)}, {ts(booked_at)}, {q(reason)}, {ts(closed)}, {ts(closed)}"
            else:
                vals = f"{req_id}, {q(f'DEMO-{req_id}')}, 'regulateur-demo', {q(prof)}, {prio}, 'office,home', {lat}, {lon}, 172800, {ts(created)}, {ts(deadline)}, {q(state)}, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, {q(reason)}, {ts(closed)}, {ts(closed)}"
            sql.append(f"INSERT INTO requests ({cols}) VALUES ({vals});")
            req_id += 1
    sql.append("COMMIT;")
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", url], input="\n".join(sql), text=True, check=True)
    print(f"demo-history: {a.days} days written", file=sys.stderr)

if __name__ == "__main__":
    main()
