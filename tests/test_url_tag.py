"""``{% url %}`` keeps its answers (adminpanel/lib/url_tag.py) but never
gives one page's answer to another prefix, and behaves as Django's tag."""

from __future__ import annotations

import pytest
from django.template import engines
from django.urls import NoReverseMatch, set_script_prefix

from adminpanel.lib import url_tag


def _render(text: str, **context: object) -> str:
    return engines["django"].from_string(text).render(context)


def test_the_same_url_under_another_prefix_is_reversed_again() -> None:
    url_tag._answers.clear()
    try:
        set_script_prefix("/")
        assert _render("{% url 'users:detail' %}") == "/users/user/"
        set_script_prefix("/s/second/")
        assert _render("{% url 'users:detail' %}") == "/s/second/users/user/"
        set_script_prefix("/")
        assert _render("{% url 'users:detail' %}") == "/users/user/"
    finally:
        set_script_prefix("/")
    assert len(url_tag._answers) == 2


def test_it_keeps_djangos_as_variable_escaping_and_errors() -> None:
    assert _render("{% url 'bulk:detail' pk %}", pk=7) == "/bulk/7/"
    assert _render("{% url 'nowhere' as found %}[{{ found }}]") == "[]"
    assert _render("{% url 'bulk:detail' pk as found %}<{{ found }}>", pk=3) == "</bulk/3/>"
    with pytest.raises(NoReverseMatch):
        _render("{% url 'nowhere' %}")
    with pytest.raises(NoReverseMatch):  # an argument that cannot be a key: asked each time
        _render("{% url 'bulk:detail' pk %}", pk=[1])
