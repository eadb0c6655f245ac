"""The built wheel is complete: installed into a fresh virtual environment, `aiwfc check`
runs from there with the grammar, stdlib and backends it carries.

The venv uses the machine's site-packages for third-party dependencies (no network
needed) but aiwfc itself must come from the wheel: the test asserts the paths.
"""

import re
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_folder_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    mapping = {"aiwfc": "aiwfc", "backends": "aiwfc_backends", "grammar": "aiwfc_grammar", "stdlib": "aiwfc_stdlib"}
    found = set()
    for folder, name in mapping.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            if "node_modules" in rel.parts or "__pycache__" in rel.parts:
                continue
            found.add(".".join((name,) + rel.parts))
    assert found - listed == set(), "add these packages to pyproject.toml"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0 and "Could not find a version" in proc.stderr:
        pytest.skip(f"cannot fetch the build backend (setuptools) from the package index: {proc.stderr[-300:]}")
    assert proc.returncode == 0, proc.stderr
    wheels = list(out.glob("aiwfc-*.whl"))
    assert len(wheels) == 1
    return wheels[0]


def test_wheel_carries_grammar_stdlib_and_backends(wheel):
    import zipfile
    names = zipfile.ZipFile(wheel).namelist()
    assert "aiwfc_grammar/aiwf.lark" in names
    assert "aiwfc_stdlib/sites/generic-slurm.aiwf" in names
    assert "aiwfc_stdlib/sites/local.aiwf" in names
    assert "aiwfc_backends/__init__.py" in names
    assert any(re.match(r"aiwfc-[\d.]+\.dist-info/entry_points\.txt", n) for n in names)


def test_installed_wheel_checks_an_example(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps", str(wheel)],
                   check=True, capture_output=True, text=True, timeout=300)
    where = subprocess.run([str(py), "-c", "import aiwfc, aiwfc.cli, aiwfc.checks.names, aiwfc_grammar, aiwfc_stdlib; "
                            "print(aiwfc.__file__); print(aiwfc.cli.__file__); print(aiwfc.checks.names.__file__); "
                            "print(aiwfc_grammar.__file__); print(aiwfc_stdlib.__file__)"],
                           cwd=tmp_path, capture_output=True, text=True, check=True)
    for line in where.stdout.split():
        assert line.startswith(str(env_dir)), f"{line} does not come from the wheel"
    example = tmp_path / "w.aiwf"
    example.write_text('aiwf 0.1\nimport "std/sites/generic-slurm"\n'
                       'workflow w {\n  resource cpu { cores = 1  walltime = 5m }\n'
                       '  task hello { resources = cpu  out greeting: file = "hi.txt"  run "echo hi > ${greeting}" }\n}\n')
    proc = subprocess.run([str(env_dir / "bin" / "aiwfc"), "check", str(example), "--site", "generic-slurm"],
                          cwd=tmp_path, capture_output=True, text=True)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    bad = tmp_path / "bad.aiwf"
    bad.write_text("aiwf 0.1\nworkflow w { task t { resources = nope  run \"x\" } }\n")
    proc = subprocess.run([str(env_dir / "bin" / "aiwfc"), "check", str(bad)], cwd=tmp_path,
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stdout.startswith(f"{bad}:2:35: error[AIWF101]: resource `nope` is not defined")
