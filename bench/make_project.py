"""Generate a Knowledge Broker project of a given size, for the benchmarks.

    python bench/make_project.py --size S|M|L DIR [--seed 11] [--base-url http://127.0.0.1:8011]

S = 20 feeds x 50 entries, 50 accounts, 50 notes; M = 200 feeds x 50 entries, 1,000 accounts,
500 notes; L = 1,000 feeds x 50 entries, 10,000 accounts, 2,000 notes. Text is drawn from word
lists of sixteen industries (their problems, trade phrases, companies, places), so accounts,
items and notes overlap the way a real team's do: most stories matter to a few accounts of
their industry, some to accounts of several. Everything is a function of the seed.

The feeds are written as files under DIR/served/; ``feeds/feeds.yml`` points at
``BASE_URL/feedN.xml``, so serve DIR/served there (``bench/run.py`` does) before ``kb fetch``.
"""

from __future__ import annotations

import argparse
import random
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import yaml

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 16, 9, tzinfo=UTC)


@dataclass(frozen=True)
class Size:
    feeds: int
    entries: int
    accounts: int
    notes: int


SIZES = {
    "S": Size(20, 50, 50, 50),
    "M": Size(200, 50, 1_000, 500),
    "L": Size(1_000, 50, 10_000, 2_000),
}


@dataclass(frozen=True)
class Industry:
    key: str
    name: str
    topics: dict[str, list[str]]
    """topic title -> trade phrases."""
    problems: list[str]
    things: list[str]
    """Nouns of the trade, for titles and bodies."""


INDUSTRIES = [
    Industry(
        "trucking",
        "Trucking & Logistics",
        {
            "Driver recruiting & retention": [
                "driver turnover",
                "truck driver shortage",
                "CDL drivers",
                "driver pay",
                "home time",
            ],
            "Dock scheduling & detention": [
                "detention time",
                "dwell time",
                "dock appointments",
                "loading delays",
            ],
            "Freight rates & capacity": [
                "spot rates",
                "contract rates",
                "truckload capacity",
                "tender rejections",
            ],
        },
        [
            "Finding and keeping qualified truck drivers",
            "Trucks waiting hours at shipper docks",
            "Diesel bills eating into margins on lanes we already priced",
            "Insurance premiums rising every year",
            "Spot rates too low to cover our costs",
            "New drivers quitting in the first 90 days",
        ],
        ["carrier", "fleet", "trailer", "lane", "terminal", "dispatcher", "reefer", "broker"],
    ),
    Industry(
        "hospital",
        "Hospitals & Health Systems",
        {
            "Nurse staffing": [
                "travel nurses",
                "nurse turnover",
                "agency staffing",
                "nurse burnout",
                "staffing ratios",
            ],
            "Patient flow": [
                "emergency department boarding",
                "bed capacity",
                "discharge delays",
                "length of stay",
            ],
            "Revenue cycle": [
                "prior authorization",
                "claim denials",
                "payer mix",
                "coding backlog",
            ],
        },
        [
            "Too much spent on agency and travel nurses",
            "Patients boarding in the emergency department",
            "Claim denials from payers keep climbing",
            "Prior authorization delays for procedures",
            "Ransomware risk to the electronic health record",
            "Discharges stuck waiting for post-acute beds",
        ],
        ["hospital", "health system", "clinic", "ward", "payer", "surgeon", "nurse", "patient"],
    ),
    Industry(
        "food",
        "Food & Beverage Manufacturing",
        {
            "Food safety & recalls": [
                "product recall",
                "undeclared allergens",
                "listeria",
                "sanitation",
                "FSMA 204",
            ],
            "Plant operations": [
                "line downtime",
                "changeover time",
                "overall equipment effectiveness",
                "maintenance backlog",
            ],
            "Ingredient costs": [
                "commodity prices",
                "cocoa prices",
                "sugar costs",
                "packaging costs",
            ],
        },
        [
            "A recall that could shut a plant for weeks",
            "Unplanned downtime on packaging lines",
            "Ingredient costs rising faster than retail prices",
            "Traceability rules we are not ready for",
            "Second-shift staffing at the plant",
            "Energy bills for refrigeration",
        ],
        [
            "plant",
            "co-packer",
            "production line",
            "ingredient",
            "retailer",
            "brand",
            "bottler",
            "bakery",
        ],
    ),
    Industry(
        "retail",
        "Retail",
        {
            "Store operations": [
                "shrink",
                "organized retail crime",
                "self-checkout",
                "store labor",
            ],
            "E-commerce": [
                "returns",
                "last-mile delivery",
                "buy online pick up in store",
                "cart abandonment",
            ],
            "Merchandising": [
                "markdowns",
                "inventory turns",
                "private label",
                "assortment planning",
            ],
        },
        [
            "Shrink and theft eating store margins",
            "Online returns costing more than the sale",
            "Too much inventory stuck in the wrong stores",
            "Hiring enough store staff for the holidays",
            "Customers leaving for cheaper private labels",
            "Last-mile delivery costs",
        ],
        [
            "store",
            "shopper",
            "chain",
            "distribution center",
            "merchant",
            "mall",
            "outlet",
            "cashier",
        ],
    ),
    Industry(
        "bank",
        "Banking",
        {
            "Deposits & rates": [
                "deposit outflows",
                "net interest margin",
                "rate cuts",
                "certificates of deposit",
            ],
            "Fraud & compliance": [
                "check fraud",
                "anti-money laundering",
                "know your customer",
                "wire fraud",
            ],
            "Lending": [
                "commercial real estate loans",
                "loan losses",
                "credit quality",
                "small business lending",
            ],
        },
        [
            "Deposits leaving for higher-yield accounts",
            "Check and wire fraud losses",
            "Exposure to commercial real estate loans",
            "Compliance costs of anti-money laundering rules",
            "Margins squeezed as rates fall",
            "Core banking system that is hard to change",
        ],
        [
            "bank",
            "credit union",
            "branch",
            "lender",
            "regulator",
            "depositor",
            "borrower",
            "teller",
        ],
    ),
    Industry(
        "insurance",
        "Insurance",
        {
            "Claims": [
                "claims severity",
                "catastrophe losses",
                "litigation costs",
                "claims backlog",
            ],
            "Underwriting": [
                "rate filings",
                "reinsurance costs",
                "underwriting profit",
                "risk models",
            ],
            "Distribution": [
                "independent agents",
                "broker commissions",
                "policy retention",
                "digital quotes",
            ],
        },
        [
            "Catastrophe losses wiping out underwriting profit",
            "Reinsurance costs at renewal",
            "Claims taking too long to settle",
            "Agents moving business to competitors",
            "Legal system abuse driving up claims severity",
            "Old policy systems slowing new products",
        ],
        [
            "insurer",
            "carrier",
            "agent",
            "policyholder",
            "adjuster",
            "underwriter",
            "reinsurer",
            "claim",
        ],
    ),
    Industry(
        "construction",
        "Construction",
        {
            "Labor": [
                "skilled trades shortage",
                "jobsite safety",
                "apprenticeships",
                "labor costs",
            ],
            "Materials": ["steel prices", "lumber prices", "material lead times", "concrete costs"],
            "Project delivery": ["change orders", "schedule delays", "bid margins", "permitting"],
        },
        [
            "Not enough skilled trades to staff our jobs",
            "Material prices moving after we bid",
            "Projects running late and over budget",
            "Jobsite injuries and insurance claims",
            "Permits taking months",
            "Subcontractors going out of business",
        ],
        [
            "contractor",
            "jobsite",
            "crew",
            "subcontractor",
            "developer",
            "project",
            "crane",
            "foreman",
        ],
    ),
    Industry(
        "utility",
        "Energy & Utilities",
        {
            "Grid": ["grid capacity", "interconnection queue", "transmission lines", "outages"],
            "Generation": [
                "natural gas prices",
                "solar farms",
                "battery storage",
                "power purchase agreements",
            ],
            "Regulation": [
                "rate cases",
                "wildfire liability",
                "emissions rules",
                "utility commission",
            ],
        },
        [
            "Data centers asking for more power than the grid has",
            "Wildfire liability",
            "Rate cases denied by the commission",
            "Aging transmission lines",
            "Storm outages and restoration costs",
            "Connecting new solar and storage projects",
        ],
        [
            "utility",
            "grid operator",
            "substation",
            "power plant",
            "ratepayer",
            "commission",
            "lineman",
            "feeder",
        ],
    ),
    Industry(
        "telecom",
        "Telecommunications",
        {
            "Networks": ["fiber buildout", "5G coverage", "network outages", "tower leases"],
            "Customers": [
                "churn",
                "average revenue per user",
                "customer service wait times",
                "bundles",
            ],
            "Spectrum & policy": [
                "spectrum auction",
                "broadband subsidies",
                "net neutrality",
                "rural broadband",
            ],
        },
        [
            "Customers churning to cheaper plans",
            "The cost of building fiber to rural homes",
            "Network outages that make the news",
            "Call center wait times",
            "Subsidy programs ending",
            "Tower lease costs",
        ],
        [
            "carrier",
            "operator",
            "subscriber",
            "tower",
            "network",
            "provider",
            "cable company",
            "handset",
        ],
    ),
    Industry(
        "education",
        "Higher Education",
        {
            "Enrollment": [
                "enrollment decline",
                "international students",
                "tuition discounting",
                "demographic cliff",
            ],
            "Finances": [
                "budget deficits",
                "endowment returns",
                "state funding",
                "federal research grants",
            ],
            "Campus operations": [
                "deferred maintenance",
                "student housing",
                "campus safety",
                "faculty hiring",
            ],
        },
        [
            "Fewer students applying every year",
            "Budget cuts to state funding",
            "Tuition discounting eroding revenue",
            "Deferred maintenance on old buildings",
            "Federal research grants at risk",
            "Student housing shortages",
        ],
        ["university", "college", "campus", "student", "provost", "dean", "faculty", "registrar"],
    ),
    Industry(
        "pharma",
        "Pharmaceuticals",
        {
            "Pricing": [
                "drug price negotiation",
                "rebates",
                "pharmacy benefit managers",
                "biosimilars",
            ],
            "Pipeline": ["clinical trials", "FDA approval", "patent cliff", "trial enrollment"],
            "Supply": [
                "drug shortages",
                "active pharmaceutical ingredients",
                "manufacturing inspections",
                "cold storage",
            ],
        },
        [
            "Medicare price negotiation cutting revenue",
            "Patent expirations on our biggest drugs",
            "Clinical trials that cannot enroll enough patients",
            "FDA inspection findings at plants",
            "Drug shortages of generic injectables",
            "Rebates demanded by benefit managers",
        ],
        [
            "drugmaker",
            "biotech",
            "trial",
            "regulator",
            "pharmacy",
            "distributor",
            "lab",
            "molecule",
        ],
    ),
    Industry(
        "auto",
        "Automotive",
        {
            "Supply chain": [
                "chip shortage",
                "parts shortages",
                "tariffs",
                "supplier bankruptcies",
            ],
            "Electric vehicles": [
                "EV demand",
                "battery costs",
                "charging networks",
                "EV tax credits",
            ],
            "Dealers": ["dealer inventory", "auto loan rates", "used car prices", "warranty costs"],
        },
        [
            "Tariffs on imported parts",
            "Slower demand for electric vehicles",
            "Dealer lots too full",
            "Warranty and recall costs",
            "Supplier bankruptcies halting lines",
            "Auto loan rates keeping buyers away",
        ],
        [
            "automaker",
            "dealer",
            "supplier",
            "assembly plant",
            "model",
            "battery",
            "showroom",
            "recall",
        ],
    ),
    Industry(
        "agri",
        "Agriculture",
        {
            "Crops & prices": ["corn prices", "soybean exports", "crop yields", "grain storage"],
            "Inputs": ["fertilizer prices", "seed costs", "farm equipment", "crop protection"],
            "Weather & risk": ["drought", "crop insurance", "flooding", "heat stress"],
        },
        [
            "Fertilizer prices cutting into farm income",
            "Drought hurting yields",
            "Export demand for soybeans",
            "Grain storage and basis risk",
            "Farm equipment repair delays",
            "Crop insurance costs",
        ],
        ["farm", "grower", "co-op", "elevator", "acre", "harvest", "rancher", "agronomist"],
    ),
    Industry(
        "hotel",
        "Hospitality",
        {
            "Demand": [
                "occupancy rates",
                "business travel",
                "group bookings",
                "average daily rate",
            ],
            "Labor": ["housekeeping staff", "hotel wages", "union contracts", "staff turnover"],
            "Guests": ["online reviews", "loyalty programs", "booking fees", "short-term rentals"],
        },
        [
            "Business travel still below normal",
            "Housekeeping staff hard to hire",
            "Booking sites taking big commissions",
            "Short-term rentals taking our guests",
            "Union contract negotiations",
            "Renovation costs",
        ],
        ["hotel", "resort", "guest", "front desk", "franchise", "property", "booking", "casino"],
    ),
    Industry(
        "software",
        "Software & SaaS",
        {
            "Growth": [
                "net revenue retention",
                "customer acquisition cost",
                "churn",
                "pricing changes",
            ],
            "Security": ["data breach", "ransomware", "zero trust", "security audits"],
            "AI": ["generative AI", "AI agents", "GPU costs", "model costs"],
        },
        [
            "Customers cutting seats at renewal",
            "Cloud and GPU costs rising with usage",
            "Security questionnaires slowing deals",
            "Competitors bundling AI features for free",
            "Sales cycles getting longer",
            "A breach at a vendor exposing our data",
        ],
        [
            "startup",
            "vendor",
            "platform",
            "customer",
            "developer",
            "release",
            "subscription",
            "cloud",
        ],
    ),
    Industry(
        "mining",
        "Mining & Metals",
        {
            "Commodities": ["copper prices", "lithium prices", "iron ore demand", "gold prices"],
            "Operations": ["mine safety", "haul trucks", "ore grades", "water use"],
            "Permits": [
                "mining permits",
                "tailings dams",
                "community consent",
                "critical minerals",
            ],
        },
        [
            "Lithium prices collapsing",
            "Permits taking a decade",
            "Falling ore grades",
            "Water rights near our mines",
            "Haul truck tires and parts",
            "Tailings dam safety",
        ],
        ["mine", "smelter", "miner", "deposit", "pit", "refinery", "shaft", "concentrate"],
    ),
]

PLACES = [
    "Ohio",
    "Texas",
    "the Midwest",
    "California",
    "the Southeast",
    "Ontario",
    "the Gulf Coast",
    "New England",
    "the Pacific Northwest",
    "Arizona",
    "Georgia",
    "Quebec",
    "the Rockies",
    "Pennsylvania",
    "Florida",
    "Michigan",
    "Alberta",
    "Tennessee",
    "Colorado",
    "Virginia",
]
VERBS = ["climb", "fall", "stall", "double", "ease", "surge", "slip", "tighten", "jump", "drift"]
WHO = [
    "analysts",
    "a new survey",
    "regulators",
    "executives",
    "an industry group",
    "a federal report",
    "a trade association",
    "economists",
    "a consultancy",
    "state officials",
]
FIRST = [
    "Dana",
    "Marcus",
    "Priya",
    "Luis",
    "Grace",
    "Omar",
    "Ines",
    "Tom",
    "Keiko",
    "Ade",
    "Rosa",
    "Ben",
    "Mara",
    "Yusuf",
    "Lena",
    "Chris",
    "Nadia",
    "Ivan",
    "Sofia",
    "Jamal",
]
LAST = [
    "Whitfield",
    "Bell",
    "Rao",
    "Ortega",
    "Haines",
    "Kim",
    "Novak",
    "Reyes",
    "Fischer",
    "Osei",
    "Lindqvist",
    "Moreau",
    "Tanaka",
    "Byrne",
    "Costa",
    "Hughes",
    "Okafor",
    "Petrov",
    "Shah",
    "Young",
]
ROLES = [
    "VP Operations",
    "CFO",
    "Director of Procurement",
    "COO",
    "Head of Risk",
    "CIO",
    "Plant Manager",
    "Chief Nursing Officer",
    "VP Sales",
    "Controller",
]
SUFFIX = ["Group", "Partners", "Holdings", "Co.", "Industries", "Systems", "Services", "Labs"]


def _title(rng: random.Random, ind: Industry, phrase: str) -> str:
    forms = [
        f"{phrase.capitalize()} {rng.choice(VERBS)}s as {rng.choice(ind.things)}s in "
        f"{rng.choice(PLACES)} adjust",
        f"Why {phrase} matters for every {rng.choice(ind.things)} this quarter",
        f"{rng.choice(WHO).capitalize()}: {phrase} will {rng.choice(VERBS)} into next year",
        f"{rng.choice(PLACES)} {rng.choice(ind.things)}s face {phrase}",
        f"How one {rng.choice(ind.things)} cut {phrase} by a third",
    ]
    return rng.choice(forms)


def _body(rng: random.Random, ind: Industry, phrase: str, other: Industry) -> str:
    topic = rng.choice(list(ind.topics.values()))
    second = rng.choice(topic)
    cross = rng.choice(rng.choice(list(other.topics.values())))
    sentences = [
        f"{rng.choice(WHO).capitalize()} say {phrase} could {rng.choice(VERBS)} by "
        f"{rng.randint(3, 40)} percent in {rng.choice(PLACES)}.",
        f"For a {rng.choice(ind.things)}, that means {second} and tighter budgets.",
        f"Some {rng.choice(ind.things)}s point to {cross} as well.",
        f"The {rng.choice(ind.things)} at the center of the story employs "
        f"{rng.randint(40, 9000)} people.",
        f"{rng.choice(ind.problems)} remains the complaint heard most often.",
    ]
    rng.shuffle(sentences)
    return " ".join(sentences[: rng.randint(3, 5)])


def _feed_xml(rng: random.Random, index: int, entries: int) -> str:
    ind = INDUSTRIES[index % len(INDUSTRIES)]
    items = []
    for n in range(entries):
        other = rng.choice(INDUSTRIES)
        phrase = rng.choice(rng.choice(list(ind.topics.values())))
        published = NOW - timedelta(minutes=rng.randint(60, 60 * 24 * 28))
        link = f"https://news{index}.example/{ind.key}/{n}-{rng.randrange(10**6)}"
        items.append(
            f"<item><title>{escape(_title(rng, ind, phrase))}</title><link>{link}</link>"
            f"<guid>{link}</guid><pubDate>{format_datetime(published)}</pubDate>"
            f"<category>{escape(ind.name)}</category>"
            f"<description>{escape(_body(rng, ind, phrase, other))}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>{escape(ind.name)} Wire {index}</title><link>https://news{index}.example/</link>"
        "<description>generated for the benchmark</description>\n"
        + "\n".join(items)
        + "\n</channel></rss>\n"
    )


def _slug(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


def _topics() -> list[dict[str, object]]:
    return [
        {"id": _slug(f"{ind.key} {title}"), "title": f"{title} ({ind.name})", "keywords": phrases}
        for ind in INDUSTRIES
        for title, phrases in ind.topics.items()
    ]


def _account(
    rng: random.Random, n: int, reps: list[dict[str, str]]
) -> tuple[str, dict[str, object]]:
    ind = INDUSTRIES[rng.randrange(len(INDUSTRIES))]
    name = f"{rng.choice(LAST)} {rng.choice(ind.things).title()} {rng.choice(SUFFIX)} {n}"
    topic_titles = rng.sample(list(ind.topics), k=rng.randint(1, len(ind.topics)))
    phrases = [p for t in topic_titles for p in ind.topics[t]]
    people = []
    for _ in range(rng.randint(1, 3)):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        people.append(
            {
                "name": f"{first} {last}",
                "role": rng.choice(ROLES),
                "email": f"{first}.{last}{n}@customer{n}.example".lower(),
                "cares_about": rng.sample(phrases, k=min(2, len(phrases))),
            }
        )
    data: dict[str, object] = {
        "name": name,
        "industry": ind.name,
        "problems": rng.sample(ind.problems, k=rng.randint(2, 4)),
        "topics": [_slug(f"{ind.key} {t}") for t in topic_titles],
        "keywords": rng.sample(phrases, k=min(2, len(phrases))),
        "stakeholders": people,
        "rep": rng.choice(reps),
    }
    return f"{_slug(name)}", data


def _note(rng: random.Random, n: int, slugs: list[str]) -> tuple[str, str]:
    ind = rng.choice(INDUSTRIES)
    title, phrases = rng.choice(list(ind.topics.items()))
    phrase = rng.choice(phrases)
    day = (NOW - timedelta(days=rng.randint(0, 60))).date()
    head = {
        "title": f"Ask about {phrase} ({n})",
        "date": day.isoformat(),
        "topics": [_slug(f"{ind.key} {title}")],
        "kind": rng.choice(["insight", "question", "product"]) if n % 7 else "insight",
        "expires": (day + timedelta(days=180)).isoformat(),
    }
    if rng.random() < 0.3:
        head["accounts"] = rng.sample(slugs, k=min(2, len(slugs)))
    body = (
        f"**The question:** how much does {phrase} cost you each "
        f"{rng.choice(['month', 'quarter'])}?\n\n"
        f"Most {rng.choice(ind.things)}s we talk to in {rng.choice(PLACES)} say "
        f"{rng.choice(ind.problems).lower()}. {_body(rng, ind, phrase, rng.choice(INDUSTRIES))}\n"
    )
    return f"note-{n:05d}-{_slug(phrase)}", "---\n" + yaml.safe_dump(
        head, sort_keys=False
    ) + "---\n" + body


def make_project(root: Path, size: Size, base_url: str, seed: int = 11) -> None:
    rng = random.Random(seed)
    if root.exists():
        shutil.rmtree(root)
    for folder in ("served", "feeds", "content/accounts", "content/notes"):
        (root / folder).mkdir(parents=True)
    feeds = []
    for i in range(size.feeds):
        (root / "served" / f"feed{i}.xml").write_text(_feed_xml(rng, i, size.entries), "utf-8")
        ind = INDUSTRIES[i % len(INDUSTRIES)]
        feeds.append(
            {
                "name": f"feed{i}",
                "title": f"{ind.name} Wire {i}",
                "url": f"{base_url.rstrip('/')}/feed{i}.xml",
                "topics": [_slug(f"{ind.key} {t}") for t in ind.topics],
            }
        )
    (root / "feeds" / "feeds.yml").write_text(yaml.safe_dump({"feeds": feeds}, sort_keys=False))
    (root / "content" / "topics.yml").write_text(
        yaml.safe_dump({"topics": _topics()}, sort_keys=False)
    )
    reps = [
        {"name": f"{rng.choice(FIRST)} {rng.choice(LAST)}", "email": f"rep{r}@ourcompany.example"}
        for r in range(max(5, size.accounts // 20))
    ]
    slugs: list[str] = []
    for n in range(size.accounts):
        slug, data = _account(rng, n, reps)
        slugs.append(slug)
        (root / "content" / "accounts" / f"{slug}.yml").write_text(
            yaml.safe_dump(data, sort_keys=False)
        )
    for n in range(size.notes):
        slug, text = _note(rng, n, slugs)
        (root / "content" / "notes" / f"{slug}.md").write_text(text)
    (root / "kb.yml").write_text(
        f"now: {NOW.isoformat().replace('+00:00', 'Z')}\nteam: Bench Sales Insights\n"
        "fetch:\n  allow_private: [127.0.0.1]  # the bench serves the feeds on loopback\n"
        "ranking:\n  threshold: 0.35\n  max_items: 8\n"
        "digest:\n  formats: [md, html, txt, json]\n"
    )
    shutil.copy(REPO / "mkdocs.yml", root / "mkdocs.yml")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="S")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--base-url", default="http://127.0.0.1:8011")
    parser.add_argument("dir", type=Path)
    args = parser.parse_args()
    make_project(args.dir, SIZES[args.size], args.base_url, args.seed)
    size = SIZES[args.size]
    print(
        f"{args.dir}: {size.feeds} feeds x {size.entries} entries, {size.accounts} accounts, "
        f"{size.notes} notes (serve {args.dir / 'served'} at {args.base_url})"
    )


if __name__ == "__main__":
    main()
