"""Every emitted document passes `cwltool --validate` and loads with cwl_utils.parser.

Validation runs through cwltool's Python entry point (`cwltool.main.main`), one call per
document in this process: the same code path as the command line without paying its
start-up for every file. A workflow's validation also resolves the tools and loop
bodies it runs; each of those is validated on its own as well.
"""

from __future__ import annotations

import io

import pytest

from tests.cwl.conftest import EXAMPLES

cwltool_main = pytest.importorskip("cwltool.main", reason="cwltool is not installed (pip install 'aiwfc[cwl]')")


def validate(path, *flags: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    status = cwltool_main.main(["--validate", *flags, str(path)], stdout=out, stderr=err)
    return status, out.getvalue() + err.getvalue()


def documents(c) -> list:
    """The workflow first, then loop bodies and tools."""
    rest = sorted(p for p in c.out.rglob("*.cwl") if p != c.workflow)
    return [c.workflow, *rest]


@pytest.mark.slow
@pytest.mark.parametrize("folder", sorted(EXAMPLES))
def test_every_document_validates(folder, compiled):
    c = compiled[folder]
    assert c.status == 0
    for path in documents(c):
        status, log = validate(path, "--enable-ext")
        assert status == 0, f"{path}:\n{log}"
        assert f"{path} is valid CWL." in log


@pytest.mark.slow
@pytest.mark.parametrize("folder", ["dynamic_orchestration", "adaptive_training"])
def test_native_loop_form_validates(folder, compiled_native):
    c = compiled_native[folder]
    assert c.status == 0
    status, log = validate(c.workflow, "--enable-dev", "--enable-ext")
    assert status == 0, log
    assert c.workflow.read_text().count("cwlVersion: v1.3.0-dev1") == 1
    assert "cwltool:Loop" not in c.workflow.read_text()


@pytest.mark.parametrize("folder", sorted(EXAMPLES))
def test_documents_load_with_cwl_utils(folder, compiled):
    parser = pytest.importorskip("cwl_utils.parser", reason="cwl-utils is not installed (pip install 'aiwfc[cwl]')")
    c = compiled[folder]
    for path in documents(c):
        doc = parser.load_document_by_uri(path)
        expected = "Workflow" if path == c.workflow or path.parent.name == "loops" else "CommandLineTool"
        assert type(doc).__name__ == expected, path
        assert doc.cwlVersion == "v1.2"


def test_native_loop_form_is_not_read_by_cwl_utils(compiled_native):
    """cwl_utils 0.45 has no v1.3.0-dev1 parser: the native form is validated by cwltool only."""
    parser = pytest.importorskip("cwl_utils.parser", reason="cwl-utils is not installed")
    c = compiled_native["dynamic_orchestration"]
    with pytest.raises(Exception) as info:
        parser.load_document_by_uri(c.workflow)
    print(f"cwl_utils on the native loop form: {type(info.value).__name__}: {str(info.value)[:200]}")
