"""What an image's recipe says, independent of the recipe language.

`RecipeContent` is built once per image from its `ImageBuild` and written twice: as an
Apptainer definition (definition.py) and as a Dockerfile (dockerfile.py), which is how
the two stay equivalent. It is also where the content is validated against what both
recipe languages (and spython's parser) can carry: values that cannot be written are
reported as AIWF107 at the attribute, and the image is left out.

Package commands (one line each, the same in both recipes):

* apt:   `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y
         --no-install-recommends PKG=VER ... && rm -rf /var/lib/apt/lists/*`
* conda: `conda install -y PKG=VER ... && conda clean -afy`
* pip:   `python3 -m pip install --no-cache-dir PKG==VER ...` (last, so it can add to
         what conda installed)

The test (Apptainer `%test`, a final `RUN` in the Dockerfile) is the image's `test`
when given; otherwise one is generated from what the image promises: the module of
every pip distribution imports (the distribution name, or the module `IMPORT_NAMES`
knows for it; a distribution whose module is not known is checked with
`importlib.metadata` instead), and the entrypoint's program exists.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass, field

from aiwfc import codes
from aiwfc.diagnostics import DiagnosticSink
from aiwfc.emitter import COMPILER, bash_quote
from aiwfc.images import ImageBuild, parse_reference
from aiwfc.source import Span

# pip distribution -> the module it installs, where the two names differ.
IMPORT_NAMES = {
    "pyyaml": "yaml", "pillow": "PIL", "scikit-learn": "sklearn", "scikit-image": "skimage",
    "opencv-python": "cv2", "opencv-python-headless": "cv2", "beautifulsoup4": "bs4",
    "python-dateutil": "dateutil", "protobuf": "google.protobuf", "pyzmq": "zmq", "attrs": "attr",
    "netcdf4": "netCDF4", "tensorflow-cpu": "tensorflow", "tensorflow-gpu": "tensorflow",
    "typing-extensions": "typing_extensions", "python-dotenv": "dotenv", "faiss-cpu": "faiss",
    "faiss-gpu": "faiss", "rdkit-pypi": "rdkit", "pytorch-lightning": "pytorch_lightning",
    "torch-geometric": "torch_geometric", "cupy-cuda12x": "cupy", "cupy-cuda11x": "cupy",
}
_PIP_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(.*)$", re.S)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LABEL_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
_SHELL_SPECIAL = set("$`\\\"';|&<>()*?[]{}~#!\n\t")
_VAR_REF = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*|\{[A-Za-z_][A-Za-z0-9_]*\})")


@dataclass(frozen=True)
class Command:
    """One install command with the source position that asked for it."""

    text: str
    span: Span | None
    what: str  # apt | conda | pip


@dataclass
class RecipeContent:
    """Everything both recipe languages say about one image."""

    build: ImageBuild
    base: str
    commands: list[Command] = field(default_factory=list)
    files: list[tuple[str, str]] = field(default_factory=list)
    env: list[tuple[str, str]] = field(default_factory=list)
    labels: list[tuple[str, str]] = field(default_factory=list)
    entrypoint: str | None = None
    test: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # header comments (GPU, MPI)

    @property
    def name(self) -> str:
        return self.build.name


def pip_distribution(spec: str) -> str | None:
    """The distribution name of a pip requirement (`numpy==2.1.3` -> `numpy`), lowercased
    and normalised; None for a URL or path."""
    if "://" in spec or spec.startswith((".", "/", "-")):
        return None
    m = _PIP_NAME.match(spec)
    if m is None:
        return None
    return re.sub(r"[-_.]+", "-", m.group(1)).lower()


def generated_test(pip: list[str], entrypoint: str | None) -> list[str]:
    """The test lines for an image without its own `test` (see the module docstring)."""
    lines = []
    dists = [d for d in (pip_distribution(s) for s in pip) if d]
    dists = list(dict.fromkeys(dists))
    modules, unknown = [], []
    for d in dists:
        mod = IMPORT_NAMES.get(d) or (d if re.fullmatch(r"[a-z_][a-z0-9_]*", d) else None)
        if mod is None:
            unknown.append(d)
        elif mod not in modules:
            modules.append(mod)
    if unknown:  # no module name known: check that the distribution is installed
        names = ", ".join(f'"{d}"' for d in unknown)
        lines.append("python3 -c " + bash_quote(f"import importlib.metadata as m; [m.version(d) for d in [{names}]]"))
    if modules:
        lines.append("python3 -c " + bash_quote("import " + ", ".join(modules)))
    if entrypoint:
        try:
            words = shlex.split(entrypoint)
        except ValueError:
            words = []
        if words and words[0] != "exec" and not set(words[0]) & _SHELL_SPECIAL and "=" not in words[0]:
            lines.append(f"command -v {bash_quote(words[0])} >/dev/null")
    return lines


def entrypoint_words(entrypoint: str) -> list[str] | None:
    """The entrypoint as exec-form words when it holds no shell syntax beyond quoting
    (Docker's `ENTRYPOINT ["a", "b"]`), else None (it then runs through `/bin/sh -c`)."""
    try:
        words = shlex.split(entrypoint)
    except ValueError:
        return None
    if not words:
        return None
    bare = re.sub(r"'[^']*'|\"[^\"$`\\]*\"", "", entrypoint)
    if set(bare) & (_SHELL_SPECIAL - {"'", '"'}):
        return None
    return words


def runscript_command(entrypoint: str) -> str:
    """What `%runscript` execs (before `"$@"`): the entrypoint's words when it holds no shell
    syntax, else `/bin/sh -c 'ENTRYPOINT' sh`, the Dockerfile's ENTRYPOINT exactly."""
    if entrypoint_words(entrypoint) is not None:
        return entrypoint
    return f"/bin/sh -c {bash_quote(entrypoint)} sh"


def docker_entrypoint(entrypoint: str) -> list[str]:
    """The Dockerfile's exec-form ENTRYPOINT: the words, or `/bin/sh -c ENTRYPOINT sh`, which
    passes the run's arguments as `$1`... as `%runscript` does."""
    return entrypoint_words(entrypoint) or ["/bin/sh", "-c", entrypoint, "sh"]


class _Validator:
    """Reports values the recipes cannot carry (AIWF107) at the image's attribute."""

    def __init__(self, build: ImageBuild, sink: DiagnosticSink):
        self.image = build.image
        self.sink = sink
        self.ok = True

    def bad(self, attr: str, detail: str) -> None:
        """`attr` may name one entry of a map (`env.NAME`); its span, else the attribute's."""
        self.ok = False
        span = self.image.spans.get(attr) or self.image.where(attr.split(".", 1)[0])
        self.sink.report(codes.INVALID_VALUE, span, detail=f"image `{self.image.name}`: {detail}")

    def one_line(self, attr: str, what: str, value: str) -> bool:
        if "\n" in value or "\r" in value or "\x00" in value:
            self.bad(attr, f"{what} cannot contain a line break in a container recipe")
            return False
        return True


def build_content(build: ImageBuild, sink: DiagnosticSink, *, workflow: str, source: str,
                  names) -> RecipeContent | None:
    """The recipe content of one image, or None (after reporting) when it cannot be written.

    `source` is the root file's name for the `org.aiwf.source` label; `names` maps a
    source file to its display name (for the header notes)."""
    image = build.image
    v = _Validator(build, sink)
    try:
        parse_reference(image.base)
    except ValueError as e:
        v.bad("from", f"{e}; Apptainer recipes start from Docker/OCI images")
    for attr in ("apt", "pip", "conda"):
        for i, pkg in enumerate(getattr(image, attr)):
            if not pkg.strip():
                v.bad(f"{attr}[{i}]", f"an empty `{attr}` package")
            else:
                v.one_line(f"{attr}[{i}]", f"`{attr}` package", pkg)
    for src, dst in image.files.items():
        at = f"files.{src}"
        if not (v.one_line(at, "a `files` path", src) and v.one_line(at, "a `files` path", dst)):
            continue
        if any(c.isspace() for c in src + dst):
            v.bad(at, f"`files` paths cannot contain spaces (`{src}` -> `{dst}`): both recipe "
                           "languages separate source and destination by spaces")
        elif src.startswith("/") or posixpath.normpath(src).split("/")[0] == "..":
            v.bad(at, f"`files` source `{src}` must be a path inside the project directory")
        elif not dst.startswith("/"):
            v.bad(at, f"`files` destination `{dst}` must be an absolute path in the image")
    for key, value in image.env.items():
        if not _ENV_NAME.match(key):
            v.bad(f"env.{key}", f"`{key}` is not an environment variable name")
        elif v.one_line(f"env.{key}", f"`env.{key}`", value) and '"' in value and (
                "'" in value or _VAR_REF.search(value)):
            v.bad(f"env.{key}", f"`env.{key}` cannot hold a `\"` together with a `'` or a `$NAME` reference: "
                         "a Dockerfile ENV quotes such a value in single quotes, which expand nothing")
    for key, value in image.labels.items():
        if not _LABEL_KEY.match(key):
            v.bad(f"labels.{key}", f"`{key}` is not a label name (letters, digits, `.`, `-`, `_`, `/`)")
        elif key.startswith("org.aiwf."):
            v.bad(f"labels.{key}", f"label `{key}` is reserved for aiwfc (org.aiwf.*)")
        elif v.one_line(f"labels.{key}", f"label `{key}`", value) and '"' in value and "'" in value:
            v.bad(f"labels.{key}", f"label `{key}` cannot hold both `\"` and `'`: a Dockerfile LABEL quotes a value "
                            "with `\"` in single quotes")
    if image.entrypoint is not None:
        v.one_line("entrypoint", "`entrypoint`", image.entrypoint)
    if image.test is not None and "\x00" in image.test:
        v.bad("test", "`test` cannot contain a NUL character")
    if not v.ok:
        return None

    rc = RecipeContent(build=build, base=build.base)
    if image.apt:
        pkgs = " ".join(bash_quote(p) for p in image.apt)
        rc.commands.append(Command(
            "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "
            f"{pkgs} && rm -rf /var/lib/apt/lists/*", image.where("apt"), "apt"))
    if image.conda:
        pkgs = " ".join(bash_quote(p) for p in image.conda)
        rc.commands.append(Command(f"conda install -y {pkgs} && conda clean -afy", image.where("conda"), "conda"))
    if image.pip:
        pkgs = " ".join(bash_quote(p) for p in image.pip)
        rc.commands.append(Command(f"python3 -m pip install --no-cache-dir {pkgs}", image.where("pip"), "pip"))
    rc.files = list(image.files.items())
    rc.env = list(image.env.items())
    rc.labels = [("org.aiwf.image", image.name), ("org.aiwf.workflow", workflow), ("org.aiwf.source", source),
                 ("org.aiwf.compiler", COMPILER), ("org.aiwf.recipe-hash", build.recipe_hash)]
    if build.cuda:
        rc.labels.append(("org.aiwf.cuda", build.cuda))
    if build.gpu:
        rc.labels.append(("org.aiwf.gpu", "true"))
    if image.mpi:
        rc.labels.append(("org.aiwf.mpi", image.mpi))
        if build.mpi_bind:
            rc.labels.append(("org.aiwf.mpi-bind", ",".join(build.mpi_bind)))
    rc.labels += list(image.labels.items())
    rc.entrypoint = image.entrypoint
    rc.test = image.test.split("\n") if image.test is not None else generated_test(image.pip, image.entrypoint)
    rc.test = [t for t in rc.test if t.strip()]
    rc.notes = _notes(build, names)
    return rc


def _notes(build: ImageBuild, names) -> list[str]:
    """Header comments: where the image is defined, and how GPU and MPI phases run it."""
    image = build.image
    out = []
    if image.span is not None:
        out.append(f"image {image.name} from {names(image.span.file)}:{image.span.line}")
    if build.rewritten:
        why = {"image": "the image's `cuda`", "site": "the site's `cuda_driver`"}.get(build.cuda_from, "")
        out.append(f"base: {build.declared_base} becomes {build.base} for the GPU phases "
                   f"({', '.join(build.gpu_phases)}); CUDA {build.cuda} from {why}")
    if build.gpu:
        out.append(f"GPU phases ({', '.join(build.gpu_phases)}) run it with: apptainer exec --nv {build.sif} ...")
    if image.mpi:
        if build.mpi_bind:
            out.append(f"MPI ({image.mpi}, hybrid model): apptainer exec --bind {','.join(build.mpi_bind)} "
                       f"{build.sif} ...")
        else:
            out.append(f"MPI ({image.mpi}): the site lists no `mpi_bind` paths to bind the host MPI")
    return out
