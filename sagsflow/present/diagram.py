"""The phase graph drawn from the shared machine itself, as Mermaid text and as a plain SVG.

Every edge comes from the domain's graph (`statemachine.graph.edges`, read from the shared
machine itself), so a drawing cannot disagree with the machine that fires the events. Pure
value → text: no I/O, no graphviz.

Events that keep the phase (`dest: None`) are not drawn as self-loops. Mermaid (checked with
11.x) draws a state's self-loops on top of each other and shows one of their labels, so
clarification's four would read as one; they are listed in a `note right of <phase>` instead
(Mermaid may place it on either side). In the SVG they are listed small under the phase's box.

SVG layout: the phases in process order on two rows of four; a change to the next box on the
same row is a straight arrow, every other change runs on its own horizontal track between the
rows (track order searched for the fewest crossings). Events that lead from every open phase
into the end (`close`) are one dashed frame: a bus above the top row and one under the bottom
row, joined on the right into the last phase, each tick still one edge of `edges()`.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from sagsflow.present.i18n import Translator, translator
from statemachine.graph import PHASE_ORDER, Edge, edges, initial_phase
from statemachine.phases import Event, Phase
from statemachine.rulebook import Rulebook

__all__ = ["Edge", "edges", "mermaid", "svg"]  # Edge, edges: re-exported from the domain


def _moves(all_edges: Iterable[Edge]) -> dict[tuple[Phase, Phase], list[Event]]:
    """Phase-changing edges grouped by (source, dest), events in order."""
    grouped: dict[tuple[Phase, Phase], list[Event]] = {}
    for edge in all_edges:
        if not edge.stays:
            grouped.setdefault((edge.source, edge.dest), []).append(edge.event)
    return grouped


def _staying(all_edges: Iterable[Edge]) -> dict[Phase, list[Event]]:
    """Events that keep each phase."""
    staying: dict[Phase, list[Event]] = {}
    for edge in all_edges:
        if edge.stays and edge.event not in staying.setdefault(edge.source, []):
            staying[edge.source].append(edge.event)
    return staying


def _terminal(all_edges: Sequence[Edge]) -> list[Phase]:
    """Phases no event leaves or keeps: the end of the process."""
    busy = {edge.source for edge in all_edges}
    return [phase for phase in PHASE_ORDER if phase not in busy]


def mermaid(rulebook: Rulebook) -> str:
    """A Mermaid `stateDiagram-v2` of the machine; events that keep a phase become notes."""
    all_edges = edges(rulebook)
    lines = [
        "stateDiagram-v2",
        f"    %% Sagsflow — phases of good case practice (rulebook {rulebook.key})",
        f"    [*] --> {initial_phase(rulebook)}",
    ]
    for (source, dest), events in _moves(all_edges).items():
        lines.append(f"    {source} --> {dest}: {', '.join(events)}")
    for phase in _terminal(all_edges):
        lines.append(f"    {phase} --> [*]")
    for phase, events in _staying(all_edges).items():
        lines.append(f"    note right of {phase}")
        lines.append("        keeps the phase:")
        lines.extend(f"        {event}" for event in events)
        lines.append("    end note")
    return "\n".join(lines) + "\n"


# --- SVG ------------------------------------------------------------------------------------

FONT = "DejaVu Sans, Verdana, Arial, Helvetica, sans-serif"
COLUMNS = 4  # eight phases on two rows
BOX_W, BOX_H, GAP = 176.0, 44.0, 136.0
LEFT, TOP = 60.0, 92.0
TRACK = 24.0  # distance between two horizontal tracks of routed edges
PORT_STEP = 13.0  # distance between two edge ends on the right-hand strip of a box side
LINE = 13.5  # line height of the small "keeps the phase" lists
LABEL_SIZE, SMALL_SIZE, NAME_SIZE, TITLE_SIZE = 12.0, 10.5, 14.0, 18.0
INK, MUTED, CLOSE_INK = "#1f2d3d", "#5b6673", "#8a5a00"

# Advance widths of DejaVu Sans (em), enough to keep labels off each other's lines.
_WIDTHS = dict(
    zip(
        "abcdefghijklmnopqrstuvwxyz_ ,.():@-",
        (
            *(0.613, 0.635, 0.550, 0.635, 0.615, 0.352, 0.635, 0.634, 0.278, 0.278, 0.579),
            *(0.278, 0.974, 0.634, 0.612, 0.635, 0.635, 0.411, 0.521, 0.392, 0.634, 0.592),
            *(0.818, 0.592, 0.592, 0.525, 0.500, 0.318, 0.318, 0.318, 0.390, 0.390, 0.337),
            *(1.000, 0.361),
        ),
        strict=True,
    )
)


def _text_width(text: str, size: float) -> float:
    """Approximate rendered width of `text` in DejaVu Sans (a little generous for fallbacks)."""
    return size * sum(_WIDTHS.get(c, 0.70 if c.isupper() else 0.64) for c in text)


@dataclass(frozen=True)
class _Box:
    """Where a phase is drawn."""

    phase: Phase
    row: int
    col: int
    x: float
    y: float

    @property
    def right(self) -> float:
        """x of the box's right edge."""
        return self.x + BOX_W

    @property
    def bottom(self) -> float:
        """y of the box's bottom edge."""
        return self.y + BOX_H


@dataclass(frozen=True)
class _Route:
    """A phase change drawn along one horizontal track: up or down, across, then into the box."""

    source: Phase
    dest: Phase
    label: str
    source_side: str  # "top" or "bottom"
    dest_side: str


@dataclass(frozen=True)
class _PortRequest:
    """One line leaving a box side: which way it heads and how far out its track lies."""

    key: object
    heading: int  # -1 left, +1 right
    distance: float


def _place_ports(box: _Box, side: str, requests: list[_PortRequest]) -> dict[object, float]:
    """x of each line on a box side, nested so that lines on the same side never cross."""
    # Lines heading left go left of lines heading right; among those heading left the nearest
    # track is leftmost, among those heading right the farthest track is leftmost.
    lefts = sorted((r for r in requests if r.heading < 0), key=lambda r: r.distance)
    rights = sorted((r for r in requests if r.heading >= 0), key=lambda r: -r.distance)
    ordered = lefts + rights
    if side == "bottom":  # the "keeps the phase" list sits under the box: use the right strip
        start = box.right - 12 - PORT_STEP * (len(ordered) - 1)
        return {r.key: start + PORT_STEP * i for i, r in enumerate(ordered)}
    step = BOX_W / (len(ordered) + 1)
    return {r.key: box.x + step * (i + 1) for i, r in enumerate(ordered)}


def _wrap(name: str, width: float, size: float) -> list[str]:
    """Split an event name after underscores so each line fits `width`."""
    lines: list[str] = []
    for part in re.split(r"(?<=_)", name):
        if lines and _text_width(lines[-1] + part, size) <= width:
            lines[-1] += part
        else:
            lines.append(part)
    return lines


class _Canvas:
    """Collects SVG elements; every text goes through XML escaping here."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def text(
        self,
        x: float,
        y: float,
        content: str,
        *,
        size: float,
        fill: str = INK,
        anchor: str = "middle",
        weight: str = "normal",
        style: str = "normal",
        halo: bool = False,
        css_class: str = "",
    ) -> None:
        """One line of text; `halo` paints a white outline under it to keep it off lines."""
        extra = ' stroke="#ffffff" stroke-width="4" paint-order="stroke"' if halo else ""
        extra += f' class="{css_class}"' if css_class else ""
        self.parts.append(
            f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size:g}" fill="{fill}" '
            f'text-anchor="{anchor}" font-weight="{weight}" font-style="{style}"{extra}>'
            f"{escape(content)}</text>"
        )

    def text_lines(self, x: float, y: float, lines: Sequence[str], *, indent: float) -> None:
        """One small muted `<text>` whose wrapped continuation lines are indented tspans."""
        spans = "".join(
            f'<tspan x="{x + (indent if k else 0):.1f}" dy="{LINE if k else 0:g}">'
            f"{escape(line)}</tspan>"
            for k, line in enumerate(lines)
        )
        self.parts.append(
            f'<text x="{x:.1f}" y="{y:.1f}" font-size="{SMALL_SIZE:g}" fill="{MUTED}" '
            f'class="stays">{spans}</text>'
        )

    def path(
        self, points: Sequence[tuple[float, float]], *, close: bool = False, gap: bool = False
    ) -> None:
        """An orthogonal polyline with rounded corners, arrowhead at the end.

        With `gap`, a white underlay cuts the lines drawn before it, so crossings read as jumps.
        """
        if gap:
            self.parts.append(
                f'<path d="{_rounded(points)}" fill="none" stroke="#ffffff" stroke-width="6"/>'
            )
        self.parts.append(
            f'<path d="{_rounded(points)}" fill="none" '
            + (
                f'stroke="{CLOSE_INK}" stroke-width="1.4" stroke-dasharray="6 4" '
                if close
                else f'stroke="{INK}" stroke-width="1.6" '
            )
            + f'marker-end="url(#{"close-arrow" if close else "arrow"})"/>'
        )

    def line(self, points: Sequence[tuple[float, float]], *, close: bool) -> None:
        """A polyline without arrowhead (the dashed close bus)."""
        colour = CLOSE_INK if close else INK
        dash = ' stroke-dasharray="6 4"' if close else ""
        self.parts.append(
            f'<path d="{_rounded(points)}" fill="none" stroke="{colour}" stroke-width="1.4"{dash}/>'
        )


def _rounded(points: Sequence[tuple[float, float]], radius: float = 7.0) -> str:
    """SVG path data through `points`, corners rounded by `radius` where segments allow it."""
    x0, y0 = points[0]
    d = [f"M{x0:.1f},{y0:.1f}"]
    for i in range(1, len(points) - 1):
        (ax, ay), (bx, by), (cx, cy) = points[i - 1], points[i], points[i + 1]
        r = min(radius, math.dist((ax, ay), (bx, by)) / 2, math.dist((bx, by), (cx, cy)) / 2)
        if r <= 0.5:
            d.append(f"L{bx:.1f},{by:.1f}")
            continue
        ux, uy = _unit(bx - ax, by - ay)
        vx, vy = _unit(cx - bx, cy - by)
        d.append(f"L{bx - ux * r:.1f},{by - uy * r:.1f}")
        d.append(f"Q{bx:.1f},{by:.1f} {bx + vx * r:.1f},{by + vy * r:.1f}")
    xn, yn = points[-1]
    d.append(f"L{xn:.1f},{yn:.1f}")
    return " ".join(d)


def _unit(dx: float, dy: float) -> tuple[float, float]:
    """The direction of (dx, dy) as a unit vector."""
    length = math.hypot(dx, dy) or 1.0
    return dx / length, dy / length


def _bundled(
    moves: dict[tuple[Phase, Phase], list[Event]], terminal: Sequence[Phase]
) -> list[Event]:
    """Events that lead from every other phase into the last, terminal phase (e.g. close)."""
    last = PHASE_ORDER[-1]
    if last not in terminal:
        return []
    others = set(PHASE_ORDER) - {last}
    events = list(dict.fromkeys(e for (_, dest), evs in moves.items() if dest is last for e in evs))
    return [
        event
        for event in events
        if {s for (s, d), evs in moves.items() if d is last and event in evs} == others
    ]


_Segment = tuple[float, float, float, float]  # x1, y1, x2, y2 of a horizontal or vertical line


def _crossings(routes: Sequence[Sequence[_Segment]]) -> int:
    """How often a horizontal segment of one route crosses a vertical segment of another."""
    count = 0
    for a, b in itertools.permutations(range(len(routes)), 2):
        for hx1, hy1, hx2, hy2 in routes[a]:
            if hy1 != hy2:
                continue
            for vx1, vy1, vx2, vy2 in routes[b]:
                if vx1 != vx2:
                    continue
                inside_x = min(hx1, hx2) < vx1 < max(hx1, hx2)
                if inside_x and min(vy1, vy2) < hy1 < max(vy1, vy2):
                    count += 1
    return count


class _Router:
    """Orthogonal routing of phase changes on tracks between and around the two rows."""

    def __init__(self, boxes: dict[Phase, _Box]) -> None:
        self.boxes = boxes

    def side_y(self, phase: Phase, side: str) -> float:
        """y of a box's top or bottom edge."""
        box = self.boxes[phase]
        return box.y if side == "top" else box.bottom

    def heading(self, phase: Phase, other: Phase) -> int:
        """Which way a line leaving `phase` for `other` runs: -1 left, +1 right."""
        return -1 if self.boxes[other].col < self.boxes[phase].col else 1

    def geometry(
        self, routes: Sequence[_Route], tracks: Sequence[float]
    ) -> list[list[tuple[float, float]]]:
        """The polyline of each route when route i runs along the horizontal at tracks[i]."""
        requests: dict[tuple[Phase, str], list[_PortRequest]] = {}
        for i, route in enumerate(routes):
            for end, phase, other, side in (
                ("source", route.source, route.dest, route.source_side),
                ("dest", route.dest, route.source, route.dest_side),
            ):
                distance = abs(tracks[i] - self.side_y(phase, side))
                requests.setdefault((phase, side), []).append(
                    _PortRequest((i, end), self.heading(phase, other), distance)
                )
        ports: dict[object, float] = {}
        for (phase, side), wanted in requests.items():
            ports.update(_place_ports(self.boxes[phase], side, wanted))
        polylines = []
        for i, route in enumerate(routes):
            x1, x2 = ports[(i, "source")], ports[(i, "dest")]
            polylines.append(
                [
                    (x1, self.side_y(route.source, route.source_side)),
                    (x1, tracks[i]),
                    (x2, tracks[i]),
                    (x2, self.side_y(route.dest, route.dest_side)),
                ]
            )
        return polylines

    def best(
        self, routes: Sequence[_Route], tracks: Sequence[float]
    ) -> list[list[tuple[float, float]]]:
        """Assign routes to tracks with the fewest crossings (exhaustive for a handful)."""
        if not routes:
            return []
        candidates: Iterable[tuple[int, ...]]
        if len(routes) <= 7:
            candidates = itertools.permutations(range(len(routes)))
        else:  # a bigger graph than today's: no search, narrowest routes on the first tracks
            span = [abs(self.boxes[r.dest].col - self.boxes[r.source].col) for r in routes]
            candidates = [tuple(sorted(range(len(routes)), key=lambda i: span[i]))]
        best_key: tuple[int, float] | None = None
        best_lines: list[list[tuple[float, float]]] = []
        for order in candidates:
            assigned = [tracks[order.index(i)] for i in range(len(routes))]
            lines = self.geometry(routes, assigned)
            segments = [[(*a, *b) for a, b in itertools.pairwise(line)] for line in lines]
            length = sum(
                abs(line[1][1] - line[0][1]) + abs(line[3][1] - line[2][1]) for line in lines
            )
            key = (_crossings(segments), length)
            if best_key is None or key < best_key:
                best_key, best_lines = key, lines
        return best_lines


def svg(rulebook: Rulebook, t: Translator | None = None) -> str:
    """A self-contained SVG of the rulebook's phase graph (no fonts, scripts or links to fetch).

    With a Danish `t`, phases and events by their names and every word in Danish (the
    dashboard's); in English or without `t`, by their machine names (the contract names the API
    and the CLI use), with English words (docs/phases.svg).
    """
    words = t or translator("en")

    def name(value: Phase | Event) -> str:
        if t is None or t.lang != "da":
            return str(value)
        return t.phase(value) if isinstance(value, Phase) else t.event(value)

    all_edges = edges(rulebook)
    initial = initial_phase(rulebook)
    moves = _moves(all_edges)
    staying = _staying(all_edges)
    terminal = _terminal(all_edges)
    bundle = _bundled(moves, terminal)
    last = PHASE_ORDER[-1]
    bundle_sources = [p for p in PHASE_ORDER if p is not last] if bundle else []

    def place(phase: Phase) -> tuple[int, int]:
        index = PHASE_ORDER.index(phase)
        return index // COLUMNS, index % COLUMNS

    # Classify the phase changes: next box on the same row, around the top row, or across.
    adjacent: list[tuple[Phase, Phase, list[Event]]] = []
    routed: list[tuple[Phase, Phase, list[Event]]] = []
    above: list[tuple[Phase, Phase, list[Event]]] = []
    for (source, dest), events in moves.items():
        events = [e for e in events if not (dest is last and e in bundle)]
        if not events:
            continue
        (s_row, s_col), (d_row, d_col) = place(source), place(dest)
        if s_row == d_row and d_col == s_col + 1:
            adjacent.append((source, dest, events))
        elif s_row == d_row == 0:
            above.append((source, dest, events))
        else:
            routed.append((source, dest, events))

    # The "keeps the phase" lists, wrapped to leave the right strip free for edge ends.
    bottom_ports = {p: 0 for p in PHASE_ORDER}
    for source, dest, _ in routed:
        for phase in (source, dest):
            if place(phase)[0] == 0:
                bottom_ports[phase] += 1
    for phase in bundle_sources:
        if place(phase)[0] == 1:
            bottom_ports[phase] += 1
    stays_lines: dict[Phase, list[list[str]]] = {}  # per event, its wrapped lines
    for phase, events in staying.items():
        strip = 8 + 12 + PORT_STEP * (bottom_ports[phase] - 1) if bottom_ports[phase] else 0
        width = BOX_W - 6 - strip
        stays_lines[phase] = [_wrap(name(event), width, SMALL_SIZE) for event in events]
    rows_stays = [0.0, 0.0]
    for phase, listed in stays_lines.items():
        row = place(phase)[0]
        count = sum(len(wrapped) for wrapped in listed)
        rows_stays[row] = max(rows_stays[row], LINE * (count + 1))

    top_bus = TOP
    row0_y = TOP + 34 + TRACK * len(above)
    channel_y = row0_y + BOX_H + rows_stays[0] + 26
    row1_y = channel_y + TRACK * max(len(routed) - 1, 0) + 34
    bottom_bus = row1_y + BOX_H + rows_stays[1] + 18
    boxes = {}
    for phase in PHASE_ORDER:
        row, col = place(phase)
        boxes[phase] = _Box(
            phase, row, col, LEFT + col * (BOX_W + GAP), row0_y if row == 0 else row1_y
        )
    rail = max(b.right for b in boxes.values()) + 36
    width = rail + 44
    legend_y = bottom_bus + 44
    height = legend_y + 30

    router = _Router(boxes)
    routes = [
        _Route(
            s,
            d,
            ", ".join(name(e) for e in evs),
            "bottom" if place(s)[0] == 0 else "top",
            "bottom" if place(d)[0] == 0 else "top",
        )
        for s, d, evs in routed
    ]
    routed_lines = router.best(routes, [channel_y + TRACK * i for i in range(len(routes))])
    above_routes = [
        _Route(s, d, ", ".join(name(e) for e in evs), "top", "top") for s, d, evs in above
    ]
    above_routes.sort(key=lambda r: abs(place(r.dest)[1] - place(r.source)[1]))
    lines_above = router.geometry(
        above_routes, [row0_y - 24 - TRACK * i for i in range(len(above_routes))]
    )

    canvas = _Canvas()
    canvas.parts.append(f'<rect width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>')
    canvas.text(
        20,
        36,
        words("diagram.svg_title", rulebook=rulebook.key),
        size=TITLE_SIZE,
        anchor="start",
        weight="bold",
    )
    n_moves = sum(1 for e in all_edges if not e.stays)
    canvas.text(
        20,
        58,
        words(
            "diagram.svg_subtitle",
            moves=words(f"diagram.moves.{'one' if n_moves == 1 else 'other'}", n=n_moves),
            stays=words(
                f"diagram.stays.{'one' if len(all_edges) - n_moves == 1 else 'other'}",
                n=len(all_edges) - n_moves,
            ),
        ),
        size=SMALL_SIZE + 1,
        anchor="start",
        fill=MUTED,
    )

    # Routed phase changes, with labels on their horizontal run clear of other lines.
    all_lines = [
        *zip(routed_lines, routes, strict=True),
        *zip(lines_above, above_routes, strict=True),
    ]
    verticals = [
        (i, line[k][0], line[k][1], line[k + 1][1])
        for i, (line, _) in enumerate(all_lines)
        for k in range(len(line) - 1)
        if line[k][0] == line[k + 1][0]
    ]
    for line, _ in all_lines:
        canvas.path(line, gap=True)
    for i, (line, route) in enumerate(all_lines):
        (x1, y), (x2, _) = line[1], line[2]
        label_w = _text_width(route.label, LABEL_SIZE)
        canvas.text(
            _label_x(min(x1, x2), max(x1, x2), y, label_w, [v for v in verticals if v[0] != i]),
            y - 5,
            route.label,
            size=LABEL_SIZE,
            halo=True,
            css_class="event",
        )

    for source, dest, events in adjacent:
        a, b = boxes[source], boxes[dest]
        mid = a.y + BOX_H / 2
        canvas.path([(a.right, mid), (b.x, mid)])
        for k, event in enumerate(reversed(events)):
            canvas.text(
                (a.right + b.x) / 2,
                mid - 7 - k * (LABEL_SIZE + 2),
                name(event),
                size=LABEL_SIZE,
                halo=True,
                css_class="event",
            )

    if bundle:
        _draw_bundle(
            canvas,
            boxes,
            words("diagram.bundle", events=", ".join(name(e) for e in bundle)),
            bundle_sources,
            last,
            top_bus,
            bottom_bus,
            rail,
        )

    first = boxes[initial]
    start_y = first.y + BOX_H / 2
    canvas.parts.append(f'<circle cx="{first.x - 40:.1f}" cy="{start_y:.1f}" r="7" fill="{INK}"/>')
    canvas.path([(first.x - 33, start_y), (first.x, start_y)])

    for phase, box in boxes.items():
        ends = phase in terminal
        canvas.parts.append(
            f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{BOX_W:g}" height="{BOX_H:g}" '
            f'rx="12" fill="{"#eceff3" if ends else "#e8f1fb"}" stroke="#2f5f8f" '
            f'stroke-width="{2.2 if ends else 1.6}"/>'
        )
        if ends:
            canvas.parts.append(
                f'<rect x="{box.x + 4:.1f}" y="{box.y + 4:.1f}" width="{BOX_W - 8:g}" '
                f'height="{BOX_H - 8:g}" rx="9" fill="none" stroke="#2f5f8f" stroke-width="1"/>'
            )
        canvas.text(
            box.x + BOX_W / 2,
            box.y + BOX_H / 2 + 5,
            name(phase),
            size=NAME_SIZE,
            weight="bold",
            css_class="phase",
        )
        lines_under = stays_lines.get(phase, [])
        if lines_under:
            y = box.bottom + LINE + 1
            canvas.text(
                box.x + 4,
                y,
                words("diagram.keeps"),
                size=SMALL_SIZE - 1,
                anchor="start",
                fill=MUTED,
                style="italic",
            )
            for wrapped in lines_under:
                y += LINE
                canvas.text_lines(box.x + 8, y, wrapped, indent=10)
                y += LINE * (len(wrapped) - 1)

    _draw_legend(canvas, legend_y, bool(bundle), ", ".join(name(e) for e in bundle), words)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="{FONT}" role="img">\n'
        f"<title>{escape(words('diagram.svg_title', rulebook=rulebook.key))}"
        "</title>\n"
        f"{_defs()}\n" + "\n".join(canvas.parts) + "\n</svg>\n"
    )


def _label_x(
    lo: float,
    hi: float,
    y: float,
    width: float,
    verticals: Sequence[tuple[int, float, float, float]],
) -> float:
    """Centre of a label on the run lo..hi at height y, clear of other routes' verticals."""
    middle = (lo + hi) / 2
    first, final = lo + width / 2 + 6, hi - width / 2 - 6
    if first > final:
        return middle
    blocking = [x for _, x, y1, y2 in verticals if min(y1, y2) < y and max(y1, y2) > y - 18]
    steps = int((final - first) / 4) + 1
    for k in sorted(range(steps), key=lambda k: abs(first + 4 * k - middle)):
        centre = first + 4 * k
        if all(abs(x - centre) > width / 2 + 4 for x in blocking):
            return centre
    return middle


def _draw_bundle(
    canvas: _Canvas,
    boxes: dict[Phase, _Box],
    label: str,
    sources: Sequence[Phase],
    dest: Phase,
    top_bus: float,
    bottom_bus: float,
    rail: float,
) -> None:
    """The events from every open phase into the end (close): one dashed frame of buses,
    labelled `label`."""
    target = boxes[dest]
    mid = target.y + BOX_H / 2
    upper = [boxes[p] for p in sources if boxes[p].row == 0]
    lower = [boxes[p] for p in sources if boxes[p].row != 0]
    arrow_drawn = False
    for row_boxes, bus, edge in ((upper, top_bus, "top"), (lower, bottom_bus, "bottom")):
        if not row_boxes:
            continue
        ticks = [box.right - 12 for box in row_boxes]
        for box, x in zip(row_boxes, ticks, strict=True):
            canvas.line([(x, box.y if edge == "top" else box.bottom), (x, bus)], close=True)
        points = [(min(ticks), bus), (rail, bus), (rail, mid)]
        if arrow_drawn:
            canvas.line(points, close=True)
        else:
            canvas.path([*points, (target.right, mid)], close=True)
            arrow_drawn = True
        for x in ticks[1:]:
            canvas.parts.append(f'<circle cx="{x:.1f}" cy="{bus:.1f}" r="2.4" fill="{CLOSE_INK}"/>')
        width = _text_width(label, LABEL_SIZE)
        x = _label_x(min(ticks), rail, bus + 5, width, [(0, t, bus - 40, bus + 40) for t in ticks])
        canvas.text(
            x,
            bus - 5 if edge == "top" else bus + 15,
            label,
            size=LABEL_SIZE,
            fill=CLOSE_INK,
            halo=True,
            css_class="event",
        )


def _draw_legend(
    canvas: _Canvas, y: float, has_bundle: bool, bundle: str, words: Translator
) -> None:
    """One line explaining the marks."""
    x = 20.0
    canvas.path([(x, y), (x + 34, y)])
    x += 42
    text = words("diagram.legend_moves")
    canvas.text(x, y + 4, text, size=SMALL_SIZE + 0.5, anchor="start", fill=MUTED)
    x += _text_width(text, SMALL_SIZE + 0.5) + 28
    if has_bundle:
        canvas.path([(x, y), (x + 34, y)], close=True)
        x += 42
        text = words("diagram.legend_bundle", events=bundle)
        canvas.text(x, y + 4, text, size=SMALL_SIZE + 0.5, anchor="start", fill=MUTED)
        x += _text_width(text, SMALL_SIZE + 0.5) + 28
    text = words("diagram.legend_stays")
    canvas.text(x, y + 4, text, size=SMALL_SIZE + 0.5, anchor="start", fill=MUTED, style="italic")


def _defs() -> str:
    """Arrowheads for the two line styles."""
    marker = (
        '<marker id="{id}" viewBox="0 0 10 10" refX="9.5" refY="5" markerWidth="{size}" '
        'markerHeight="{size}" orient="auto"><path d="M0,0.5 L10,5 L0,9.5 z" fill="{fill}"/>'
        "</marker>"
    )
    return (
        "<defs>"
        + marker.format(id="arrow", size=6.5, fill=INK)
        + marker.format(id="close-arrow", size=7, fill=CLOSE_INK)
        + "</defs>"
    )
