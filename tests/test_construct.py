"""`aiwfc.ir.construct.construct` builds exactly what pydantic's `model_construct` builds."""

from __future__ import annotations

import pytest

from aiwfc.ir import models as ir
from aiwfc.ir.construct import construct
from aiwfc.ir.types import Type
from aiwfc.plan import models as pm
from aiwfc.source import Span

CASES = [
    (ir.Port, {"name": "x", "type": Type("int"), "span": Span("f.aiwf", 1, 2, 1, 5), "spans": {}}),
    (ir.Port, {"name": "y", "type": Type("file")}),
    # every field, in field order: the keyword dict itself becomes the __dict__
    (ir.Port, {"span": Span("f.aiwf", 2, 1, 2, 9), "spans": {}, "name": "z", "type": Type("dir"), "value": None}),
    (ir.Phase, {"name": "p", "kind": "task"}),
    (pm.PortSource, {"phase": "a", "port": "out", "job": "a", "mode": "gather"}),
    (pm.PortSource, {"phase": "a", "port": "out", "job": "a"}),  # a required field left out, as pydantic allows
    (pm.PlanDependency, {"kind": "elementwise", "source": "a", "target": "b"}),
]


@pytest.mark.parametrize("model,values", CASES, ids=[f"{m.__name__}-{i}" for i, (m, _) in enumerate(CASES)])
def test_construct_equals_model_construct(model, values):
    a, b = construct(model, **values), model.model_construct(**values)
    assert a == b
    assert list(a.__dict__.items()) == list(b.__dict__.items())
    assert a.model_fields_set == b.model_fields_set == set(values)
    assert a.__pydantic_extra__ is None and a.__pydantic_private__ is None
    assert a.model_dump(mode="json") == b.model_dump(mode="json")


def test_mutable_defaults_are_not_shared():
    a, b = construct(ir.Phase, name="p", kind="task"), construct(ir.Phase, name="q", kind="task")
    a.track.append("lr")
    assert b.track == [] and ir.Phase.model_fields["track"].default == []
