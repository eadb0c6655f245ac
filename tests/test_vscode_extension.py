"""The VS Code extension in editors/vscode.

The TextMate grammar is run through vscode-textmate and vscode-oniguruma, the engine VS
Code itself uses (editors/vscode/test/tokenize.js), and specific tokens of aiwf text must
get specific scopes; `npm run package` must build a .vsix holding the manifest, the
grammar and a bundled client that loads.  Needs node and npm; installs the extension's
devDependencies with `npm ci` when node_modules is missing.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXT = ROOT / "editors" / "vscode"
GRAMMAR = EXT / "syntaxes" / "aiwf.tmLanguage.json"
NEEDED_MODULES = ("vscode-textmate", "vscode-oniguruma", "@vscode/vsce", "esbuild",
                  "vscode-languageclient")
NETWORK_ERRORS = re.compile(r"ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH")

SAMPLE = '''\
aiwf 0.1
import "std/sites/generic-slurm"

workflow steer_md {
  motif = dynamic_orchestration
  param n_walkers: int = 16
  resource cpu_task { cores = 1  memory = 1GiB  walltime = 10m }
  simulation md {
    foreach seed in range(n_walkers)
    resources = cpu_task  runtime ~ 2m
    out traj: file = "traj_${index}.npy"
    run "python ${project}/scripts/md.py --seed ${seed} --out ${traj}"   # comment
  }
  feedback steer {
    body = [md]
    until = len(md.traj) >= 3 and true
    max_iterations = 4
  }
}
'''

# What SAMPLE leaves out: imports with `as`, site and partition blocks, `image` as a
# block and as an attribute, composite types, `in` ports, floats, escapes, triple-quoted
# commands, a map inside `${...}`, `next`, `stop ... when`, and a unit aiwf does not know.
RICH = '''\
aiwf 0.1
import "std/images/python" as py
site mine {
  scheduler = slurm  scratch = "$TMPDIR"  gpu_request = gpus_per_node
  partition gpu { nodes = 4  memory = 512GiB  max_walltime = 1d  default = true }
}
workflow w {
  param seeds: list<file> = []
  image sim { from = "python:3.11"  env = { OMP_NUM_THREADS = "1" } }
  dataset d { tier = scratch  access = read_many  size = 1.5TB  files = 1e6 }
  training fit {
    image = sim
    in trajs: list<file> = md.traj
    out metrics: metrics { loss: float, acc: list<float> }
    frobnicate = 16Gb
    run """
      python fit.py --tag \\"x\\" \\
        --cost \\$5 ${ max(1, -2 % 3) } ${ {a = 1} }
    """
  }
  feedback loop {
    next md.seed = score.next_seeds   # spawn
    stop md when not (md.progress != 0.1)
    while = iteration < 10
  }
}
'''


def _run(cmd: list[str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=EXT, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def node_env() -> None:
    """node and npm on PATH, and the extension's node_modules installed (by `npm ci`)."""
    missing = [exe for exe in ("node", "npm") if shutil.which(exe) is None]
    if missing:
        reason = f"{' and '.join(missing)} not on PATH: the VS Code extension cannot be built"
        print(reason)
        pytest.skip(reason)
    if all((EXT / "node_modules" / m / "package.json").is_file() for m in NEEDED_MODULES):
        return
    cmd = ["npm", "ci"] if (EXT / "package-lock.json").is_file() else ["npm", "install"]
    proc = _run(cmd + ["--no-audit", "--no-fund"], timeout=600)
    if proc.returncode != 0:
        log = proc.stdout + proc.stderr
        if NETWORK_ERRORS.search(log):
            reason = f"`{' '.join(cmd)}` in {EXT} could not reach the npm registry"
            print(reason + "\n" + log[-2000:])
            pytest.skip(reason)
        pytest.fail(f"`{' '.join(cmd)}` failed in {EXT}:\n{log[-4000:]}")


class Tokens:
    """The tokenize.js output for one text: per line, a list of (text, scopes)."""

    def __init__(self, regexes: int, data: dict) -> None:
        self.regexes = regexes
        self.end_stack_depth: int = data["endStackDepth"]
        self.lines: list[list[tuple[str, list[str]]]] = [
            [(t["text"], t["scopes"]) for t in line] for line in data["lines"]]

    def token(self, line: int, text: str, nth: int = 0) -> list[str]:
        """Scopes of the nth token on `line` (1-based) whose text is exactly `text`."""
        found = [scopes for t, scopes in self.lines[line - 1] if t == text]
        assert len(found) > nth, f"no token {text!r} on line {line}: {self.lines[line - 1]}"
        return found[nth]

    def covering(self, line: int, text: str) -> list[list[str]]:
        """Scopes of every token overlapping the first occurrence of `text` on `line`."""
        joined = "".join(t for t, _ in self.lines[line - 1])
        start = joined.find(text)
        assert start >= 0, f"{text!r} not on line {line}: {joined!r}"
        out, pos = [], 0
        for t, scopes in self.lines[line - 1]:
            if pos < start + len(text) and pos + len(t) > start:
                out.append(scopes)
            pos += len(t)
        return out

    def unscoped(self) -> list[tuple[int, str]]:
        """Non-blank tokens that got no scope beyond `source.aiwf`."""
        return [(i, t) for i, line in enumerate(self.lines, 1) for t, scopes in line
                if t.strip() and scopes == ["source.aiwf"]]


def tokenize(*paths: Path) -> list[Tokens]:
    """Runs the grammar over files with vscode-textmate, as VS Code would."""
    proc = _run(["node", "test/tokenize.js", *map(str, paths)], timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    return [Tokens(out["regexes"], f) for f in out["files"]]


@pytest.fixture(scope="module")
def sample(node_env, tmp_path_factory) -> Tokens:
    path = tmp_path_factory.mktemp("aiwf") / "sample.aiwf"
    path.write_text(SAMPLE)
    (tokens,) = tokenize(path)
    return tokens


@pytest.fixture(scope="module")
def rich(node_env, tmp_path_factory) -> Tokens:
    path = tmp_path_factory.mktemp("aiwf") / "rich.aiwf"
    path.write_text(RICH)
    (tokens,) = tokenize(path)
    return tokens


def test_manifest_wires_language_grammar_and_settings():
    manifest = json.loads((EXT / "package.json").read_text())
    grammar = json.loads(GRAMMAR.read_text())
    assert grammar["scopeName"] == "source.aiwf"
    (language,) = manifest["contributes"]["languages"]
    assert language["id"] == "aiwf" and language["extensions"] == [".aiwf"]
    config = json.loads((EXT / language["configuration"]).read_text())
    assert config["comments"]["lineComment"] == "#"
    assert ["{", "}"] in config["brackets"]
    assert {"open": '"', "close": '"', "notIn": ["string", "comment"]} in config["autoClosingPairs"]
    (contrib,) = manifest["contributes"]["grammars"]
    assert contrib["language"] == "aiwf" and contrib["scopeName"] == "source.aiwf"
    assert (EXT / contrib["path"]).resolve() == GRAMMAR
    settings = manifest["contributes"]["configuration"]["properties"]
    assert settings["aiwf.server.path"]["default"] == "aiwfc"
    assert settings["aiwf.server.args"]["default"] == ["lsp"]
    assert manifest["main"] == "./dist/extension.js"
    assert manifest["engines"]["vscode"].startswith("^1.")
    assert manifest["dependencies"]["vscode-languageclient"].startswith("^9.")
    assert "@vscode/vsce" in manifest["devDependencies"]
    assert manifest["repository"]["url"] and (EXT / "LICENSE").is_file()


def test_every_grammar_regex_compiles_in_oniguruma(sample):
    # tokenize.js compiles each match/begin/end on its own before tokenising
    assert sample.regexes == sum(
        1 for _ in re.finditer(r'"(?:match|begin|end|while)": "', GRAMMAR.read_text()))
    assert sample.regexes > 40


@pytest.mark.parametrize("line, text, scope", [
    (1, "aiwf", "keyword.other.header.aiwf"),
    (1, "0.1", "constant.numeric.version.aiwf"),
    (2, "import", "keyword.control.import.aiwf"),
    (2, '"std/sites/generic-slurm"', "string.quoted.double.module.aiwf"),
    (4, "workflow", "storage.type.block.aiwf"),
    (4, "steer_md", "entity.name.type.block.aiwf"),
    (5, "motif", "support.type.property-name.aiwf"),
    (5, "=", "keyword.operator.assignment.aiwf"),
    (5, "dynamic_orchestration", "constant.language.enum.aiwf"),
    (6, "param", "keyword.other.param.aiwf"),
    (6, "n_walkers", "variable.parameter.aiwf"),
    (6, "int", "support.type.primitive.aiwf"),
    (6, "16", "constant.numeric.integer.aiwf"),
    (7, "resource", "storage.type.block.aiwf"),
    (7, "cores", "support.type.property-name.aiwf"),
    (7, "GiB", "keyword.other.unit.aiwf"),
    (8, "simulation", "storage.type.phase.aiwf"),
    (8, "md", "entity.name.function.phase.aiwf"),
    (9, "foreach", "keyword.control.loop.foreach.aiwf"),
    (9, "seed", "variable.other.loop.aiwf"),
    (9, "in", "keyword.control.loop.in.aiwf"),
    (9, "range", "support.function.builtin.aiwf"),
    (10, "resources", "support.type.property-name.aiwf"),
    (10, "runtime", "support.type.property-name.aiwf"),
    (10, "~", "keyword.operator.estimate.aiwf"),
    (11, "out", "keyword.other.port.out.aiwf"),
    (11, "traj", "variable.parameter.port.aiwf"),
    (11, "file", "support.type.primitive.aiwf"),
    (11, "index", "variable.language.aiwf"),
    (12, "run", "keyword.other.run.aiwf"),
    (12, "project", "variable.language.aiwf"),
    (12, "seed", "variable.other.readwrite.aiwf"),
    (12, "#", "punctuation.definition.comment.aiwf"),
    (14, "feedback", "storage.type.block.aiwf"),
    (15, "body", "support.type.property-name.aiwf"),
    (16, "until", "support.type.property-name.aiwf"),
    (16, "len", "support.function.builtin.aiwf"),
    (16, "traj", "variable.other.member.aiwf"),
    (16, ">=", "keyword.operator.comparison.aiwf"),
    (16, "3", "constant.numeric.integer.aiwf"),
    (16, "and", "keyword.operator.logical.aiwf"),
    (16, "true", "constant.language.boolean.aiwf"),
    (17, "max_iterations", "support.type.property-name.aiwf"),
])
def test_sample_token_scopes(sample, line, text, scope):
    assert scope in sample.token(line, text)


@pytest.mark.parametrize("line, text", [(7, "1GiB"), (7, "10m"), (10, "2m")])
def test_quantity_is_one_numeric_constant(sample, line, text):
    scopes = sample.covering(line, text)
    assert len(scopes) == 2  # the number and its unit, both inside the quantity
    assert all("constant.numeric.quantity.aiwf" in s for s in scopes)
    assert "keyword.other.unit.aiwf" in scopes[1]


def test_interpolation_is_an_embedded_expression_inside_the_string(sample):
    interp = sample.covering(12, "${seed}")
    assert [s[-1] for s in interp] == ["punctuation.section.interpolation.begin.aiwf",
                                       "variable.other.readwrite.aiwf",
                                       "punctuation.section.interpolation.end.aiwf"]
    assert all(s[1:3] == ["string.quoted.double.aiwf", "meta.interpolation.aiwf"] for s in interp)
    assert "meta.embedded.expression.aiwf" in sample.token(12, "seed")
    # the text around it stays plain string, and the string ends before the comment
    (plain,) = sample.covering(12, "--seed ")
    assert plain == ["source.aiwf", "string.quoted.double.aiwf"]
    assert sample.token(12, " comment") == ["source.aiwf", "comment.line.number-sign.aiwf"]
    assert all("string.quoted.double.aiwf" in s for s in sample.covering(11, '"traj_${index}.npy"'))


def test_sample_is_fully_scoped_and_closes_every_region(sample):
    assert sample.unscoped() == []
    assert sample.end_stack_depth == 1


@pytest.mark.parametrize("line, text, nth, scope", [
    (2, "as", 0, "keyword.control.as.aiwf"),
    (2, "py", 0, "entity.name.namespace.aiwf"),
    (3, "site", 0, "storage.type.block.aiwf"),
    (4, "scratch", 0, "support.type.property-name.aiwf"),  # attribute key, not the tier
    (4, "gpus_per_node", 0, "constant.language.enum.aiwf"),
    (5, "partition", 0, "storage.type.block.aiwf"),
    (5, "max_walltime", 0, "support.type.property-name.aiwf"),
    (8, "list", 0, "support.type.primitive.aiwf"),
    (8, "<", 0, "punctuation.definition.type-parameters.begin.aiwf"),
    (8, "file", 0, "support.type.primitive.aiwf"),
    (9, "image", 0, "storage.type.block.aiwf"),
    (9, "OMP_NUM_THREADS", 0, "variable.other.property.aiwf"),
    (10, "scratch", 0, "constant.language.enum.aiwf"),  # the tier, not an attribute key
    (10, "read_many", 0, "constant.language.enum.aiwf"),
    (10, "1e6", 0, "constant.numeric.float.aiwf"),
    (11, "training", 0, "storage.type.phase.aiwf"),
    (12, "image", 0, "support.type.property-name.aiwf"),  # `image = sim`: an attribute
    (12, "sim", 0, "variable.other.readwrite.aiwf"),
    (13, "in", 0, "keyword.other.port.in.aiwf"),
    (14, "metrics", 1, "support.type.primitive.aiwf"),
    (14, "loss", 0, "variable.other.member.field.aiwf"),
    (14, "float", 1, "support.type.primitive.aiwf"),
    (14, "float", 1, "meta.type.fields.aiwf"),
    (15, "frobnicate", 0, "variable.other.property.aiwf"),
    (15, "16Gb", 0, "invalid.illegal.number.aiwf"),
    (16, '"""', 0, "punctuation.definition.string.begin.aiwf"),
    (18, '\\$', 0, "constant.character.escape.aiwf"),
    (18, "max", 0, "support.function.builtin.aiwf"),
    (18, "max", 0, "meta.embedded.expression.aiwf"),
    (18, "%", 0, "keyword.operator.arithmetic.aiwf"),
    (18, "}", 1, "punctuation.section.block.end.aiwf"),  # the map's brace...
    (18, "}", 2, "punctuation.section.interpolation.end.aiwf"),  # ...then the ${'s
    (19, '"""', 0, "punctuation.definition.string.end.aiwf"),
    (22, "next", 0, "keyword.control.next.aiwf"),
    (22, "seed", 0, "variable.other.member.aiwf"),  # `md.seed =` is no attribute
    (23, "stop", 0, "keyword.control.stop.aiwf"),
    (23, "md", 0, "variable.other.phase.aiwf"),
    (23, "when", 0, "keyword.control.when.aiwf"),
    (23, "not", 0, "keyword.operator.logical.aiwf"),
    (23, "!=", 0, "keyword.operator.comparison.aiwf"),
    (23, "0.1", 0, "constant.numeric.float.aiwf"),
    (24, "while", 0, "support.type.property-name.aiwf"),
    (24, "iteration", 0, "variable.language.aiwf"),
])
def test_rich_token_scopes(rich, line, text, nth, scope):
    assert scope in rich.token(line, text, nth)


def test_triple_quoted_command_spans_lines(rich):
    for line in (17, 18):
        assert all("string.quoted.triple.aiwf" in s for _, s in rich.lines[line - 1])
    assert "string.quoted.triple.aiwf" not in rich.token(20, "}")
    assert rich.unscoped() == []
    assert rich.end_stack_depth == 1


def test_repository_aiwf_files_tokenise_cleanly(node_env):
    files = sorted(p for d in ("stdlib", "examples") for p in (ROOT / d).rglob("*.aiwf"))
    assert files, "no .aiwf files under stdlib/ or examples/"
    for path, tokens in zip(files, tokenize(*files), strict=True):
        rel = path.relative_to(ROOT)
        assert tokens.unscoped() == [], f"{rel}: text the grammar does not scope"
        assert tokens.end_stack_depth == 1, f"{rel}: a string or block left open at the end"


def test_npm_run_package_builds_a_vsix(node_env, tmp_path):
    vsix = tmp_path / "aiwf.vsix"
    proc = _run(["npm", "run", "package", "--", "--out", str(vsix)], timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert zipfile.is_zipfile(vsix)
    with zipfile.ZipFile(vsix) as zf:
        names = set(zf.namelist())
        for required in ("extension.vsixmanifest", "extension/package.json",
                         "extension/syntaxes/aiwf.tmLanguage.json",
                         "extension/language-configuration.json",
                         "extension/dist/extension.js", "extension/readme.md"):
            assert required in names, f"{required} missing from {sorted(names)}"
        assert not any(n.startswith(("extension/node_modules/", "extension/src/",
                                     "extension/test/")) for n in names), sorted(names)
        manifest = json.loads(zf.read("extension/package.json"))
        assert (manifest["name"], manifest["contributes"]["languages"][0]["id"]) == ("aiwf", "aiwf")
        assert json.loads(zf.read("extension/syntaxes/aiwf.tmLanguage.json")) == \
            json.loads(GRAMMAR.read_text())
        zf.extractall(tmp_path / "unpacked")
    # the bundle is self-contained: it loads with nothing but a stand-in `vscode` module
    loader = """
const Module = require("module");
const stub = new Proxy(function () {}, {
  get: (t, k) => (k === "__esModule" ? false : stub), construct: () => stub, apply: () => stub });
const load = Module._load;
Module._load = function (req, ...rest) { return req === "vscode" ? stub : load.call(this, req, ...rest); };
const ext = require(process.argv[1]);
console.log(JSON.stringify([typeof ext.activate, typeof ext.deactivate]));
"""
    bundle = tmp_path / "unpacked" / "extension" / "dist" / "extension.js"
    proc = subprocess.run(["node", "-e", loader, str(bundle)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == ["function", "function"]
