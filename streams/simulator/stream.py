"""A seeded, realistic POS stream: receipts and member events of a year of a retail chain.

`simulate(params, program)` yields `Receipt`s, `MemberEvent`s and, on request,
`MalformedMessage`s, in event-time order (see docs/simulator.md for the model and the one
deliberate exception: sales uploaded late by an offline store, after their own return).
The same seed and start date give the same stream, byte for byte.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import accumulate
from operator import attrgetter
from typing import cast
from zoneinfo import ZoneInfo

from agents.rules.events import MemberEvent, MemberEventType, Receipt, ReceiptKind
from agents.rules.program import Campaign, Program
from streams.simulator.malformed import MalformedMessage, with_malformed
from streams.simulator.world import Catalog, Person, build_catalog, make_person, store_ids

DEFAULT_CURRENCY = "USD"
DEFAULT_TIMEZONE = "America/New_York"
DEFAULT_EXCLUDED = ("gift_card", "tobacco")

FREQUENT, OCCASIONAL, LAPSING, SEASONAL = range(4)
SEGMENTS = ("frequent", "occasional", "lapsing", "seasonal")
SEGMENT_SHARE = (0.15, 0.45, 0.25, 0.15)
VISITS_PER_MONTH = ((6.0, 12.0), (1.0, 3.5), (2.5, 6.0), (0.8, 1.5))
MEAN_BASKET_LINES = (3.0, 5.0, 4.0, 3.0)
SEASONAL_BY_MONTH = (0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 1.2, 0.5, 0.4, 0.5, 2.5, 5.0)
ALL_BY_MONTH = (0.85, 0.85, 0.95, 1.0, 1.0, 1.0, 1.0, 1.05, 0.95, 1.0, 1.2, 1.55)
BY_WEEKDAY = (0.85, 0.85, 0.9, 0.95, 1.15, 1.35, 0.95)
OPENING_HOUR, HOUR_WEIGHTS = 8, (3, 4, 5, 7, 10, 9, 6, 6, 7, 10, 11, 9, 6, 3)  # 08:00..21:59
CATEGORY_WEIGHTS = {
    "groceries": 50.0,
    "apparel": 10.0,
    "electronics": 4.0,
    "home": 10.0,
    "beauty": 12.0,
    "gift_card": 2.0,
    "tobacco": 3.0,
}
DECEMBER_BOOST = {"gift_card": 3.0, "electronics": 2.0, "apparel": 1.6}
SEASONAL_BOOST = {"groceries": 0.4, "apparel": 2.0, "electronics": 2.0, "gift_card": 2.0}
HOME_STORE_SHARE = 0.85
LAUNCH_SHARE, LAUNCH_DAYS = 0.25, 7  # members enrolling in the program's launch week
AUTO_ENROLL_SHARE = 0.03  # members whose first receipt enrolls them (no `enrolled` event)
PARTIAL_RETURN_SHARE = 0.4
NON_REFUNDABLE = frozenset({"gift_card"})
REDEEM_CHANCE, OUT_OF_REACH_SHARE = 0.035, 0.04
REWARDS: tuple[tuple[str, int], ...] = (
    ("RW-COFFEE", 300),
    ("RW-5OFF", 500),
    ("RW-10OFF", 1000),
    ("RW-TOTE", 1500),
    ("RW-25OFF", 2500),
    ("RW-HEADPHONES", 6000),
)
OUT_OF_REACH = ("RW-GETAWAY", 250_000)
STAFF = ("support:alice", "support:bob", "support:chidi", "support:dana", "support:émile")
ADJUSTMENTS = (  # reason, lowest points, highest points, counts toward qualifying
    ("goodwill: online order arrived late", 100, 500, False),
    ("missing receipt: purchase made without scanning the card", 50, 800, True),
    ("correction: points credited twice", -600, -50, False),
    ("complaint: damaged item, customer kept it", 150, 400, False),
    ("birthday gift", 200, 200, False),
)
BLOCK_REASONS = ("suspicious return pattern", "card reported stolen", "chargeback investigation")
UNBLOCK_REASONS = ("investigation closed: no fraud", "new card issued")
ADJUST_SHARE = 0.002  # adjustments per receipt
BLOCK_SHARE, UNBLOCK_SHARE, ANONYMIZE_SHARE, PROFILE_SHARE = 0.004, 0.7, 0.004, 0.05
KEEPS_SHOPPING_AFTER_ANONYMIZATION = 0.2
ENROLL, PROFILE, ADJUST, BLOCK, UNBLOCK, ANONYMIZE, SALE = range(7)
ZERO = Decimal(0)
DAY_SECONDS = 14 * 3600  # store hours, from the opening hour


@dataclass(frozen=True, slots=True)
class SimulationParams:
    seed: int = 1
    members: int = 5_000
    receipts: int = 200_000  # exactly this many receipts (sales + returns), malformed aside
    start: date | None = None  # first local date; None = `days` days ending yesterday
    days: int = 365
    malformed_share: float = 0.0  # share of all messages that are malformed
    return_share: float = 0.03
    offline_upload_share: float = 0.01  # of returns: their sale is uploaded after them


class SimulationError(ValueError):
    code = "bad_simulation_params"


def first_day(params: SimulationParams, zone: ZoneInfo, now: datetime | None = None) -> date:
    if params.start is not None:
        return params.start
    today = (now or datetime.now(UTC)).astimezone(zone).date()
    return today - timedelta(days=params.days)


def simulate(
    params: SimulationParams, program: Program | None = None
) -> Iterator[Receipt | MemberEvent | MalformedMessage]:
    """The stream, lazily; `program` gives currency, timezone, campaigns, excluded categories."""
    if params.days < 2 or params.members < 1 or params.receipts < 0:
        raise SimulationError("need days >= 2, members >= 1 and receipts >= 0")
    if not 0 <= params.malformed_share < 1:
        raise SimulationError("malformed_share must be in [0, 1)")
    world = _World(params, program)
    valid = world.stream()
    if params.malformed_share == 0:
        return valid
    return with_malformed(valid, params.seed, params.malformed_share, world.currency)


def _campaigns(program: Program | None) -> list[Campaign]:
    if program is None:
        return []
    seen: dict[str, Campaign] = {}
    for version in program.versions:
        for campaign in version.campaigns:
            seen.setdefault(campaign.id, campaign)
    return list(seen.values())


def _expand(weights: dict[int, float], size: int) -> list[int]:
    """A list where each key appears in proportion to its weight: O(1) weighted picks."""
    total = sum(weights.values())
    return [key for key, w in weights.items() for _ in range(max(1, round(w / total * size)))]


class _World:
    """The plan (who enrolls when, who shops how much on which day) and the stream it yields."""

    def __init__(self, params: SimulationParams, program: Program | None) -> None:
        self.params = params
        self.rng = rng = random.Random(params.seed)
        self.currency = program.currency if program else DEFAULT_CURRENCY
        self.zone = program.zone if program else ZoneInfo(DEFAULT_TIMEZONE)
        version = program.versions[0] if program else None
        self.points_per_unit = version.points_per_unit if version else Decimal(1)
        excluded: set[str] = set(DEFAULT_EXCLUDED if program is None else ())
        for v in program.versions if program else ():
            excluded |= v.excluded_categories
        self.campaigns = _campaigns(program)
        campaign_categories = {c for camp in self.campaigns for c in camp.categories}
        campaign_skus = {
            sku: (camp.categories[0] if camp.categories else "groceries")
            for camp in self.campaigns
            for sku in camp.skus
        }
        extra = sorted(excluded | campaign_categories | set(campaign_skus.values()))
        self.catalog: Catalog = build_catalog(rng, extra, campaign_skus)
        self.excluded = [name in excluded for name in self.catalog.categories]
        self.stores, self.terminals, store_shares = store_ids()
        self.start = first_day(params, self.zone)
        self.open_ts = [
            int(datetime.combine(self.start + timedelta(days=d), time(OPENING_HOUR), self.zone)
                .timestamp())
            for d in range(params.days)
        ]  # fmt: skip
        self.hours = [h for h, w in enumerate(HOUR_WEIGHTS) for _ in range(w)]
        self._plan_members(store_shares)
        self._plan_days()

    def _plan_members(self, store_shares: list[float]) -> None:
        rng, params, days = self.rng, self.params, self.params.days
        n = params.members
        self.member_ids = [f"M{i:06d}" for i in range(1, n + 1)]
        self.segment = rng.choices(range(4), weights=SEGMENT_SHARE, k=n)
        self.rate = [rng.uniform(*VISITS_PER_MONTH[s]) for s in self.segment]
        self.home = rng.choices(range(len(self.stores)), weights=store_shares, k=n)
        launch = min(LAUNCH_DAYS, days - 1)
        self.enroll_day = [
            rng.randrange(launch) if rng.random() < LAUNCH_SHARE else rng.randrange(days - 1)
            for _ in range(n)
        ]
        self.auto_enrolled = [rng.random() < AUTO_ENROLL_SHARE for _ in range(n)]
        self.stop_day = [
            min(days, e + rng.randint(60, 240)) if s == LAPSING else days
            for s, e in zip(self.segment, self.enroll_day, strict=True)
        ]
        self.persons: dict[int, Person] = {}
        self.anonymized = [False] * n
        self.planned: list[list[tuple[int, int, int, object]]] = [[] for _ in range(days)]
        for m in range(n):
            if not self.auto_enrolled[m]:
                self.planned[self.enroll_day[m]].append((self._sec(), ENROLL, m, None))
        self._plan_support_events()

    def _sec(self, office: bool = False) -> int:
        if office:  # 09:00..17:59
            return 3600 + int(self.rng.random() * 9 * 3600)
        return self.hours[int(self.rng.random() * len(self.hours))] * 3600 + self.rng.randrange(
            3600
        )

    def _later_day(self, m: int) -> int | None:
        first = self.enroll_day[m] + 1
        return self.rng.randrange(first, self.params.days) if first < self.params.days else None

    def _plan_support_events(self) -> None:
        rng, params = self.rng, self.params
        n = params.members
        for _ in range(round(params.receipts * ADJUST_SHARE)):
            m = rng.randrange(n)
            day = self._later_day(m)
            if day is not None:
                self.planned[day].append((self._sec(True), ADJUST, m, rng.choice(ADJUSTMENTS)))
        for m in rng.sample(range(n), min(n, round(n * PROFILE_SHARE))):
            day = self._later_day(m)
            if day is not None:
                self.planned[day].append((self._sec(), PROFILE, m, None))
        for m in rng.sample(range(n), min(n, round(n * BLOCK_SHARE))):
            day = self._later_day(m)
            if day is None:
                continue
            self.planned[day].append((self._sec(True), BLOCK, m, rng.choice(BLOCK_REASONS)))
            back = day + rng.randint(3, 20)
            if rng.random() < UNBLOCK_SHARE and back < params.days:
                reason = rng.choice(UNBLOCK_REASONS)
                self.planned[back].append((self._sec(True), UNBLOCK, m, reason))
        for m in rng.sample(range(n), min(n, round(n * ANONYMIZE_SHARE))):
            day = self._later_day(m)
            if day is None:
                continue
            self.planned[day].append((self._sec(), ANONYMIZE, m, None))
            if rng.random() >= KEEPS_SHOPPING_AFTER_ANONYMIZATION:
                self.stop_day[m] = min(self.stop_day[m], day + 1)

    def _plan_days(self) -> None:
        """How many sales each day gets: members active that day, their habits, the season."""
        rng, params, days = self.rng, self.params, self.params.days
        self.joins: list[list[int]] = [[] for _ in range(days + 1)]
        self.leaves: list[list[int]] = [[] for _ in range(days + 1)]
        for m in range(params.members):
            first, stop = self.enroll_day[m] + 1, self.stop_day[m]
            if first < stop:
                self.joins[first].append(m)
                self.leaves[stop].append(m)
        active = [0.0] * 4
        weights: list[float] = []
        self.segment_weights: list[list[float]] = []
        self.day_campaigns: list[list[Campaign]] = []
        for d in range(days):
            for m in self.joins[d]:
                active[self.segment[m]] += self.rate[m]
            for m in self.leaves[d]:
                active[self.segment[m]] -= self.rate[m]
            day = self.start + timedelta(days=d)
            by_segment = [max(0.0, a) for a in active]
            by_segment[SEASONAL] *= SEASONAL_BY_MONTH[day.month - 1] / ALL_BY_MONTH[day.month - 1]
            campaigns = [c for c in self.campaigns if _runs_on(c, day)]
            uplift = 1.1 if campaigns else 1.0
            factor = ALL_BY_MONTH[day.month - 1] * BY_WEEKDAY[day.weekday()] * uplift
            factor *= rng.lognormvariate(0, 0.07)  # weather, local events
            weights.append(factor * sum(by_segment))
            self.segment_weights.append(by_segment)
            self.day_campaigns.append(campaigns)
        total = sum(weights)
        if total <= 0 and params.receipts:
            raise SimulationError("no member can shop: give more days or members")
        returns = round(params.receipts * params.return_share)
        sales = params.receipts - returns
        expected = [sales * w / total for w in weights] if total else [0.0] * days
        self.sales_per_day = [int(e) for e in expected]
        short = sales - sum(self.sales_per_day)
        by_remainder = sorted(range(days), key=lambda d: (int(expected[d]) - expected[d], d))
        for d in by_remainder[:short]:
            self.sales_per_day[d] += 1
        self.returned = set(rng.sample(range(sales), returns)) if sales else set()
        uploads = round(returns * params.offline_upload_share)
        self.uploaded_late = set(rng.sample(sorted(self.returned), uploads))

    def _category_table(self, d: int, segment: int, cache: dict[object, list[int]]) -> list[int]:
        day = self.start + timedelta(days=d)
        boosted = frozenset(c for camp in self.day_campaigns[d] for c in camp.categories)
        key = (segment, day.month, boosted)
        if key not in cache:
            weights: dict[int, float] = {}
            for index, name in enumerate(self.catalog.categories):
                w = CATEGORY_WEIGHTS.get(name, 1.0)
                if day.month == 12:
                    w *= DECEMBER_BOOST.get(name, 1.0)
                if segment == SEASONAL:
                    w *= SEASONAL_BOOST.get(name, 1.0)
                if name in boosted:
                    w *= 2.0
                weights[index] = w
            cache[key] = _expand(weights, 400)
        return cache[key]

    def stream(self) -> Iterator[Receipt | MemberEvent]:
        """Day by day: the day's planned events and sales sorted by time, merged with the
        follow-ups (returns, redemptions) that earlier sales scheduled for later."""
        params = self.params
        self.followups: list[tuple[int, int, Receipt | MemberEvent, Receipt | None]] = []
        self.estimated_points = [0] * params.members
        self.receipt_n = self.event_n = self.followup_n = 0
        followups, estimated, rnd = self.followups, self.estimated_points, self.rng.random
        returned, uploaded_late = self.returned, self.uploaded_late
        shoppers = _Shoppers(self)
        ring_up = self._till()
        from_ts = datetime.fromtimestamp
        cache: dict[object, list[int]] = {}
        sale_index = -1
        for d in range(params.days):
            open_ts = self.open_ts[d]
            tables = [self._category_table(d, s, cache) for s in range(4)]
            promoted = [
                self.catalog.sku_index[sku]
                for campaign in self.day_campaigns[d]
                for sku in campaign.skus
                if sku in self.catalog.sku_index
            ]
            for sec, kind, m, detail in shoppers.day(d):
                ts = open_ts + sec
                if followups and followups[0][0] <= ts:
                    yield from self._due(ts)
                if kind != SALE:
                    event = self._member_event(kind, m, detail, from_ts(ts, UTC))
                    if event is not None:
                        yield event
                    continue
                sale, eligible = ring_up(m, ts, tables, promoted)
                sale_index += 1
                estimated[m] += int(eligible * self.points_per_unit)
                if sale_index in returned:
                    self._schedule_return(sale, m, d, sec, sale_index in uploaded_late)
                    if sale_index in uploaded_late:
                        continue  # yielded after its return
                if estimated[m] >= REWARDS[0][1] and rnd() < REDEEM_CHANCE:
                    self._schedule_redemption(m, ts)
                yield sale
            yield from self._due(self.open_ts[d + 1] - 1 if d + 1 < params.days else None)

    def _due(self, until: int | None) -> Iterator[Receipt | MemberEvent]:
        """The follow-ups due by `until` (all of them for None), in time order."""
        followups = self.followups
        while followups and (until is None or followups[0][0] <= until):
            _, _, message, late_sale = heapq.heappop(followups)
            yield message
            if late_sale is not None:
                yield late_sale

    def _till(self) -> Callable[[int, int, list[list[int]], list[int]], tuple[Receipt, Decimal]]:
        """`ring_up(member, ts, category tables, promoted SKUs) -> (sale, eligible amount)`.

        The hot path: a closure over local names, because attribute lookups per line cost
        more than building the receipt (see docs/simulator.md, Speed).
        """
        rnd, seed, currency, catalog = (
            self.rng.random,
            self.params.seed,
            self.currency,
            self.catalog,
        )
        lines_of, skus_of = catalog.lines, catalog.skus_by_category
        quantities_of, excluded = catalog.quantities_by_category, self.excluded
        members, segment, home = self.member_ids, self.segment, self.home
        stores, terminals, n_stores = self.stores, self.terminals, len(self.stores)
        baskets = [_expand(_poisson_lines(mean), 300) for mean in MEAN_BASKET_LINES]
        amount, from_ts, sale_kind = attrgetter("amount"), datetime.fromtimestamp, ReceiptKind.SALE

        def ring_up(
            m: int, ts: int, tables: list[list[int]], promoted: list[int]
        ) -> tuple[Receipt, Decimal]:
            seg = segment[m]
            table, basket = tables[seg], baskets[seg]
            n_table = len(table)
            picked: list[int] = []
            lines = []
            excluded_amount = ZERO
            for _ in range(basket[int(rnd() * len(basket))]):
                c = table[int(rnd() * n_table)]
                skus = skus_of[c]
                sku = skus[int(rnd() * len(skus))]
                if sku in picked:
                    continue
                picked.append(sku)
                quantities = quantities_of[c]
                line = lines_of[sku][quantities[int(rnd() * len(quantities))]]
                lines.append(line)
                if excluded[c]:
                    excluded_amount += line.amount
            if promoted and rnd() < 0.25:
                sku = promoted[int(rnd() * len(promoted))]
                if sku not in picked:
                    lines.append(lines_of[sku][0])
            total = sum(map(amount, lines))
            store = home[m] if rnd() < HOME_STORE_SHARE else int(rnd() * n_stores)
            self.receipt_n += 1
            sale = Receipt(
                f"r-{seed}-{self.receipt_n}",
                members[m],
                stores[store],
                from_ts(ts, UTC),
                currency,
                sale_kind,
                tuple(lines),
                total,
                terminals[store][int(rnd() * 4)],
                None,
            )
            return sale, total - excluded_amount

        return ring_up

    def _push(self, ts: int, message: Receipt | MemberEvent, late: Receipt | None = None) -> None:
        self.followup_n += 1
        heapq.heappush(self.followups, (ts, self.followup_n, message, late))

    def _schedule_return(
        self, sale: Receipt, m: int, d: int, sec: int, uploaded_late: bool
    ) -> None:
        rng, days = self.rng, self.params.days
        roll = rng.random()
        if uploaded_late:
            wait = rng.randint(0, 2)
        elif roll < 0.6:
            wait = rng.randint(0, 3)
        elif roll < 0.9:
            wait = rng.randint(4, 30)  # late
        else:
            wait = rng.randint(31, 60)  # very late
        return_day = min(d + wait, days - 1)
        if return_day == d:
            return_sec = sec + 60 + int(rng.random() * (DAY_SECONDS - sec))
        else:
            return_sec = self._sec()
        lines = [line for line in sale.lines if line.category not in NON_REFUNDABLE]
        lines = lines or list(sale.lines)
        if rng.random() < PARTIAL_RETURN_SHARE:
            if len(lines) > 1:
                lines = rng.sample(lines, rng.randint(1, len(lines) - 1))
            elif lines[0].quantity > 1:
                line = lines[0]
                index = self.catalog.sku_index[line.sku]
                lines = [self.catalog.lines[index][rng.randint(1, line.quantity - 1) - 1]]
        store = (
            self.stores.index(sale.store_id)
            if rng.random() < 0.8
            else rng.randrange(len(self.stores))
        )
        self.receipt_n += 1
        ts = self.open_ts[return_day] + return_sec
        refund = Receipt(
            receipt_id=f"r-{self.params.seed}-{self.receipt_n}",
            member_id=sale.member_id,
            store_id=self.stores[store],
            occurred_at=datetime.fromtimestamp(ts, UTC),
            currency=sale.currency,
            kind=ReceiptKind.RETURN,
            lines=tuple(lines),
            total=sum((line.amount for line in lines), Decimal("0.00")),
            terminal_id=self.terminals[store][0],
            original_receipt_id=sale.receipt_id,
        )
        self.estimated_points[m] -= int(refund.total)
        self._push(ts, refund, sale if uploaded_late else None)

    def _schedule_redemption(self, m: int, ts: int) -> None:
        rng = self.rng
        if self.anonymized[m]:
            return
        estimate = self.estimated_points[m]
        if rng.random() < OUT_OF_REACH_SHARE:
            reward, points = OUT_OF_REACH[0], max(OUT_OF_REACH[1], 5 * estimate)
        else:
            reward, points = rng.choice([r for r in REWARDS if r[1] <= estimate])
            self.estimated_points[m] -= points
        self.event_n += 1
        at = ts + rng.randint(120, 900)
        self._push(
            at,
            MemberEvent(
                type=MemberEventType.POINTS_REDEEMED,
                event_id=f"e-{self.params.seed}-{self.event_n}",
                member_id=self.member_ids[m],
                occurred_at=datetime.fromtimestamp(at, UTC),
                points=points,
                reward_id=reward,
            ),
        )

    def _person(self, m: int) -> Person:
        if m not in self.persons:
            city = self.stores[self.home[m]][:3]
            self.persons[m] = make_person(self.rng, m + 1, city)
        return self.persons[m]

    def _member_event(self, kind: int, m: int, detail: object, at: datetime) -> MemberEvent | None:
        if self.anonymized[m]:
            return None  # nothing happens to a closed membership but its receipts
        self.event_n += 1
        event_id = f"e-{self.params.seed}-{self.event_n}"
        event = MemberEvent(MemberEventType.ANONYMIZED, event_id, self.member_ids[m], at)
        if kind in (ENROLL, PROFILE):
            person = self._person(m)
            if kind == PROFILE:
                person = _updated(self.rng, person)
                self.persons[m] = person
            return replace(
                event,
                type=MemberEventType.ENROLLED
                if kind == ENROLL
                else MemberEventType.PROFILE_UPDATED,
                name=person.name,
                email=person.email,
                phone=person.phone,
                consent_email=person.consent_email,
                consent_sms=person.consent_sms,
            )
        actor = self.rng.choice(STAFF)
        if kind == ADJUST:
            reason, low, high, counts = cast(tuple[str, int, int, bool], detail)
            points = self.rng.randint(low, high)
            self.estimated_points[m] += points
            return replace(
                event,
                type=MemberEventType.POINTS_ADJUSTED,
                points=points,
                actor=actor,
                reason=reason,
                counts_toward_qualifying=counts,
            )
        if kind in (BLOCK, UNBLOCK):
            kind_type = MemberEventType.BLOCKED if kind == BLOCK else MemberEventType.UNBLOCKED
            return replace(event, type=kind_type, actor=actor, reason=str(detail))
        self.anonymized[m] = True
        return replace(event, actor="privacy:request-desk")


class _Shoppers:
    """Who shops on each day: the active members by segment, weighted by their visit rates."""

    def __init__(self, world: _World) -> None:
        self.world = world
        self.pool: list[dict[int, float]] = [{}, {}, {}, {}]
        self.chooser: list[tuple[list[int], list[float]]] = []

    def day(self, d: int) -> list[tuple[int, int, int, object]]:
        """The day's planned events and sales as (second after opening, kind, member, detail),
        sorted by time."""
        world, rng = self.world, self.world.rng
        rnd, hours = rng.random, world.hours
        n_hours = len(hours)
        for m in world.joins[d]:
            self.pool[world.segment[m]][m] = world.rate[m]
        for m in world.leaves[d]:
            del self.pool[world.segment[m]][m]
        if d == 0 or world.joins[d] or world.leaves[d]:
            self.chooser = [(list(p), list(accumulate(p.values()))) for p in self.pool]
        items = list(world.planned[d])
        n_sales = world.sales_per_day[d]
        if n_sales:
            picks = rng.choices(range(4), weights=world.segment_weights[d], k=n_sales)
            for s in range(4):
                wanted = picks.count(s)
                if wanted:
                    who, cum = self.chooser[s]
                    for m in rng.choices(who, cum_weights=cum, k=wanted):
                        sec = hours[int(rnd() * n_hours)] * 3600 + int(rnd() * 3600)
                        items.append((sec, SALE, m, None))
        items.sort(key=_by_time)
        return items


def _by_time(item: tuple[int, int, int, object]) -> tuple[int, int, int]:
    return item[0], item[1], item[2]


def _poisson_lines(mean: float) -> dict[int, float]:
    """Weights of 1..14 lines per basket: one line plus a Poisson number of extra lines."""
    extra_mean, weights = mean - 1, {}
    p = math.exp(-extra_mean)
    for k in range(14):
        weights[k + 1] = p
        p *= extra_mean / (k + 1)
    return weights


def _updated(rng: random.Random, person: Person) -> Person:
    """A profile update: a new email address, or consents changed."""
    if person.email and rng.random() < 0.5:
        local, _, domain = person.email.partition("@")
        return replace(person, email=f"{local}.new@{domain}")
    return replace(person, consent_email=not person.consent_email, consent_sms=person.consent_sms)


def _runs_on(campaign: Campaign, day: date) -> bool:
    day_start = datetime.combine(day, time())
    if not (campaign.starts < day_start + timedelta(days=1) and day_start < campaign.ends):
        return False
    return not campaign.weekdays or day.weekday() in campaign.weekdays
