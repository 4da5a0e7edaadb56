"""A small residual flow network (Edmonds–Karp) for call-auction allocation."""

from collections import deque

SOURCE = 0
SINK = 1


class Network:
    """Directed graph with integer capacities; edge e and e ^ 1 are each other's reverse."""

    def __init__(self) -> None:
        self.adjacent: list[list[int]] = [[], []]
        self.target: list[int] = []
        self.capacity: list[int] = []

    def add_node(self) -> int:
        """Create a node and return its number."""
        self.adjacent.append([])
        return len(self.adjacent) - 1

    def add_edge(self, tail: int, head: int, capacity: int) -> int:
        """Add an edge and its zero-capacity reverse; return the forward edge's number."""
        edge = len(self.target)
        self.target.append(head)
        self.capacity.append(capacity)
        self.adjacent[tail].append(edge)
        self.target.append(tail)
        self.capacity.append(0)
        self.adjacent[head].append(edge + 1)
        return edge

    def flow(self, edge: int) -> int:
        """Flow currently on a forward edge (the capacity of its reverse)."""
        return self.capacity[edge ^ 1]

    def max_flow(self) -> int:
        """Push as much as possible from SOURCE to SINK; return the total pushed now."""
        total = 0
        while True:
            path = self._path(SOURCE, SINK, -1)
            if path is None:
                return total
            amount = min(self.capacity[e] for e in path)
            self._push(path, amount)
            total += amount

    def push_one_via(self, first: int) -> bool:
        """Push one unit SOURCE -> SINK whose first edge is `first`; False when impossible."""
        if self.capacity[first] == 0:
            return False
        path = self._path(self.target[first], SINK, SOURCE)
        if path is None:
            return False
        self._push([first, *path], 1)
        return True

    def shift_one(self, from_edge: int, to_edge: int) -> bool:
        """Move one unit of sink inflow from edge `from_edge` to edge `to_edge`, keeping sources."""
        if self.flow(from_edge) == 0 or self.capacity[to_edge] == 0:
            return False
        start = self.target[from_edge ^ 1]
        goal = self.target[to_edge ^ 1]
        path = self._path(start, goal, SOURCE, SINK)
        if path is None:
            return False
        self._push([from_edge ^ 1, *path, to_edge], 1)
        return True

    def _push(self, path: list[int], amount: int) -> None:
        """Send `amount` along a path of edges."""
        capacity = self.capacity
        for edge in path:
            capacity[edge] -= amount
            capacity[edge ^ 1] += amount

    def _path(self, start: int, goal: int, avoid: int, avoid_too: int = -1) -> list[int] | None:
        """Shortest residual path of edges from start to goal avoiding two nodes (BFS)."""
        if start == goal:
            return []
        via: dict[int, int] = {start: -1}
        queue = deque([start])
        target = self.target
        capacity = self.capacity
        while queue:
            node = queue.popleft()
            for edge in self.adjacent[node]:
                head = target[edge]
                if capacity[edge] <= 0 or head in via or head in (avoid, avoid_too):
                    continue
                via[head] = edge
                if head == goal:
                    path: list[int] = []
                    while head != start:
                        edge = via[head]
                        path.append(edge)
                        head = target[edge ^ 1]
                    path.reverse()
                    return path
                queue.append(head)
        return None
