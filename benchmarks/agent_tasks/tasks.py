"""The task suite: instructions over the example toolsets, in the seed talk's six categories.

Every reference answer is computed from the toolset's own data when it is asked for, never
typed in, so that changing a toolset's generator changes the expected answers with it. Every
solution is a CodeAct snippet that the engine checks (under the task's policy: default, or data
for the pandas tasks; mypy against the stubs) and runs; ``tests/test_agent_tasks.py`` proves
each one reaches its reference answer.
"""

from __future__ import annotations

import datetime
import statistics
from collections import Counter
from typing import cast

from benchmarks.agent_tasks.spec import CATEGORIES, Task
from examples.toolsets import clues, company, flights, orders, phones, users

USERS = "examples.toolsets.users"
COMPANY = "examples.toolsets.company"
PHONES = "examples.toolsets.phones"
ORDERS = "examples.toolsets.orders"
CLUES = "examples.toolsets.clues"
FLIGHTS = "examples.toolsets.flights"


# --- helpers for the references (trusted side, reading the toolsets' current state) ---------


def _all_users() -> list[users.User]:
    return list(users.DIRECTORY.users.values())


def _all_orders() -> list[orders.Order]:
    return [orders.SHOP.orders[i] for i in sorted(orders.SHOP.orders)]


def _companies() -> list[company.Company]:
    return [company.COMPANIES[name] for name in sorted(company.COMPANIES)]


def _all_employees() -> list[tuple[str, str, company.Employee]]:
    return [(c.name, d.name, e) for c in _companies() for d in c.departments
            for e in d.employees]


def _line_value(item: orders.LineItem) -> float:
    return item.quantity * item.unit_price * (1 - item.discount_pct / 100)


def _order_value(order: orders.Order) -> float:
    return sum(_line_value(i) for i in order.items)


def _total_stock() -> int:
    return sum(p.stock for p in orders.SHOP.products.values())


def _walk(trail: str) -> list[clues.Clue]:
    found = []
    clue_id: str | None = clues.HUNT.starts[trail]
    while clue_id is not None:
        clue = clues.HUNT.clues[clue_id]
        found.append(clue)
        clue_id = clue.next_id
    return found


def _trail_word(trail: str) -> str:
    return "".join(c.symbol for c in _walk(trail) if not c.decoy)


def _usd_price(model: str, country: str) -> tuple[float, bool] | None:
    """The phone's price in a country converted with the toolset's own tool, and in_stock."""
    price = cast("phones.Price | None", phones.get_phone_price(model, country))
    if price is None:
        return None
    usd = cast(float, phones.convert_currency(price.amount, price.currency, phones.Currency.USD))
    return usd, price.in_stock


def _phone_countries() -> list[str]:
    return cast("list[str]", phones.list_countries())


def _flights() -> list[flights.Flight]:
    return list(flights.SCHEDULE.flights.values())


def _ranked(counts: dict[str, int] | Counter[str], k: int) -> list[str]:
    return sorted(counts, key=lambda key: (-counts[key], key))[:k]


# --- loop: a loop over thousands of records -------------------------------------------------


def _loop_users_deactivate_stale() -> int:
    cutoff = datetime.date(2025, 2, 1)
    return sum(1 for u in _all_users() if u.active and u.last_login < cutoff)


def _loop_users_reactivate_december() -> int:
    start = datetime.date(2025, 12, 1)
    return sum(1 for u in _all_users() if u.active or u.last_login >= start)


def _loop_users_email_inactive_il() -> int:
    return sum(1 for u in _all_users()
               if not u.active and u.address.country == "IL" and "@" in u.email)


def _loop_orders_shipped_first_half() -> int:
    cutoff = datetime.date(2024, 7, 1)
    return sum(1 for o in _all_orders()
               if o.status is orders.OrderStatus.SHIPPED and o.placed_on < cutoff)


def _loop_orders_cancel_stale_pending() -> int:
    cutoff = datetime.date(2024, 10, 1)
    returned = sum(i.quantity for o in _all_orders()
                   if o.status is orders.OrderStatus.PENDING and o.placed_on < cutoff
                   for i in o.items)
    return _total_stock() + returned


def _loop_orders_occasional_customers() -> int:
    placed = Counter(o.customer_id for o in _all_orders())
    return sum(1 for c in orders.SHOP.customers if placed[c] < 3)


def _loop_clues_marathon_length() -> int:
    return len(_walk("marathon"))


def _loop_flights_full() -> int:
    return sum(1 for f in _flights() if f.seats_left == 0)


# --- aggregate: counts, means, top-k and group-bys that no tool provides -------------------


def _aggregate_users_top_countries() -> list[str]:
    return _ranked(Counter(u.address.country for u in _all_users() if u.active), 3)


def _data_users_active_share_by_city() -> dict[str, float]:
    cities = sorted({u.address.city for u in _all_users()})
    return {city: round(statistics.mean(u.active for u in _all_users()
                                         if u.address.city == city), 3) for city in cities}


def _data_users_inactive_per_month() -> dict[str, int]:
    months = Counter(u.last_login.strftime("%Y-%m") for u in _all_users() if not u.active)
    return dict(sorted(months.items()))


def _data_orders_mean_value_by_status() -> dict[str, float]:
    values: dict[str, list[float]] = {}
    for order in _all_orders():
        values.setdefault(order.status.value, []).append(_order_value(order))
    return {status: round(statistics.mean(v), 2) for status, v in sorted(values.items())}


def _aggregate_users_login_gap() -> float:
    end = datetime.date(2026, 1, 1)
    return round(statistics.mean((end - u.last_login).days for u in _all_users()
                                 if not u.active), 2)


def _aggregate_company_best_paid_department() -> str:
    best = max(((statistics.mean(e.salary for e in d.employees), f"{c.name}/{d.name}")
                for c in _companies() for d in c.departments),
               key=lambda pair: pair[0])
    return best[1]


def _aggregate_company_title_payroll() -> str:
    totals: Counter[str] = Counter()
    for _, _, e in _all_employees():
        totals[e.title] += e.salary
    return _ranked(totals, 1)[0]


def _aggregate_orders_top_skus() -> list[str]:
    units: Counter[str] = Counter()
    for o in _all_orders():
        if o.status is orders.OrderStatus.DELIVERED:
            for i in o.items:
                units[i.sku] += i.quantity
    return _ranked(units, 3)


def _aggregate_orders_median_lines() -> float:
    return float(statistics.median(len(o.items) for o in _all_orders()))


def _aggregate_orders_tier_mean_value() -> float:
    tiers = {c.id: c.tier for c in orders.SHOP.customers.values()}
    values = [_order_value(o) for o in _all_orders()
              if o.status is orders.OrderStatus.DELIVERED
              and tiers[o.customer_id] is orders.Tier.GOLD]
    return round(statistics.mean(values), 2)


def _aggregate_flights_airline_seats() -> str:
    seats: Counter[str] = Counter()
    for f in _flights():
        seats[f.airline] += f.seats_left
    return _ranked(seats, 1)[0]


def _aggregate_phones_mean_usd() -> float:
    prices = [found[0] for country in _phone_countries()
              if (found := _usd_price("iPhone 16", country)) is not None]
    return round(statistics.mean(prices), 2)


# --- branch: what to do depends on what a tool returns --------------------------------------


def _branch_users_id_range() -> int:
    return sum(1 for i in range(9990, 10011)
               if (u := users.DIRECTORY.users.get(i)) is not None and not u.active)


def _branch_users_greetings() -> list[int]:
    active = [u for u in _all_users() if u.active]
    return [sum(1 for u in active if u.address.country == "DE"),
            sum(1 for u in active if u.address.country == "FR")]


def _branch_phones_cheapest_in_stock() -> list[str]:
    answer = []
    for model in sorted(cast("list[str]", phones.list_phone_models())):
        offers = [(found[0], country) for country in _phone_countries()
                  if (found := _usd_price(model, country)) is not None and found[1]]
        answer.append(f"{model}:{min(offers)[1]}")
    return answer


def _branch_orders_restock_low() -> int:
    added = 0
    for p in orders.SHOP.products.values():
        if not p.discontinued and p.stock < 20:
            added += 100 if p.category is orders.ProductCategory.ELECTRONICS else 40
    return _total_stock() + added


def _branch_orders_cancel_gold() -> int:
    gold = {c.id for c in orders.SHOP.customers.values() if c.tier is orders.Tier.GOLD}
    return sum(1 for o in _all_orders() if o.customer_id in gold
               and o.status in (orders.OrderStatus.PENDING, orders.OrderStatus.PAID))


def _branch_flights_book_fallback() -> int:
    for day in (datetime.date(2025, 3, 4), datetime.date(2025, 3, 5)):
        options = [f for f in _flights() if f.origin == "TLV" and f.destination == "FRA"
                   and f.departs.date() == day and f.seats_left >= 3]
        if options:
            return min(options, key=lambda f: (f.price, f.number)).seats_left - 3
    return -1


def _branch_clues_river() -> list[int]:
    return [i for i in sorted(clues.HUNT.plaintexts)
            if "river" in clues.HUNT.plaintexts[i].split()]


def _branch_company_raises() -> float:
    total = 0.0
    for d in company.COMPANIES["Globex"].departments:
        for e in d.employees:
            if e.title == "Engineer":
                total += e.salary * 1.1
            elif e.title == "Manager":
                total += e.salary + 5000
            else:
                total += e.salary
    return round(total, 2)


# --- compose: one tool's output is another's input ------------------------------------------


def _compose_phones_cheapest_galaxy() -> str:
    offers = [(found[0], country) for country in _phone_countries()
              if (found := _usd_price("Galaxy S25", country)) is not None]
    return min(offers)[1]


def _compose_company_happiest() -> str:
    staff = sorted((e for d in company.COMPANIES["Initech"].departments for e in d.employees),
                   key=lambda e: e.id)
    return max(staff, key=lambda e: cast(float, company.compute_happiness(e))).name


def _compose_users_city() -> str:
    return users.DIRECTORY.users[4242].address.city


def _compose_orders_buyer_email() -> str:
    return orders.SHOP.customers[orders.SHOP.orders[2718].customer_id].email


def _compose_orders_shipping_quote() -> float:
    order = orders.SHOP.orders[3141]
    weight = sum(orders.SHOP.products[i.sku].weight_kg * i.quantity for i in order.items)
    return cast(float, orders.shipping_quote(weight, order.ship_to.country))


def _compose_flights_first_out_of_jfk() -> str:
    day = datetime.date(2025, 3, 5)
    first = min((f for f in _flights() if f.origin == "JFK" and f.departs.date() == day),
                key=lambda f: (f.departs, f.number))
    return flights.SCHEDULE.airports[first.destination].city


def _compose_clues_caesar() -> str:
    return clues.HUNT.plaintexts[5]


def _compose_orders_namesake() -> int:
    matches = [c for c in orders.SHOP.customers.values() if c.name == "Hugo Ito"]
    earliest = min(matches, key=lambda c: (c.joined, c.id))
    return sum(1 for o in _all_orders() if o.customer_id == earliest.id)


# --- nested: answers that sit inside nested pydantic models ---------------------------------


def _nested_company_engineering_cities() -> list[str]:
    engineering = next(d for d in company.COMPANIES["Globex"].departments
                       if d.name == "Engineering")
    return sorted({e.address.city for e in engineering.employees})


def _nested_company_remote_managers() -> int:
    staff = {e.id: e for _, _, e in _all_employees()}
    return sum(1 for e in staff.values() if e.manager_id is not None
               and staff[e.manager_id].address.city != e.address.city)


def _nested_company_budget_per_head() -> str:
    best = max(((d.budget / len(d.employees), f"{c.name}/{d.name}")
                for c in _companies() for d in c.departments),
               key=lambda pair: pair[0])
    return best[1]


def _nested_orders_shipped_abroad() -> int:
    homes = {c.id: c.home.country for c in orders.SHOP.customers.values()}
    return sum(1 for o in _all_orders() if o.ship_to.country != homes[o.customer_id])


def _nested_orders_slow_deliveries() -> int:
    count = 0
    for o in _all_orders():
        if o.status is orders.OrderStatus.DELIVERED and o.shipment is not None:
            delivered = o.shipment.delivered_on
            if delivered is not None and (delivered - o.placed_on).days > 10:
                count += 1
    return count


def _nested_orders_returns_carrier() -> str:
    carriers = Counter(o.shipment.carrier for o in _all_orders()
                       if o.status is orders.OrderStatus.RETURNED and o.shipment is not None)
    return _ranked(carriers, 1)[0]


def _nested_users_berlin_numbers() -> int:
    return sum(1 for u in _all_users() if u.active and u.address.city == "Berlin"
               and int(u.address.street.split()[0]) >= 100)


def _nested_orders_vip_discounted_units() -> int:
    return sum(i.quantity for o in _all_orders() if o.coupon == "VIP20"
               for i in o.items if i.discount_pct >= 15)


# --- multistep: decoding and planning over several dependent steps -------------------------


def _multistep_clues_saffron_word() -> str:
    return _trail_word("saffron")


def _multistep_clues_cobalt_lock() -> int:
    return clues.HUNT.locks[_trail_word("cobalt")]


def _multistep_clues_codebook() -> str:
    return clues.HUNT.plaintexts[33]


def _multistep_clues_smallest_lock() -> str:
    return min(sorted(clues.HUNT.locks), key=lambda name: clues.HUNT.locks[name])


def _multistep_flights_cheapest_connection() -> float:
    day = datetime.date(2025, 3, 2)
    layover = datetime.timedelta(minutes=60)
    open_flights = [f for f in _flights() if f.seats_left > 0]
    totals = []
    for first in open_flights:
        if first.origin != "TLV" or first.departs.date() != day:
            continue
        if first.destination == "JFK":
            totals.append(first.price)
            continue
        for second in open_flights:
            if (second.origin == first.destination and second.destination == "JFK"
                    and second.departs.date() in (day, day + datetime.timedelta(days=1))
                    and second.departs >= first.arrives + layover):
                totals.append(first.price + second.price)
    return round(min(totals), 2)


def _multistep_flights_two_hops() -> list[str]:
    routes: dict[str, set[str]] = {}
    for f in _flights():
        routes.setdefault(f.origin, set()).add(f.destination)
    direct = routes["IST"]
    two = {b for a in direct for b in routes.get(a, set())}
    return sorted(two - direct - {"IST"})


def _multistep_flights_earliest_arrival() -> str:
    start = datetime.datetime(2025, 3, 4)
    layover = datetime.timedelta(minutes=60)
    open_flights = [f for f in _flights() if f.seats_left > 0]
    arrivals = []
    for first in open_flights:
        if first.origin != "BOS" or first.departs < start:
            continue
        if first.destination == "NRT":
            arrivals.append(first.arrives)
            continue
        arrivals.extend(second.arrives for second in open_flights
                        if second.origin == first.destination and second.destination == "NRT"
                        and second.departs >= first.arrives + layover)
    return min(arrivals).strftime("%Y-%m-%d %H:%M")


def _multistep_orders_best_line() -> str:
    customer_id = orders.SHOP.orders[1500].customer_id
    mine = [o for o in _all_orders() if o.customer_id == customer_id]
    top = max(mine, key=_order_value)
    line = max(top.items, key=_line_value)
    return orders.SHOP.products[line.sku].name


# --- the solutions' shared pieces (CodeAct snippets are plain text) -------------------------

_WALK_WORD = """\
clue_id: str | None = trail_start({trail!r})
word = ""
while clue_id is not None:
    clue = get_clue(clue_id)
    if not clue.decoy:
        word += clue.symbol
    clue_id = clue.next_id
"""

_OPEN_LOCK = """\
def open_lock(lock: str) -> int:
    low, high = 0, 9999
    while low <= high:
        middle = (low + high) // 2
        verdict = probe_lock(lock, middle)
        if verdict == "open":
            return middle
        if verdict == "higher":
            low = middle + 1
        else:
            high = middle - 1
    raise ValueError("the lock did not open")
"""


TASKS: list[Task] = [
    # ---- loop ----------------------------------------------------------------------------
    Task(
        id="loop-users-deactivate-stale",
        category="loop",
        toolset=USERS,
        instruction=(
            "Deactivate every active user whose last login was before 2025-02-01. "
            "Answer with the number of users you deactivated (the number only)."
        ),
        reference=_loop_users_deactivate_stale,
        solution="""\
import datetime

cutoff = datetime.date(2025, 2, 1)
count = 0
for u in get_all_users():
    if u.active and u.last_login < cutoff:
        deactivate(u.id)
        count += 1
final_answer(count)
""",
        json_calls=(("get_all_users", {}),),
        reset=users.reset,
    ),
    Task(
        id="loop-users-reactivate-december",
        category="loop",
        toolset=USERS,
        instruction=(
            "Activate every inactive user whose last login is on or after 2025-12-01. Then "
            "answer with the total number of active users in the directory (the number only)."
        ),
        reference=_loop_users_reactivate_december,
        solution="""\
import datetime

start = datetime.date(2025, 12, 1)
for u in get_all_users():
    if not u.active and u.last_login >= start:
        activate(u.id)
final_answer(sum(1 for u in get_all_users() if u.active))
""",
        json_calls=(("get_all_users", {}),),
        reset=users.reset,
    ),
    Task(
        id="loop-users-email-inactive-il",
        category="loop",
        toolset=USERS,
        instruction=(
            "Send an email with the subject 'We miss you' to every inactive user who lives in "
            "Israel (country code IL). Answer with the number of emails that were accepted "
            "(the number only)."
        ),
        reference=_loop_users_email_inactive_il,
        solution="""\
sent = 0
for u in get_all_users():
    if not u.active and u.address.country == "IL":
        if send_email(u.email, "We miss you"):
            sent += 1
final_answer(sent)
""",
        json_calls=(("get_all_users", {}),
                    ("send_email", {"to": "lea.okafor34@example.com", "subject": "We miss you"})),
    ),
    Task(
        id="loop-orders-shipped-first-half",
        category="loop",
        toolset=ORDERS,
        instruction=(
            "Go through every order and count the ones whose status is SHIPPED and that were "
            "placed before 2024-07-01. Answer with the number only."
        ),
        reference=_loop_orders_shipped_first_half,
        solution="""\
import datetime

cutoff = datetime.date(2024, 7, 1)
count = 0
for order_id in list_order_ids():
    order = get_order(order_id)
    if order.status == OrderStatus.SHIPPED and order.placed_on < cutoff:
        count += 1
final_answer(count)
""",
        json_calls=(("list_order_ids", {}), ("get_order", {"order_id": 1001})),
    ),
    Task(
        id="loop-orders-cancel-stale-pending",
        category="loop",
        toolset=ORDERS,
        instruction=(
            "Cancel every order that is still PENDING and was placed before 2024-10-01. Then "
            "answer with the total number of units in stock over all products (the number "
            "only)."
        ),
        reference=_loop_orders_cancel_stale_pending,
        solution="""\
import datetime

cutoff = datetime.date(2024, 10, 1)
for order_id in list_order_ids():
    order = get_order(order_id)
    if order.status == OrderStatus.PENDING and order.placed_on < cutoff:
        cancel_order(order_id)
final_answer(sum(get_product(sku).stock for sku in list_skus()))
""",
        json_calls=(("list_order_ids", {}), ("get_order", {"order_id": 1001})),
        reset=orders.reset,
    ),
    Task(
        id="loop-orders-occasional-customers",
        category="loop",
        toolset=ORDERS,
        instruction=(
            "How many customers have placed fewer than 3 orders (of any status)? Answer with "
            "the number only."
        ),
        reference=_loop_orders_occasional_customers,
        solution="""\
occasional = 0
for customer_id in list_customer_ids():
    if len(orders_of_customer(customer_id)) < 3:
        occasional += 1
final_answer(occasional)
""",
        json_calls=(("list_customer_ids", {}), ("orders_of_customer", {"customer_id": 1})),
    ),
    Task(
        id="loop-clues-marathon-length",
        category="loop",
        toolset=CLUES,
        instruction=(
            "Walk the trail named 'marathon' from its first clue to its last one. Answer with "
            "the number of clues on it, decoys included (the number only)."
        ),
        reference=_loop_clues_marathon_length,
        solution="""\
clue_id = trail_start("marathon")
count = 0
while True:
    clue = get_clue(clue_id)
    count += 1
    if clue.next_id is None:
        break
    clue_id = clue.next_id
final_answer(count)
""",
        json_calls=(("trail_start", {"trail": "marathon"}),),
    ),
    Task(
        id="loop-flights-full",
        category="loop",
        toolset=FLIGHTS,
        instruction=(
            "Over every airport and every day of the schedule, count the flights that have no "
            "seats left. Answer with the number only."
        ),
        reference=_loop_flights_full,
        solution="""\
full = 0
for airport in list_airports():
    for day in schedule_days():
        for flight in flights_from(airport.code, day):
            if flight.seats_left == 0:
                full += 1
final_answer(full)
""",
        json_calls=(("list_airports", {}), ("schedule_days", {}),
                    ("flights_from", {"origin": "ATH", "day": "2025-03-01"})),
    ),
    # ---- aggregate -----------------------------------------------------------------------
    Task(
        id="aggregate-users-top-countries",
        category="aggregate",
        toolset=USERS,
        instruction=(
            "Which three countries have the most active users? Answer with a list of three "
            "ISO country codes, the country with the most active users first (break ties "
            "alphabetically)."
        ),
        reference=_aggregate_users_top_countries,
        solution="""\
from collections import Counter

counts = Counter(u.address.country for u in get_all_users() if u.active)
ranked = sorted(counts, key=lambda code: (-counts[code], code))
final_answer(ranked[:3])
""",
        json_calls=(("get_all_users", {}),),
    ),
    Task(
        id="aggregate-users-login-gap",
        category="aggregate",
        toolset=USERS,
        instruction=(
            "Over all inactive users, what is the mean number of days from their last login "
            "to 2026-01-01? Answer with the number rounded to 2 decimals."
        ),
        reference=_aggregate_users_login_gap,
        solution="""\
import datetime
import statistics

end = datetime.date(2026, 1, 1)
gaps = [(end - u.last_login).days for u in get_all_users() if not u.active]
final_answer(round(statistics.mean(gaps), 2))
""",
        json_calls=(("get_all_users", {}),),
    ),
    Task(
        id="aggregate-company-best-paid-department",
        category="aggregate",
        toolset=COMPANY,
        instruction=(
            "Across all companies, which department has the highest average employee salary? "
            "Answer as 'Company/Department', for example 'Acme/Sales'."
        ),
        reference=_aggregate_company_best_paid_department,
        solution="""\
import statistics

best = ""
best_mean = -1.0
for name in list_companies():
    company = get_company(name)
    for department in company.departments:
        mean = statistics.mean([e.salary for e in department.employees])
        if mean > best_mean:
            best_mean = mean
            best = company.name + "/" + department.name
final_answer(best)
""",
        json_calls=(("list_companies", {}), ("get_company", {"name": "Acme"})),
    ),
    Task(
        id="aggregate-company-title-payroll",
        category="aggregate",
        toolset=COMPANY,
        instruction=(
            "Across all companies, which job title has the highest total yearly salary "
            "(summed over everyone with that title)? Answer with the title only."
        ),
        reference=_aggregate_company_title_payroll,
        solution="""\
totals: dict[str, int] = {}
for name in list_companies():
    for department in get_company(name).departments:
        for e in department.employees:
            totals[e.title] = totals.get(e.title, 0) + e.salary
final_answer(max(sorted(totals), key=lambda title: totals[title]))
""",
        json_calls=(("list_companies", {}), ("get_company", {"name": "Acme"}),
                    ("get_company", {"name": "Globex"})),
    ),
    Task(
        id="aggregate-orders-top-skus",
        category="aggregate",
        toolset=ORDERS,
        instruction=(
            "Counting only DELIVERED orders, which three SKUs sold the most units (sum of "
            "line-item quantities)? Answer with a list of three SKUs, best seller first (break "
            "ties alphabetically)."
        ),
        reference=_aggregate_orders_top_skus,
        solution="""\
from collections import Counter

units: Counter[str] = Counter()
for order_id in list_order_ids():
    order = get_order(order_id)
    if order.status == OrderStatus.DELIVERED:
        for item in order.items:
            units[item.sku] += item.quantity
ranked = sorted(units, key=lambda sku: (-units[sku], sku))
final_answer(ranked[:3])
""",
        json_calls=(("list_order_ids", {}), ("get_order", {"order_id": 1001})),
    ),
    Task(
        id="aggregate-orders-median-lines",
        category="aggregate",
        toolset=ORDERS,
        instruction=(
            "What is the median number of line items per order, over all orders? Answer with "
            "the number only."
        ),
        reference=_aggregate_orders_median_lines,
        solution="""\
import statistics

sizes = [len(get_order(order_id).items) for order_id in list_order_ids()]
final_answer(statistics.median(sizes))
""",
        json_calls=(("list_order_ids", {}), ("get_order", {"order_id": 1001})),
    ),
    Task(
        id="aggregate-orders-gold-mean-value",
        category="aggregate",
        toolset=ORDERS,
        instruction=(
            "What is the mean value of the DELIVERED orders placed by GOLD-tier customers? An "
            "order's value is the sum over its line items of quantity * unit_price * "
            "(1 - discount_pct / 100). Answer in USD rounded to 2 decimals."
        ),
        reference=_aggregate_orders_tier_mean_value,
        solution="""\
import statistics

gold = {c for c in list_customer_ids() if get_customer(c).tier == Tier.GOLD}
values = []
for order_id in list_order_ids():
    order = get_order(order_id)
    if order.status == OrderStatus.DELIVERED and order.customer_id in gold:
        values.append(sum(i.quantity * i.unit_price * (1 - i.discount_pct / 100)
                          for i in order.items))
final_answer(round(statistics.mean(values), 2))
""",
        json_calls=(("list_customer_ids", {}), ("get_customer", {"customer_id": 1}),
                    ("list_order_ids", {})),
    ),
    Task(
        id="aggregate-flights-airline-seats",
        category="aggregate",
        toolset=FLIGHTS,
        instruction=(
            "Over the whole schedule, which airline has the most seats left in total (summed "
            "over all its flights)? Answer with the airline's name only."
        ),
        reference=_aggregate_flights_airline_seats,
        solution="""\
seats: dict[str, int] = {}
for airport in list_airports():
    for day in schedule_days():
        for flight in flights_from(airport.code, day):
            seats[flight.airline] = seats.get(flight.airline, 0) + flight.seats_left
final_answer(max(sorted(seats), key=lambda airline: seats[airline]))
""",
        json_calls=(("list_airports", {}), ("schedule_days", {})),
    ),
    Task(
        id="aggregate-phones-mean-usd",
        category="aggregate",
        toolset=PHONES,
        instruction=(
            "Convert the price of the iPhone 16 in every country where it is sold to USD with "
            "convert_currency and answer with the mean of those USD prices, rounded to 2 "
            "decimals."
        ),
        reference=_aggregate_phones_mean_usd,
        solution="""\
import statistics

prices = []
for country in list_countries():
    price = get_phone_price("iPhone 16", country)
    if price is not None:
        prices.append(convert_currency(price.amount, price.currency, Currency.USD))
final_answer(round(statistics.mean(prices), 2))
""",
        json_calls=(("list_countries", {}),
                    ("get_phone_price", {"model": "iPhone 16", "country": "DE"})),
    ),
    # ---- branch --------------------------------------------------------------------------
    Task(
        id="branch-users-id-range",
        category="branch",
        toolset=USERS,
        instruction=(
            "Look up the users with ids 9990 to 10010 inclusive (some of these ids may not "
            "exist). Answer with how many of them exist and are inactive (the number only)."
        ),
        reference=_branch_users_id_range,
        solution="""\
count = 0
for user_id in range(9990, 10011):
    user = get_user(user_id)
    if user is not None and not user.active:
        count += 1
final_answer(count)
""",
        json_calls=(("get_user", {"user_id": 9990}), ("get_user", {"user_id": 9991})),
    ),
    Task(
        id="branch-users-greetings",
        category="branch",
        toolset=USERS,
        instruction=(
            "Email every active user who lives in Germany (DE) or France (FR): the subject is "
            "'Hallo' for users in Germany and 'Bonjour' for users in France. Answer with a "
            "list of two numbers: the accepted 'Hallo' emails, then the accepted 'Bonjour' "
            "emails."
        ),
        reference=_branch_users_greetings,
        solution="""\
hallo = 0
bonjour = 0
for u in get_all_users():
    if not u.active:
        continue
    if u.address.country == "DE":
        if send_email(u.email, "Hallo"):
            hallo += 1
    elif u.address.country == "FR":
        if send_email(u.email, "Bonjour"):
            bonjour += 1
final_answer([hallo, bonjour])
""",
        json_calls=(("get_all_users", {}),
                    ("send_email", {"to": "eli.silva6@example.com", "subject": "Hallo"})),
    ),
    Task(
        id="branch-phones-cheapest-in-stock",
        category="branch",
        toolset=PHONES,
        instruction=(
            "For every phone model, find the country where it is cheapest in USD (convert "
            "with convert_currency), considering only countries where it is sold and in "
            "stock. Answer with a list of 'model:COUNTRY' strings (e.g. 'Pixel 9:US') sorted "
            "by model name."
        ),
        reference=_branch_phones_cheapest_in_stock,
        solution="""\
answer = []
for model in sorted(list_phone_models()):
    best = ""
    best_usd = 0.0
    for country in list_countries():
        price = get_phone_price(model, country)
        if price is None or not price.in_stock:
            continue
        usd = convert_currency(price.amount, price.currency, Currency.USD)
        if best == "" or usd < best_usd:
            best = country
            best_usd = usd
    answer.append(model + ":" + best)
final_answer(answer)
""",
        json_calls=(("list_phone_models", {}), ("list_countries", {}),
                    ("get_phone_price", {"model": "Fairphone 5", "country": "JP"})),
    ),
    Task(
        id="branch-orders-restock-low",
        category="branch",
        toolset=ORDERS,
        instruction=(
            "Restock every product that is not discontinued and has fewer than 20 units in "
            "stock: ELECTRONICS products get 100 more units, every other category 40. Then "
            "answer with the total number of units in stock over all products (the number "
            "only)."
        ),
        reference=_branch_orders_restock_low,
        solution="""\
for sku in list_skus():
    product = get_product(sku)
    if product.discontinued or product.stock >= 20:
        continue
    if product.category == ProductCategory.ELECTRONICS:
        restock(sku, 100)
    else:
        restock(sku, 40)
final_answer(sum(get_product(sku).stock for sku in list_skus()))
""",
        json_calls=(("list_skus", {}), ("get_product", {"sku": "BOK-0010"}),
                    ("restock", {"sku": "BOK-0010", "quantity": 40})),
        reset=orders.reset,
    ),
    Task(
        id="branch-orders-cancel-gold",
        category="branch",
        toolset=ORDERS,
        instruction=(
            "Cancel every order placed by a GOLD-tier customer that can still be cancelled "
            "(status PENDING or PAID). Answer with the number of orders you cancelled."
        ),
        reference=_branch_orders_cancel_gold,
        solution="""\
gold = {c for c in list_customer_ids() if get_customer(c).tier == Tier.GOLD}
cancelled = 0
for order_id in list_order_ids():
    order = get_order(order_id)
    if order.customer_id not in gold:
        continue
    if order.status in (OrderStatus.PENDING, OrderStatus.PAID):
        if cancel_order(order_id):
            cancelled += 1
final_answer(cancelled)
""",
        json_calls=(("list_customer_ids", {}), ("get_customer", {"customer_id": 1})),
        reset=orders.reset,
    ),
    Task(
        id="branch-flights-book-fallback",
        category="branch",
        toolset=FLIGHTS,
        instruction=(
            "Book 3 seats on the cheapest flight from TLV to FRA departing on 2025-03-04 that "
            "has at least 3 seats left; if there is no such flight that day, do the same for "
            "2025-03-05. Answer with the number of seats left on the booked flight after "
            "your booking."
        ),
        reference=_branch_flights_book_fallback,
        solution="""\
import datetime

left = -1
for day in [datetime.date(2025, 3, 4), datetime.date(2025, 3, 5)]:
    options = [f for f in flights_from("TLV", day)
               if f.destination == "FRA" and f.seats_left >= 3]
    if options:
        cheapest = min(options, key=lambda f: (f.price, f.number))
        left = book(cheapest.number, 3)
        break
final_answer(left)
""",
        json_calls=(("flights_from", {"origin": "TLV", "day": "2025-03-04"}),),
        reset=flights.reset,
    ),
    Task(
        id="branch-clues-river-messages",
        category="branch",
        toolset=CLUES,
        instruction=(
            "Decode every intercepted message according to its cipher (see Cipher). Answer "
            "with the ids of the messages whose decoded text contains the word 'river', as a "
            "list in ascending order."
        ),
        reference=_branch_clues_river,
        solution="""\
hits = []
for message_id in list_message_ids():
    message = get_message(message_id)
    if message.cipher == Cipher.CAESAR:
        text = caesar_shift(message.text, -message.key)
    elif message.cipher == Cipher.ATBASH:
        text = "".join(chr(219 - ord(c)) if "a" <= c <= "z" else c for c in message.text)
    elif message.cipher == Cipher.REVERSE:
        text = message.text[::-1]
    else:
        words = []
        for reference in message.text.split():
            page, line = reference.split(".")
            words.append(codebook_word(int(page), int(line)))
        text = " ".join(words)
    if "river" in text.split():
        hits.append(message_id)
final_answer(hits)
""",
        json_calls=(("list_message_ids", {}), ("get_message", {"message_id": 1})),
    ),
    Task(
        id="branch-company-raises",
        category="branch",
        toolset=COMPANY,
        instruction=(
            "Globex gives raises: every Engineer gets 10% more, every Manager gets 5000 more, "
            "everyone else stays the same. What is Globex's new total yearly payroll? Answer "
            "with the number rounded to 2 decimals."
        ),
        reference=_branch_company_raises,
        solution="""\
total = 0.0
for department in get_company("Globex").departments:
    for e in department.employees:
        if e.title == "Engineer":
            total += e.salary * 1.1
        elif e.title == "Manager":
            total += e.salary + 5000
        else:
            total += e.salary
final_answer(round(total, 2))
""",
        json_calls=(("get_company", {"name": "Globex"}),),
    ),
    # ---- compose -------------------------------------------------------------------------
    Task(
        id="compose-phones-cheapest-galaxy",
        category="compose",
        toolset=PHONES,
        instruction=(
            "In which country is the Galaxy S25 cheapest once its local price is converted to "
            "USD with convert_currency? Answer with the ISO country code."
        ),
        reference=_compose_phones_cheapest_galaxy,
        solution="""\
best = ""
best_usd = 0.0
for country in list_countries():
    price = get_phone_price("Galaxy S25", country)
    if price is None:
        continue
    usd = convert_currency(price.amount, price.currency, Currency.USD)
    if best == "" or usd < best_usd:
        best = country
        best_usd = usd
final_answer(best)
""",
        json_calls=(("list_countries", {}),
                    ("get_phone_price", {"model": "Galaxy S25", "country": "DE"}),
                    ("convert_currency", {"amount": 900.0, "from_currency": "EUR",
                                          "to_currency": "USD"})),
    ),
    Task(
        id="compose-company-happiest-initech",
        category="compose",
        toolset=COMPANY,
        instruction=(
            "Which Initech employee has the highest happiness score according to "
            "compute_happiness? If several share the top score, pick the one with the lowest "
            "id. Answer with the employee's name."
        ),
        reference=_compose_company_happiest,
        solution="""\
staff = [e for d in get_company("Initech").departments for e in d.employees]
staff.sort(key=lambda e: e.id)
best = staff[0]
best_score = compute_happiness(best)
for e in staff[1:]:
    score = compute_happiness(e)
    if score > best_score:
        best = e
        best_score = score
final_answer(best.name)
""",
        json_calls=(("get_company", {"name": "Initech"}),),
    ),
    Task(
        id="compose-users-email-and-city",
        category="compose",
        toolset=USERS,
        instruction=(
            "Send user 4242 an email with the subject 'Your account', then answer with the "
            "name of the city where that user lives."
        ),
        reference=_compose_users_city,
        solution="""\
user = get_user(4242)
assert user is not None
send_email(user.email, "Your account")
final_answer(user.address.city)
""",
        json_calls=(("get_user", {"user_id": 4242}),),
    ),
    Task(
        id="compose-orders-buyer-email",
        category="compose",
        toolset=ORDERS,
        instruction="Who placed order 2718? Answer with that customer's email address.",
        reference=_compose_orders_buyer_email,
        solution="""\
order = get_order(2718)
final_answer(get_customer(order.customer_id).email)
""",
        json_calls=(("get_order", {"order_id": 2718}),),
    ),
    Task(
        id="compose-orders-shipping-quote",
        category="compose",
        toolset=ORDERS,
        instruction=(
            "Compute the shipping weight of order 3141 (the sum over its line items of the "
            "product's weight_kg times the quantity) and get a shipping quote for that weight "
            "to the order's ship_to country. Answer with the quote in USD rounded to 2 "
            "decimals."
        ),
        reference=_compose_orders_shipping_quote,
        solution="""\
order = get_order(3141)
weight = sum(get_product(item.sku).weight_kg * item.quantity for item in order.items)
final_answer(round(shipping_quote(weight, order.ship_to.country), 2))
""",
        json_calls=(("get_order", {"order_id": 3141}), ("get_product", {"sku": "GRD-0018"})),
    ),
    Task(
        id="compose-flights-first-out-of-jfk",
        category="compose",
        toolset=FLIGHTS,
        instruction=(
            "To which city does the first flight leaving JFK on 2025-03-05 fly? Answer with "
            "the city's name."
        ),
        reference=_compose_flights_first_out_of_jfk,
        solution="""\
import datetime

leaving = flights_from("JFK", datetime.date(2025, 3, 5))
first = min(leaving, key=lambda f: (f.departs, f.number))
final_answer(get_airport(first.destination).city)
""",
        json_calls=(("flights_from", {"origin": "JFK", "day": "2025-03-05"}),),
    ),
    Task(
        id="compose-clues-caesar-message",
        category="compose",
        toolset=CLUES,
        instruction=(
            "Message 5 is encoded with the CAESAR cipher. Decode it with caesar_shift and the "
            "message's key. Answer with the decoded text."
        ),
        reference=_compose_clues_caesar,
        solution="""\
message = get_message(5)
final_answer(caesar_shift(message.text, -message.key))
""",
        json_calls=(("get_message", {"message_id": 5}),),
    ),
    Task(
        id="compose-orders-namesake",
        category="compose",
        toolset=ORDERS,
        instruction=(
            "Several customers are named 'Hugo Ito'. Take the one who joined the shop first "
            "and answer with the number of orders that customer has placed (the number only)."
        ),
        reference=_compose_orders_namesake,
        solution="""\
matches = [c for c in find_customers("Hugo Ito") if c.name == "Hugo Ito"]
earliest = min(matches, key=lambda c: (c.joined, c.id))
final_answer(len(orders_of_customer(earliest.id)))
""",
        json_calls=(("find_customers", {"name": "Hugo Ito"}),),
    ),
    # ---- nested --------------------------------------------------------------------------
    Task(
        id="nested-company-engineering-cities",
        category="nested",
        toolset=COMPANY,
        instruction=(
            "In which cities do the employees of Globex's Engineering department live? Answer "
            "with a list of distinct city names sorted alphabetically."
        ),
        reference=_nested_company_engineering_cities,
        solution="""\
cities = set()
for department in get_company("Globex").departments:
    if department.name == "Engineering":
        for e in department.employees:
            cities.add(e.address.city)
final_answer(sorted(cities))
""",
        json_calls=(("get_company", {"name": "Globex"}),),
    ),
    Task(
        id="nested-company-remote-managers",
        category="nested",
        toolset=COMPANY,
        instruction=(
            "Across all companies, how many employees have a manager who lives in a different "
            "city than they do? Answer with the number only."
        ),
        reference=_nested_company_remote_managers,
        solution="""\
staff: dict[int, Employee] = {}
for name in list_companies():
    for department in get_company(name).departments:
        for e in department.employees:
            staff[e.id] = e
count = 0
for e in staff.values():
    if e.manager_id is not None and staff[e.manager_id].address.city != e.address.city:
        count += 1
final_answer(count)
""",
        json_calls=(("list_companies", {}), ("get_company", {"name": "Acme"})),
    ),
    Task(
        id="nested-company-budget-per-head",
        category="nested",
        toolset=COMPANY,
        instruction=(
            "Which department, across all companies, has the highest budget per employee? "
            "Answer as 'Company/Department', for example 'Acme/Sales'."
        ),
        reference=_nested_company_budget_per_head,
        solution="""\
best = ""
best_ratio = -1.0
for name in list_companies():
    for department in get_company(name).departments:
        ratio = department.budget / len(department.employees)
        if ratio > best_ratio:
            best = name + "/" + department.name
            best_ratio = ratio
final_answer(best)
""",
        json_calls=(("list_companies", {}), ("get_company", {"name": "Acme"})),
    ),
    Task(
        id="nested-orders-shipped-abroad",
        category="nested",
        toolset=ORDERS,
        instruction=(
            "How many orders are sent (ship_to) to a country other than the home country of "
            "the customer who placed them? Answer with the number only."
        ),
        reference=_nested_orders_shipped_abroad,
        solution="""\
homes = {c: get_customer(c).home.country for c in list_customer_ids()}
count = 0
for order_id in list_order_ids():
    order = get_order(order_id)
    if order.ship_to.country != homes[order.customer_id]:
        count += 1
final_answer(count)
""",
        json_calls=(("list_customer_ids", {}), ("list_order_ids", {}),
                    ("get_order", {"order_id": 1001})),
    ),
    Task(
        id="nested-orders-slow-deliveries",
        category="nested",
        toolset=ORDERS,
        instruction=(
            "Among DELIVERED orders, how many took more than 10 days from the day the order "
            "was placed to the day its shipment was delivered? Answer with the number only."
        ),
        reference=_nested_orders_slow_deliveries,
        solution="""\
count = 0
for order_id in list_order_ids():
    order = get_order(order_id)
    if order.status != OrderStatus.DELIVERED or order.shipment is None:
        continue
    delivered = order.shipment.delivered_on
    if delivered is not None and (delivered - order.placed_on).days > 10:
        count += 1
final_answer(count)
""",
        json_calls=(("list_order_ids", {}), ("get_order", {"order_id": 1001})),
    ),
    Task(
        id="nested-orders-returns-carrier",
        category="nested",
        toolset=ORDERS,
        instruction=(
            "Which carrier shipped the most of the orders that ended up RETURNED? Answer with "
            "the carrier's name only (break ties alphabetically)."
        ),
        reference=_nested_orders_returns_carrier,
        solution="""\
counts: dict[str, int] = {}
for order_id in list_order_ids():
    order = get_order(order_id)
    if order.status == OrderStatus.RETURNED and order.shipment is not None:
        carrier = order.shipment.carrier
        counts[carrier] = counts.get(carrier, 0) + 1
final_answer(sorted(counts, key=lambda c: (-counts[c], c))[0])
""",
        json_calls=(("list_order_ids", {}), ("get_order", {"order_id": 1001})),
    ),
    Task(
        id="nested-users-berlin-numbers",
        category="nested",
        toolset=USERS,
        instruction=(
            "How many active users live in Berlin at a street number (the number at the "
            "start of their street address) of 100 or more? Answer with the number only."
        ),
        reference=_nested_users_berlin_numbers,
        solution="""\
count = 0
for u in get_all_users():
    if u.active and u.address.city == "Berlin":
        if int(u.address.street.split()[0]) >= 100:
            count += 1
final_answer(count)
""",
        json_calls=(("get_all_users", {}),),
    ),
    Task(
        id="nested-orders-vip-discounted-units",
        category="nested",
        toolset=ORDERS,
        instruction=(
            "In the orders that used the coupon 'VIP20', add up the quantities of the line "
            "items that have a discount_pct of 15 or more. Answer with the number only."
        ),
        reference=_nested_orders_vip_discounted_units,
        solution="""\
total = 0
for order_id in list_order_ids():
    order = get_order(order_id)
    if order.coupon == "VIP20":
        total += sum(i.quantity for i in order.items if i.discount_pct >= 15)
final_answer(total)
""",
        json_calls=(("list_order_ids", {}), ("get_order", {"order_id": 1001})),
    ),
    # ---- multistep -----------------------------------------------------------------------
    Task(
        id="multistep-clues-saffron-word",
        category="multistep",
        toolset=CLUES,
        instruction=(
            "Follow the trail named 'saffron' from its first clue to its end, joining the "
            "symbols of the clues that are not decoys. Answer with the resulting word."
        ),
        reference=_multistep_clues_saffron_word,
        solution=_WALK_WORD.format(trail="saffron") + "final_answer(word)\n",
        json_calls=(("trail_start", {"trail": "saffron"}),),
    ),
    Task(
        id="multistep-clues-cobalt-lock",
        category="multistep",
        toolset=CLUES,
        instruction=(
            "The non-decoy symbols of the trail named 'cobalt' spell the name of a lock. Find "
            "that lock's code with probe_lock. Answer with the code as a number."
        ),
        reference=_multistep_clues_cobalt_lock,
        solution=_WALK_WORD.format(trail="cobalt") + _OPEN_LOCK
        + "final_answer(open_lock(word))\n",
        json_calls=(("trail_start", {"trail": "cobalt"}),),
    ),
    Task(
        id="multistep-clues-codebook",
        category="multistep",
        toolset=CLUES,
        instruction=(
            "Message 33 is encoded with the CODEBOOK cipher. Decode it and answer with the "
            "decoded words joined by single spaces."
        ),
        reference=_multistep_clues_codebook,
        solution="""\
message = get_message(33)
words = []
for reference in message.text.split():
    page, line = reference.split(".")
    words.append(codebook_word(int(page), int(line)))
final_answer(" ".join(words))
""",
        json_calls=(("get_message", {"message_id": 33}),),
    ),
    Task(
        id="multistep-clues-smallest-lock",
        category="multistep",
        toolset=CLUES,
        instruction=(
            "Find the code of every lock with probe_lock. Answer with the name of the lock "
            "whose code is the smallest."
        ),
        reference=_multistep_clues_smallest_lock,
        solution=_OPEN_LOCK + """\
codes = {lock: open_lock(lock) for lock in list_locks()}
final_answer(min(sorted(codes), key=lambda lock: codes[lock]))
""",
        json_calls=(("list_locks", {}), ("probe_lock", {"lock": "anchor", "guess": 5000})),
    ),
    Task(
        id="multistep-flights-cheapest-connection",
        category="multistep",
        toolset=FLIGHTS,
        instruction=(
            "Find the cheapest way to fly from TLV to JFK leaving on 2025-03-02: either one "
            "direct flight departing that day, or two flights where the first departs from "
            "TLV on 2025-03-02 and the second departs from the connecting airport on "
            "2025-03-02 or 2025-03-03, at least 60 minutes after the first arrives. Use only "
            "flights with at least one seat left. Answer with the total price in USD rounded "
            "to 2 decimals."
        ),
        reference=_multistep_flights_cheapest_connection,
        solution="""\
import datetime

day = datetime.date(2025, 3, 2)
days = [day, day + datetime.timedelta(days=1)]
layover = datetime.timedelta(minutes=60)
totals = []
for first in flights_from("TLV", day):
    if first.seats_left == 0:
        continue
    if first.destination == "JFK":
        totals.append(first.price)
        continue
    for connecting_day in days:
        for second in flights_from(first.destination, connecting_day):
            if (second.destination == "JFK" and second.seats_left > 0
                    and second.departs >= first.arrives + layover):
                totals.append(first.price + second.price)
final_answer(round(min(totals), 2))
""",
        json_calls=(("flights_from", {"origin": "TLV", "day": "2025-03-02"}),
                    ("destinations", {"origin": "TLV"})),
    ),
    Task(
        id="multistep-flights-two-hops",
        category="multistep",
        toolset=FLIGHTS,
        instruction=(
            "Ignoring dates, which airports can be reached from IST with exactly two flights "
            "but not with a single direct flight (IST itself excluded)? Answer with a list of "
            "IATA codes sorted alphabetically."
        ),
        reference=_multistep_flights_two_hops,
        solution="""\
direct = set(destinations("IST"))
two: set[str] = set()
for hub in direct:
    two.update(destinations(hub))
final_answer(sorted(two - direct - {"IST"}))
""",
        json_calls=(("destinations", {"origin": "IST"}),),
    ),
    Task(
        id="multistep-flights-earliest-arrival",
        category="multistep",
        toolset=FLIGHTS,
        instruction=(
            "Leaving Boston (BOS) no earlier than 2025-03-04 00:00 UTC, what is the earliest "
            "possible arrival in Tokyo (NRT) with at most two flights? A connection must "
            "depart at least 60 minutes after the previous flight arrives, and only flights "
            "with at least one seat left count. Answer with the arrival time in UTC as "
            "'YYYY-MM-DD HH:MM'."
        ),
        reference=_multistep_flights_earliest_arrival,
        solution="""\
import datetime

start = datetime.date(2025, 3, 4)
days = [d for d in schedule_days() if d >= start]
layover = datetime.timedelta(minutes=60)
best: datetime.datetime | None = None
for day in days:
    for first in flights_from("BOS", day):
        if first.seats_left == 0:
            continue
        if first.destination == "NRT":
            if best is None or first.arrives < best:
                best = first.arrives
            continue
        for connecting_day in days:
            if connecting_day < first.arrives.date():
                continue
            for second in flights_from(first.destination, connecting_day):
                if (second.destination == "NRT" and second.seats_left > 0
                        and second.departs >= first.arrives + layover):
                    if best is None or second.arrives < best:
                        best = second.arrives
assert best is not None
final_answer(best.isoformat(sep=" ", timespec="minutes"))
""",
        json_calls=(("destinations", {"origin": "BOS"}),
                    ("flights_from", {"origin": "BOS", "day": "2025-03-04"})),
    ),
    Task(
        id="multistep-orders-best-line",
        category="multistep",
        toolset=ORDERS,
        instruction=(
            "Find the customer who placed order 1500. Among all of that customer's orders, "
            "take the one with the highest value (the sum over its line items of quantity * "
            "unit_price * (1 - discount_pct / 100)); then take that order's most valuable line "
            "item. Answer with the name of that line item's product."
        ),
        reference=_multistep_orders_best_line,
        solution="""\
def line_value(item: LineItem) -> float:
    return item.quantity * item.unit_price * (1 - item.discount_pct / 100)


customer_id = get_order(1500).customer_id
mine = [get_order(order_id) for order_id in orders_of_customer(customer_id)]
top = max(mine, key=lambda order: sum(line_value(i) for i in order.items))
line = max(top.items, key=line_value)
final_answer(get_product(line.sku).name)
""",
        json_calls=(("get_order", {"order_id": 1500}),),
    ),
    # ---- aggregate, with pandas (the data policy) -----------------------------------------
    Task(
        id="aggregate-pandas-active-share-by-city",
        category="aggregate",
        toolset=USERS,
        policy="data",
        instruction=(
            "For every city, what share of its users is active? Answer with a dict from city "
            "to the share (a number from 0 to 1) rounded to 3 decimals."
        ),
        reference=_data_users_active_share_by_city,
        solution="""\
import pandas as pd

users = pd.DataFrame([u.model_dump() for u in get_all_users()])
users["city"] = users["address"].map(lambda a: a["city"])
share = users.groupby("city")["active"].mean().round(3)
final_answer(share.to_dict())
""",
        json_calls=(("get_all_users", {}),),
    ),
    Task(
        id="aggregate-pandas-inactive-per-month",
        category="aggregate",
        toolset=USERS,
        policy="data",
        instruction=(
            "How many inactive users had their last login in each month? Answer with a dict "
            "from the month as 'YYYY-MM' to the number of inactive users, months in order."
        ),
        reference=_data_users_inactive_per_month,
        solution="""\
import pandas as pd

users = pd.DataFrame([u.model_dump() for u in get_all_users()])
inactive = users[~users["active"]]
months = pd.to_datetime(inactive["last_login"]).dt.strftime("%Y-%m")
final_answer(months.value_counts().sort_index().to_dict())
""",
        json_calls=(("get_all_users", {}),),
    ),
    Task(
        id="aggregate-pandas-order-value-by-status",
        category="aggregate",
        toolset=ORDERS,
        policy="data",
        instruction=(
            "What is the mean value of an order in each order status? An order's value is the "
            "sum over its lines of quantity x unit price x (1 - discount percent / 100). "
            "Answer with a dict from status to the mean value rounded to 2 decimals."
        ),
        reference=_data_orders_mean_value_by_status,
        solution="""\
import pandas as pd

orders = [get_order(order_id) for order_id in list_order_ids()]
lines = pd.DataFrame([
    {"order": o.id, "status": o.status.value,
     "value": i.quantity * i.unit_price * (1 - i.discount_pct / 100)}
    for o in orders for i in o.items
])
per_order = lines.groupby(["order", "status"])["value"].sum().reset_index()
final_answer(per_order.groupby("status")["value"].mean().round(2).to_dict())
""",
        json_calls=(("list_order_ids", {}), ("get_order", {"order_id": 1001})),
    ),
]


def by_category() -> dict[str, list[Task]]:
    """The tasks grouped by category, in the order of ``spec.CATEGORIES``."""
    return {c: [t for t in TASKS if t.category == c] for c in CATEGORIES}
