"""CRM import speed: ``kb import accounts`` on a large HubSpot export.

Run: ``python bench/crm_import.py [--accounts 50000] [--contacts-per 3] [--dir DIR]``. Writes a
companies export and a contacts export (3 contacts per company by default) into a new project,
then times, each as the real command in a fresh process:

1. the first import (every account file created);
2. a re-import with nothing changed (every file read, none written);
3. a re-import after 1 % of the companies were renamed and one contact each replaced (those
   files edited through the comment-keeping round trip, the rest only read).

Prints wall time, rows per second and peak memory (the child's max RSS) for each.
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORDS = [
    "Harbor",
    "Summit",
    "Cedar",
    "Granite",
    "Pioneer",
    "Lakeside",
    "Copper",
    "Meridian",
    "Northwind",
    "Silver",
    "Aspen",
    "Falcon",
    "Redwood",
    "Beacon",
    "Prairie",
    "Atlas",
    "Keystone",
    "Orchard",
    "Riverbend",
    "Evergreen",
    "Ironwood",
    "Bluewater",
]
KINDS = [
    "Foods",
    "Logistics",
    "Dental",
    "Solar",
    "Vineyards",
    "Water",
    "Schools",
    "Clinics",
    "Labs",
    "Hotels",
    "Retail",
]
INDUSTRIES = [
    "Food & Beverages",
    "Transportation",
    "Health Care",
    "Renewables",
    "Wine",
    "Utilities",
]
FIRST = [
    "Ana",
    "Ben",
    "Chloe",
    "Dev",
    "Elif",
    "Farid",
    "Grace",
    "Hugo",
    "Iris",
    "Jonas",
    "Kira",
    "Liam",
    "Mei",
    "Nora",
    "Omar",
    "Priya",
]
LAST = [
    "Alvarez",
    "Brooks",
    "Chen",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ito",
    "Jensen",
    "Kowalski",
]
OWNERS = [f"{f} {last}" for f in FIRST[:6] for last in LAST[:4]]


def company_rows(count: int, renamed: set[int]) -> list[list[str]]:
    rng = random.Random(7)
    rows = []
    for n in range(count):
        name = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {rng.choice(KINDS)} {n}"
        if n in renamed:
            name += " Holdings"
        domain = f"company{n}.example"
        rows.append(
            [str(9_000_000 + n), name, rng.choice(OWNERS), rng.choice(INDUSTRIES), domain, ""]
        )
    return rows


def contact_rows(count: int, per: int, renamed: set[int]) -> list[list[str]]:
    rng = random.Random(11)
    rows = []
    for n in range(count):
        for k in range(per):
            serial = n * per + k
            if n in renamed and k == 0:
                serial += 10_000_000  # the old contact left, a new one came
            first, last = rng.choice(FIRST), rng.choice(LAST)
            email = f"{first.lower()}.{last.lower()}.{serial}@company{n}.example"
            rows.append([str(serial), first, last, email, "Director", str(9_000_000 + n)])
    return rows


def write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(header)
        out.writerows(rows)


def run(project: Path, companies: Path, contacts: Path) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from generator.cli import main; main()",
            "--project",
            str(project),
            "import",
            "accounts",
            str(companies),
            "--contacts",
            str(contacts),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - start
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    return seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--contacts-per", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="kb-crm-bench-"))
    project = root / "project"
    (project / "content" / "accounts").mkdir(parents=True, exist_ok=True)
    (project / "feeds").mkdir(exist_ok=True)
    company_header = [
        "Record ID",
        "Company name",
        "Company owner",
        "Industry",
        "Company Domain Name",
        "Website URL",
    ]
    contact_header = [
        "Record ID",
        "First Name",
        "Last Name",
        "Email",
        "Job Title",
        "Associated Company IDs",
    ]
    renamed = set(random.Random(3).sample(range(args.accounts), args.accounts // 100))
    stages = [
        ("first import", set()),
        ("re-import, nothing changed", set()),
        ("re-import, 1 % renamed", renamed),
    ]
    contacts_total = args.accounts * args.contacts_per
    print(f"{args.accounts:,} companies, {contacts_total:,} contacts, in {root}")
    print(f"{'stage':<30} {'seconds':>8} {'rows/s':>9} {'peak MB':>8}")
    for label, changed in stages:
        companies, contacts = root / "companies.csv", root / "contacts.csv"
        write(companies, company_header, company_rows(args.accounts, changed))
        write(contacts, contact_header, contact_rows(args.accounts, args.contacts_per, changed))
        seconds, peak = run(project, companies, contacts)
        rate = (args.accounts + contacts_total) / seconds
        print(f"{label:<30} {seconds:>8.1f} {rate:>9,.0f} {peak:>8.0f}")


if __name__ == "__main__":
    main()
