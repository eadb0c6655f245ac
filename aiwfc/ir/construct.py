"""Building pydantic models from values that are already what their fields hold.

`Model.model_validate` re-checks every value and `Model.model_construct` walks the
field table and its aliases on every call; the front end and the planner build such
nodes by the tens of thousands (a phase's ports, a plan's port sources, bindings and
dependencies) from values they have just typed themselves, so neither check can fail
and both cost more than building the node.  `construct` gives what `model_construct`
gives (the same `__dict__` in field order, defaults filled and copied as pydantic does,
the same fields-set), for models without aliases, extra fields or post-init hooks.
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["construct"]

_new = object.__new__
_set = object.__setattr__


_REQUIRED = object()
# defaults pydantic hands out as they are (smart_deepcopy leaves immutable values alone)
_IMMUTABLE = (type(None), bool, int, float, str, bytes, tuple, frozenset)


@lru_cache(maxsize=None)
def _fields(model: type) -> tuple:
    """(name, default, how) per field in order: `how` is _REQUIRED, None (use the
    default as is) or the FieldInfo whose get_default makes a fresh value."""
    out = []
    for name, f in model.__pydantic_fields__.items():
        if f.is_required():
            out.append((name, None, _REQUIRED))
        elif f.default_factory is None and isinstance(f.default, _IMMUTABLE):
            out.append((name, f.default, None))
        else:
            out.append((name, None, f))
    return tuple(out)


@lru_cache(maxsize=None)
def _names(model: type) -> tuple[str, ...]:
    return tuple(model.__pydantic_fields__)


def construct(model: type, /, **values):
    """`model.model_construct(**values)`, faster; `values` must be valid for `model`."""
    new = _new(model)
    if tuple(values) == _names(model):
        # every field given, in field order: the (fresh) keyword dict is the __dict__
        _set(new, "__dict__", values)
    else:
        d = {}
        for name, default, how in _fields(model):
            if name in values:
                d[name] = values[name]
            elif how is None:
                d[name] = default
            elif how is not _REQUIRED:
                d[name] = how.get_default(call_default_factory=True)
        _set(new, "__dict__", d)
    _set(new, "__pydantic_fields_set__", set(values))
    _set(new, "__pydantic_extra__", None)
    _set(new, "__pydantic_private__", None)
    return new
