"""Breadcrumbs, one mechanism for every page: ``{% crumbs %}…{% endcrumbs %}`` (a built-in tag,
settings.TEMPLATES) writes the trail starting at the user's home, then what the page puts in it::

    {% crumbs %}<a href="{% url 'site' site.code %}">{{ site.code }}</a> › {% trans "Screening log" %}{% endcrumbs %}

gives "Home › NTE › Screening log". ``{% crumbs "no-print" %}`` adds a class. A page never
writes its own ``class="crumbs"`` (tests/web/test_crumbs.py), so no trail starts elsewhere.
"""

from __future__ import annotations

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

register = template.Library()

SEPARATOR = " › "


class CrumbsNode(template.Node):
    def __init__(self, nodelist, extra_class):
        self.nodelist = nodelist
        self.extra_class = extra_class

    def render(self, context) -> str:
        rest = self.nodelist.render(context).strip()
        if rest.startswith("›"):  # a trail whose first crumb is optional writes its separator first
            rest = rest[1:].lstrip()
        extra = self.extra_class.resolve(context) if self.extra_class is not None else ""
        try:
            home = format_html('<a href="{}" class="crumb-home">{}</a>', reverse("home"), _("Home"))
        except NoReverseMatch:  # a page outside a study (the list of studies): no home yet
            home = ""
        trail = home + (mark_safe(SEPARATOR) + mark_safe(rest) if rest and home else mark_safe(rest))
        classes = "crumbs" + (f" {extra}" if extra else "")
        return format_html('<p class="{}">{}</p>', classes, mark_safe(trail))


@register.tag("crumbs")
def crumbs(parser, token):
    bits = token.split_contents()
    if len(bits) > 2:
        raise template.TemplateSyntaxError("{% crumbs %} takes at most one argument: an extra class")
    extra_class = parser.compile_filter(bits[1]) if len(bits) == 2 else None
    nodelist = parser.parse(("endcrumbs",))
    parser.delete_first_token()
    return CrumbsNode(nodelist, extra_class)
