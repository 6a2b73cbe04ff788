"""The fixed parts of the simulated retail world: cities and stores, the catalog, people's names.

Everything here is built once per simulation from the seeded random generator, so the same
seed gives the same stores, SKUs, prices and people. `streams/simulate.py` drives the stream.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from agents.rules.events import LineItem

# City code, number of stores, share of members living there. Opening hours are read in the
# program timezone, so the default cities all share the default program's zone (US Eastern).
CITIES: tuple[tuple[str, int, float], ...] = (
    ("NYC", 6, 0.34),
    ("BOS", 3, 0.16),
    ("PHL", 3, 0.15),
    ("WAS", 2, 0.13),
    ("ATL", 2, 0.12),
    ("MIA", 2, 0.10),
)
TERMINALS_PER_STORE = 4


@dataclass(frozen=True, slots=True)
class CategoryProfile:
    """How a category sells: SKU count and code, price range, how many units per line."""

    code: str
    skus: int
    low: float
    high: float
    quantity_weights: tuple[int, ...]  # weight of buying 1, 2, 3, ... units
    prices: tuple[Decimal, ...] = ()  # fixed price points (gift cards), overrides low/high


CATEGORIES: dict[str, CategoryProfile] = {
    "groceries": CategoryProfile("GRO", 240, 0.79, 24.99, (58, 24, 10, 5, 3)),
    "apparel": CategoryProfile("APP", 160, 7.99, 149.99, (88, 10, 2)),
    "electronics": CategoryProfile("ELE", 90, 9.99, 1299.99, (94, 5, 1)),
    "home": CategoryProfile("HOM", 140, 3.99, 249.99, (85, 11, 4)),
    "beauty": CategoryProfile("BEA", 120, 2.99, 89.99, (80, 15, 5)),
    "gift_card": CategoryProfile(
        "GFT",
        4,
        0,
        0,
        (92, 6, 2),
        tuple(Decimal(v) for v in ("25.00", "50.00", "100.00", "200.00")),
    ),
    "tobacco": CategoryProfile("TOB", 12, 8.99, 15.99, (70, 20, 10)),
}
GENERIC_CATEGORY = CategoryProfile("", 30, 2.99, 59.99, (85, 12, 3))


@dataclass(slots=True)
class Catalog:
    """SKUs by category with fixed prices, and every (SKU, quantity) line built once.

    Lines are immutable, so one `LineItem` per SKU and quantity is shared by all receipts;
    this is most of what makes generation fast.
    """

    categories: list[str]
    skus_by_category: list[list[int]]  # popularity-expanded SKU indices per category
    quantities_by_category: list[list[int]]  # expanded (quantity - 1) per category
    sku_ids: list[str]
    sku_category: list[int]
    lines: list[list[LineItem]]  # lines[sku][quantity - 1]
    sku_index: dict[str, int]


def _price(rng: random.Random, profile: CategoryProfile) -> Decimal:
    if profile.prices:
        return rng.choice(profile.prices)
    # Log-uniform, so cheap items are common and the expensive tail is long; x.99 / x.49 endings.
    value = profile.low * (profile.high / profile.low) ** rng.random()
    cents = int(value) * 100 + rng.choice((99, 99, 99, 49, 29))
    return Decimal(cents).scaleb(-2)


def build_catalog(
    rng: random.Random, extra_categories: list[str], extra_skus: dict[str, str]
) -> Catalog:
    """The catalog: the standard categories, the program's other categories, campaign SKUs.

    `extra_skus` maps a SKU named by a campaign to its category, so campaign SKUs exist.
    """
    profiles = dict(CATEGORIES)
    for name in extra_categories:
        if name not in profiles:
            code = "".join(ch for ch in name.upper() if ch.isalnum())[:3] or "OTH"
            profiles[name] = CategoryProfile(code, GENERIC_CATEGORY.skus, 2.99, 59.99, (85, 12, 3))
    catalog = Catalog([], [], [], [], [], [], {})
    for category_index, (name, profile) in enumerate(profiles.items()):
        catalog.categories.append(name)
        own = [f"{profile.code}-{n:05d}" for n in range(1, profile.skus + 1)]
        own += sorted(sku for sku, cat in extra_skus.items() if cat == name)
        expanded: list[int] = []
        for rank, sku in enumerate(own):
            index = len(catalog.sku_ids)
            catalog.sku_ids.append(sku)
            catalog.sku_index[sku] = index
            catalog.sku_category.append(category_index)
            price = _price(rng, profile)
            catalog.lines.append(
                [
                    LineItem(sku, name, q, price, price * q)
                    for q in range(1, len(profile.quantity_weights) + 1)
                ]
            )
            # Zipf-like popularity: the first SKUs of a category sell most. Campaign SKUs are
            # promotional items: they sell only while their campaign runs (see simulate.py).
            if sku not in extra_skus:
                expanded += [index] * max(1, round(40 / (1 + rank) ** 0.8))
        catalog.skus_by_category.append(expanded)
        catalog.quantities_by_category.append(
            [q for q, w in enumerate(profile.quantity_weights) for _ in range(w)]
        )
    return catalog


def store_ids() -> tuple[list[str], list[list[str]], list[float]]:
    """Store ids (`NYC-001`), each store's terminal ids, and each store's share of members."""
    stores: list[str] = []
    terminals: list[list[str]] = []
    shares: list[float] = []
    for city, count, share in CITIES:
        for n in range(1, count + 1):
            store = f"{city}-{n:03d}"
            stores.append(store)
            terminals.append([f"{store}-T{t:02d}" for t in range(1, TERMINALS_PER_STORE + 1)])
            shares.append(share / count)
    return stores, terminals, shares


FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "Michael", "Jennifer", "David", "Linda", "Aisha",
    "Wei", "José", "María", "Zoë", "Chloé", "Björn", "Søren", "François", "Łukasz", "Ngozi",
    "Priya", "Arjun", "Mei", "Kenji", "Yuki", "Fatima", "Omar", "Olga", "Dmitri", "Siobhán",
    "Seán", "Renée", "Ana", "Lucía", "Emily", "Daniel", "Sarah", "Kevin", "Grace", "Hannah",
    "Mohammed", "Chen", "Thanh", "Ingrid", "Álvaro", "Noémie", "Jürgen", "Zofia", "Kwame",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Garcia", "Rodriguez", "Martínez", "Nguyễn",
    "Kim", "Patel", "O'Brien", "Müller", "Dvořák", "Núñez", "Kowalski", "Okafor", "Chen",
    "Wang", "Tanaka", "Ivanova", "Haddad", "Schröder", "Lefèvre", "Johansson", "Byrne",
    "Cohen", "Rossi", "Singh", "Da Silva", "Mensah", "Lopez", "Wilson", "Anderson", "Moore",
)  # fmt: skip
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example")
AREA_CODES = {"NYC": "212", "BOS": "617", "PHL": "215", "WAS": "202", "ATL": "404", "MIA": "305"}


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    email: str | None
    phone: str | None
    consent_email: bool
    consent_sms: bool


def make_person(rng: random.Random, number: int, city: str) -> Person:
    """A fake but plausible person; phone numbers use the fictional 555-01xx range."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    email = None
    if rng.random() < 0.92:
        email = f"{_ascii(first)}.{_ascii(last)}{number % 1000}@{rng.choice(EMAIL_DOMAINS)}"
    phone = None
    if rng.random() < 0.75:
        phone = f"+1{AREA_CODES.get(city, '555')}55501{rng.randrange(100):02d}"
    return Person(
        name=f"{first} {last}",
        email=email,
        phone=phone,
        consent_email=email is not None and rng.random() < 0.7,
        consent_sms=phone is not None and rng.random() < 0.4,
    )
