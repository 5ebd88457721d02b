"""What every chart shares: the house style, the words and numbers of the reader, the SVG document.

matplotlib with the Agg backend and no pyplot (thread-safe in app servers). The palette is Okabe
and Ito's (2008), which colour-blind readers tell apart; no information is given by colour alone
(the charts add hatches, shapes and letters).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")

from lxml import etree  # noqa: E402
from matplotlib import rc_context  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from trialdesk.clinical.response import ResponseCategory  # noqa: E402

SVG_NS = "http://www.w3.org/2000/svg"

# Okabe & Ito (2008)
BLUE = "#0072B2"
SKY = "#56B4E9"
GREEN = "#009E73"
ORANGE = "#E69F00"
VERMILLION = "#D55E00"
PURPLE = "#CC79A7"
GREY = "#7f8894"
LIGHT = "#d9dee4"
INK = "#1d2733"
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h", "*", "p")


def _identity(message: str) -> str:
    return message


def _english_plural(singular: str, plural: str, n: int) -> str:
    return singular if n == 1 else plural


def _plain_number(value: float, decimals: int = 0) -> str:
    return f"{round(value, decimals):.{decimals}f}"


#: the full names of the response categories (msgids; the same words as the assessments' labels)
RESPONSE_NAMES = {
    ResponseCategory.CR: "Complete response (CR)",
    ResponseCategory.CRP: "Complete response without platelet recovery (CRp)",
    ResponseCategory.PR: "Partial response (PR)",
    ResponseCategory.NO_RESPONSE: "No response",
    ResponseCategory.PROGRESSION: "Progression",
    ResponseCategory.RELAPSE: "Relapse after CR/CRp",
}


@dataclass(frozen=True)
class ChartText:
    """The reader's words and numbers. Pass Django's ``gettext``/``ngettext`` (or any pair) for
    the labels in the active language; the default is English."""

    gettext: Callable[[str], str] = _identity
    ngettext: Callable[[str, str, int], str] = _english_plural
    #: a number with ``decimals`` decimals, as the reader writes it (12,5 in French)
    number: Callable[[float, int], str] = _plain_number
    #: a response category's full name; None: ``RESPONSE_NAMES`` through ``gettext``
    response_name: Callable[[ResponseCategory], str] | None = None

    def response(self, category: ResponseCategory | None) -> str:
        if category is None:
            return self.gettext("Not assessed after the baseline")
        if self.response_name is not None:
            return self.response_name(category)
        return self.gettext(RESPONSE_NAMES[category])


@dataclass(frozen=True)
class ChartOptions:
    """What differs between the pages that draw the charts."""

    width: float = 8.0  # inches: the plotting width (the legend beside it); pages scale the image
    #: text drawn as paths (a PDF renderer shows the labels exactly as laid out); else text stays text
    text_as_paths: bool = False
    #: up to this many bars, each is named under the axis and lettered with its best response
    labelled_bars: int = 40
    #: up to this many series, each has its markers and its name at its end; beyond, one
    #: collection of thin lines (thousands of markers would say nothing more)
    labelled_series: int = 25
    #: up to this many rows of the swimmer plot, each is named, with its doses and best response
    labelled_rows: int = 60
    #: the swimmer plot draws the longest on study only (None: every subject, as thin rows)
    swimmer_rows: int | None = None
    #: the tallest swimmer plot, in inches
    max_height: float = 11.0
    #: salt of the SVG's element ids (stable output)
    hash_salt: str = "trialdesk-charts"
    extra_style: dict = field(default_factory=dict)

    def style(self) -> dict:
        return {
            "svg.fonttype": "path" if self.text_as_paths else "none",
            "svg.hashsalt": self.hash_salt,
            "font.family": "DejaVu Sans",
            "font.size": 10,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 11,
            "legend.fontsize": 9,
            "hatch.linewidth": 0.8,
            **self.extra_style,
        }


@dataclass(frozen=True)
class Chart:
    name: str
    title: str
    description: str  # what the chart shows, in a sentence (the image's alt text and the SVG's <desc>)
    svg: str
    empty: bool = False  # nothing to draw: the chart says so


def svg_document(figure: Figure, title: str, description: str) -> str:
    """The figure as an SVG document with its ``<title>`` and ``<desc>`` (role img)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight", pad_inches=0.1)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    root = etree.fromstring(buffer.getvalue(), parser)
    root.set("role", "img")
    root.set("aria-labelledby", "chart-title chart-desc")
    desc = etree.Element(f"{{{SVG_NS}}}desc", id="chart-desc")
    desc.text = description
    heading = etree.Element(f"{{{SVG_NS}}}title", id="chart-title")
    heading.text = title
    root.insert(0, desc)
    root.insert(0, heading)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8").decode("utf-8")


def no_data_chart(name: str, title: str, text: ChartText, options: ChartOptions) -> Chart:
    """A chart with nothing to draw: its frame and the words saying so."""
    _ = text.gettext
    description = _("No data to draw yet.")
    with rc_context(options.style()):
        figure = Figure(figsize=(options.width, 1.6))
        axes = figure.add_subplot()
        axes.set_axis_off()
        axes.text(0.5, 0.5, description, ha="center", va="center", fontsize=11, color=GREY)
        return Chart(name, title, description, svg_document(figure, title, description), empty=True)


def number_axis(axis, text: ChartText, decimals: int = 0, suffix: str = "") -> None:
    axis.set_major_formatter(FuncFormatter(lambda x, _pos: text.number(x, decimals) + suffix))


def legend_beside(axes, handles=None, **kwargs) -> None:
    """The legend to the right of the plotting area, never over the data."""
    options = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "frameon": False, "borderaxespad": 0.0}
    options.update(kwargs)
    if handles is None:
        axes.legend(**options)
    else:
        axes.legend(handles=handles, **options)


def _add(axes, patch, vertices) -> None:
    """The patch in data coordinates, clipped to the axes; the data limits from its vertices
    (``add_patch`` walks every segment as a Bézier curve: seconds for 10,000 bars)."""
    patch.set_transform(axes.transData)
    axes.add_artist(patch)
    axes.update_datalim(vertices)
    axes.autoscale_view()


def rectangles(axes, boxes, *, gid: str, **style) -> None:
    """Bars of (left, bottom, width, height) as ONE compound path (one SVG element whatever their
    number: a study of 10,000 subjects draws about as fast as one of 15), under the group ``gid``."""
    boxes = list(boxes)
    if not boxes:
        return
    import numpy as np
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path

    vertices = np.empty((len(boxes) * 5, 2))
    for k, (x, y, w, h) in enumerate(boxes):
        vertices[5 * k : 5 * k + 5] = ((x, y), (x + w, y), (x + w, y + h), (x, y + h), (x, y))
    codes = np.tile(
        np.array([Path.MOVETO, Path.LINETO, Path.LINETO, Path.LINETO, Path.CLOSEPOLY], dtype=Path.code_type),
        len(boxes),
    )
    _add(axes, PathPatch(Path(vertices, codes), gid=gid, **style), vertices)


def polylines(axes, lines, *, gid: str, **style) -> None:
    """Lines of [(x, y)…] as one collection (one artist; each line keeps its own transparency,
    so where many lines run together the chart darkens), under the group ``gid``."""
    from matplotlib.collections import LineCollection

    lines = [line for line in lines if line]
    if not lines:
        return
    axes.add_collection(LineCollection(lines, gid=gid, **style), autolim=False)
    axes.update_datalim([point for line in lines for point in line])
    axes.autoscale_view()


#: the defaults: English words, plain numbers; the house options
ENGLISH = ChartText()
DEFAULT_OPTIONS = ChartOptions()
