"""The "More parameter rows" button, which works without JavaScript."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import QueryDict

from adminpanel.pymap.backends import Capabilities

from ..forms.params import MAX_PARAMS, PARAMS_PREFIX, BaseParamFormSet, ParamFormSet

#: Name of the submit button that asks for more rows instead of saving.
MORE_ROWS = "more_rows"
ROWS_PER_CLICK = 3


def _row_count(data: QueryDict) -> int:
    try:
        count = int(data.get(f"{PARAMS_PREFIX}-TOTAL_FORMS", "0"))
    except ValueError:
        return 0
    return max(0, min(count, MAX_PARAMS))


def with_more_rows(
    data: QueryDict, *, exclude: Iterable[str], caps: Capabilities
) -> tuple[dict[str, Any], BaseParamFormSet]:
    """The submitted form again, with more empty parameter rows and nothing saved.

    The forms come back unbound, filled in from ``initial``, so a half-done
    form shows no errors yet. Passwords (``exclude``) are not written back
    into the page; the operator types them again.
    """
    skip = {*exclude, "csrfmiddlewaretoken", MORE_ROWS}
    initial = {
        key: data.get(key)
        for key in data
        if key not in skip and not key.startswith(f"{PARAMS_PREFIX}-")
    }
    rows: list[dict[str, str]] = []
    count = _row_count(data)
    for index in range(count):
        key = data.get(f"{PARAMS_PREFIX}-{index}-key", "")
        value = data.get(f"{PARAMS_PREFIX}-{index}-value", "")
        if data.get(f"{PARAMS_PREFIX}-{index}-DELETE") or not (key or value):
            continue
        rows.append({"key": key, "value": value})
    formset = ParamFormSet(initial=rows, prefix=PARAMS_PREFIX, caps=caps)
    formset.extra = max(0, min(count - len(rows) + ROWS_PER_CLICK, MAX_PARAMS - len(rows)))
    return initial, formset
