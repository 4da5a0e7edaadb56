"""Call auction (板寄せ, itayose): one uniform price for every order collected.

The price rules follow JPX's itayose method (JPX, "Trading Methodology: Itayose",
https://www.jpx.co.jp/english/equities/trading/domestic/06.html; Tokyo Stock Exchange
Business Regulations art. 12 and Enforcement Rules art. 18): at the price, (1) all market
orders are filled, (2) every bid above and every ask below the price is filled, and (3) all
orders on one side at the price are filled; orders collected for the auction have no time
priority. Among qualifying prices we take the largest volume, then the smallest imbalance,
then the price nearest the reference price (then the lower).

Constraints turn volume into a matching problem: at each price the volume is a maximum flow
from bids to the asks each may buy (one licence per dataset for a distinct-datasets bid).
"Filled" in (1)-(3) then means filled as far as the order's constraints allow: an order
fails a condition only when more quantity on the other side would have filled it further.
An unlimited ask never needs filling and supplies whatever eligible demand wants.
"""

from heapq import heappop, heappush
from itertools import pairwise

from .flow import SINK, SOURCE, Network
from .orders import Order, canonical_key
from .terms import eligible
from .types import MAX_PRICE


class AuctionPlan:
    """The outcome of a call auction: price, volume, imbalance and each allocation."""

    def __init__(
        self, price: int | None, volume: int, imbalance: int, fills: list[tuple[str, str, int]]
    ) -> None:
        self.price = price
        self.volume = volume
        self.imbalance = imbalance
        self.fills = fills


class _Graph:
    """Who may buy from whom among the collected orders, independent of the price."""

    def __init__(self, orders: list[Order]) -> None:
        ordered = sorted(orders, key=_auction_key)
        self.bids = [o for o in ordered if o.is_buy]
        self.asks = [o for o in ordered if not o.is_buy]
        finite = sum(o.qty for o in ordered if not o.unlimited)
        self.infinite = finite + 1
        # A pair trades at a uniform price p only when bid >= p >= ask: pairs whose prices do
        # not cross never share a network, so they are left out (a thin book's auction then
        # costs little however many orders rest away from the price).
        self.pairs: list[list[int]] = []
        for bid in self.bids:
            self.pairs.append(
                [
                    j
                    for j, ask in enumerate(self.asks)
                    if (bid.is_market or ask.is_market or ask.price <= bid.price)
                    and _may_trade(bid, ask)
                ]
            )

    def network(
        self, bids: list[int], asks: list[int], bids_unbounded: bool, asks_unbounded: bool
    ) -> tuple[Network, list[int], list[int]]:
        """Flow network over chosen bids and asks; returns it with bid and ask edge numbers."""
        net = Network()
        ask_node: dict[int, int] = {}
        ask_edges: list[int] = []
        for j in asks:
            ask = self.asks[j]
            node = net.add_node()
            ask_node[j] = node
            bounded = not (asks_unbounded or ask.unlimited)
            ask_edges.append(net.add_edge(node, SINK, ask.qty if bounded else self.infinite))
        bid_edges: list[int] = []
        for i in bids:
            bid = self.bids[i]
            node = net.add_node()
            bid_edges.append(
                net.add_edge(SOURCE, node, self.infinite if bids_unbounded else bid.qty)
            )
            by_dataset: dict[str, int] = {}
            for j in self.pairs[i]:
                target = ask_node.get(j)
                if target is None:
                    continue
                dataset = self.asks[j].dataset_id()
                if bid.bought is None or dataset is None:
                    net.add_edge(node, target, self.infinite)
                    continue
                # A distinct-datasets bid takes at most one licence of each dataset.
                hub = by_dataset.get(dataset)
                if hub is None:
                    hub = net.add_node()
                    by_dataset[dataset] = hub
                    net.add_edge(node, hub, 1)
                net.add_edge(hub, target, self.infinite)
        return net, bid_edges, ask_edges

    def flow(
        self, bids: list[int], asks: list[int], bids_unbounded: bool, asks_unbounded: bool
    ) -> int:
        """Maximum volume between chosen bids and asks."""
        if not bids or not asks:
            return 0
        return self.network(bids, asks, bids_unbounded, asks_unbounded)[0].max_flow()


def plan_auction(orders: list[Order], reference: int | None) -> AuctionPlan:
    """Find the uniform price and allocation for the collected orders.

    Prices are ranked by (largest volume, smallest imbalance, nearest the reference, lowest)
    and the best-ranked price meeting the conditions is chosen; with none (constraints only),
    the best-ranked. A volume is a maximum flow, so prices are visited lazily: the executable
    demand and supply cap each price's volume, and a price's flow is computed only once its cap
    reaches the volume of the best-ranked price not yet examined.
    """
    graph = _Graph(_could_trade(orders))
    limits = sorted({o.price for o in graph.bids + graph.asks if not o.is_market})
    pool = sorted(
        ((_volume_cap(graph, price), price) for price in _candidates(limits, reference)),
        reverse=True,
    )
    waiting: list[tuple[int, int, int, int]] = []
    first: tuple[int, int, int, int] | None = None
    taken = 0
    while True:
        # Compute every price whose cap could tie or beat the best-ranked waiting price.
        while taken < len(pool) and (not waiting or pool[taken][0] >= -waiting[0][0]):
            cap, price = pool[taken]
            taken += 1
            volume = _volume(graph, price) if cap else 0
            if volume:
                distance = abs(price - reference) if reference is not None else 0
                heappush(waiting, (-volume, _imbalance(graph, price), distance, price))
        if not waiting:
            break
        key = heappop(waiting)
        if first is None:
            first = key
        if _qualifies(graph, key[3]):
            return AuctionPlan(key[3], -key[0], key[1], _allocate(graph, key[3]))
    if first is None:
        return AuctionPlan(None, 0, 0, [])
    return AuctionPlan(first[3], -first[0], first[1], _allocate(graph, first[3]))


def _volume_cap(graph: _Graph, price: int) -> int:
    """An upper bound of the volume at a price: executable demand, or supply when smaller."""
    demand = sum(b.qty for b in graph.bids if b.is_market or b.price >= price)
    asks = [a for a in graph.asks if a.is_market or a.price <= price]
    if any(a.unlimited for a in asks):
        return demand
    return min(demand, sum(a.qty for a in asks))


def _could_trade(orders: list[Order]) -> list[Order]:
    """Drop bids below every ask and asks above every bid: they trade at no price."""
    asks = [o for o in orders if not o.is_buy]
    bids = [o for o in orders if o.is_buy]
    if not asks or not bids:
        return []
    lowest = min(0 if o.is_market else o.price for o in asks)
    highest = max(MAX_PRICE + 1 if o.is_market else o.price for o in bids)
    return [o for o in orders if o.is_market or (lowest <= o.price <= highest)]


def _candidates(limits: list[int], reference: int | None) -> list[int]:
    """Limit prices, plus the best price strictly inside each gap between them."""
    if not limits:
        return [] if reference is None else [reference]
    found = list(limits)
    for low, high in pairwise(limits):
        if high - low >= 2:
            inside = low + 1 if reference is None else min(max(reference, low + 1), high - 1)
            found.append(inside)
    return sorted(found)


def _sides(graph: _Graph, price: int) -> tuple[list[int], list[int]]:
    """Indexes of the bids and asks executable at a price."""
    bids = [i for i, b in enumerate(graph.bids) if b.is_market or b.price >= price]
    asks = [j for j, a in enumerate(graph.asks) if a.is_market or a.price <= price]
    return bids, asks


def _volume(graph: _Graph, price: int) -> int:
    """Largest allocation at a price that respects every constraint."""
    bids, asks = _sides(graph, price)
    return graph.flow(bids, asks, False, False)


def _qualifies(graph: _Graph, price: int) -> bool:
    """Whether a price meets the three itayose conditions (see the module docstring)."""
    bids, asks = _sides(graph, price)
    must_bids = [i for i in bids if graph.bids[i].is_market or graph.bids[i].price > price]
    finite_asks = [j for j in asks if not graph.asks[j].unlimited]
    must_asks = [j for j in finite_asks if graph.asks[j].is_market or graph.asks[j].price < price]
    flow = graph.flow
    bids_filled = flow(must_bids, asks, False, False) == flow(must_bids, asks, False, True)
    asks_filled = flow(bids, must_asks, False, False) == flow(bids, must_asks, True, False)
    one_side = flow(bids, asks, False, False) == flow(bids, asks, False, True) or flow(
        bids, finite_asks, False, False
    ) == flow(bids, finite_asks, True, False)
    return bids_filled and asks_filled and one_side


def _imbalance(graph: _Graph, price: int) -> int:
    """Executable demand minus supply at a price (unlimited asks supply all demand)."""
    demand = sum(b.qty for b in graph.bids if b.is_market or b.price >= price)
    asks = [a for a in graph.asks if a.is_market or a.price <= price]
    if any(a.unlimited for a in asks):
        return 0
    return abs(demand - sum(a.qty for a in asks))


def _allocate(graph: _Graph, price: int) -> list[tuple[str, str, int]]:
    """Allocate at the price: better-priced orders first, equal ones unit by unit in turn."""
    bids, asks = _sides(graph, price)
    net, bid_edges, ask_edges = graph.network(bids, asks, False, False)
    edge_of_bid = dict(zip(bids, bid_edges, strict=True))
    for group in _classes([graph.bids[i] for i in bids], bids):
        turn = sorted(group, key=lambda i: (-graph.bids[i].qty, graph.bids[i].id))
        while turn:
            turn = [i for i in turn if net.push_one_via(edge_of_bid[i])]
    # Asks that must fill take volume from worse-placed asks (bids keep what they got).
    for rank, j in enumerate(asks):
        ask = graph.asks[j]
        if ask.unlimited or not (ask.is_market or ask.price < price):
            continue
        moved = True
        while moved:
            moved = any(
                net.shift_one(ask_edges[k], ask_edges[rank]) for k in range(len(asks) - 1, rank, -1)
            )
    return _fills(graph, net, bids, asks, bid_edges, ask_edges)


def _classes(bids: list[Order], indexes: list[int]) -> list[list[int]]:
    """Bid indexes grouped by priority: market orders, then each price from the highest."""
    groups: dict[tuple[int, int], list[int]] = {}
    for bid, index in zip(bids, indexes, strict=True):
        groups.setdefault((0, 0) if bid.is_market else (1, -bid.price), []).append(index)
    return [groups[key] for key in sorted(groups)]


def _fills(
    graph: _Graph,
    net: Network,
    bids: list[int],
    asks: list[int],
    bid_edges: list[int],
    ask_edges: list[int],
) -> list[tuple[str, str, int]]:
    """Read the allocation off the network: (buy id, sell id, licences)."""
    ask_of_node = {net.target[edge ^ 1]: j for edge, j in zip(ask_edges, asks, strict=True)}
    fills: list[tuple[str, str, int]] = []
    for i, edge in zip(bids, bid_edges, strict=True):
        per_ask: dict[int, int] = {}
        _collect(net, net.target[edge], ask_of_node, per_ask)
        for j in sorted(per_ask):
            fills.append((graph.bids[i].id, graph.asks[j].id, per_ask[j]))
    return fills


def _collect(net: Network, node: int, ask_of_node: dict[int, int], per_ask: dict[int, int]) -> None:
    """Sum the flow from a bid's node (directly or through dataset hubs) into each ask."""
    for edge in net.adjacent[node]:
        if edge % 2 or net.flow(edge) == 0:
            continue
        head = net.target[edge]
        if head in ask_of_node:
            j = ask_of_node[head]
            per_ask[j] = per_ask.get(j, 0) + net.flow(edge)
        else:
            _collect(net, head, ask_of_node, per_ask)


def _may_trade(bid: Order, ask: Order) -> bool:
    """Whether a bid may buy from an ask at all (constraints, self-trade, datasets bought)."""
    if not eligible(bid.participant, bid.constraints, ask.participant, ask.terms):
        return False
    dataset = ask.dataset_id()
    return bid.bought is None or dataset is None or dataset not in bid.bought


def _auction_key(order: Order) -> tuple[int, int, str]:
    """Auction priority without time: side, market first, price (asks: then quality), id."""
    side, rank, _ = canonical_key(order)
    return (side, rank, order.id)
