"""`build-images.sh`: builds every image of the workflow and records its digest.

The script needs bash and coreutils, plus the container runtime it builds with; never
aiwfc. Usage: `bash build-images.sh [--force] [--docker]`, from the project directory
(or with `AIWF_PROJECT_DIR` set), which is where the `.sif` paths, the `%files`/`COPY`
sources and the lock file are relative to.

* Default: `apptainer build --force SIF DEF` (or `singularity`) for each image, into
  the image's `sif_path` (the path the Slurm and Parsl backends run), unless the lock
  already records the same recipe hash and the .sif still has the recorded sha256.
  Digests go to `IMAGE_DIR/images.lock`.
* `--docker`: `docker build` (or `podman`) of each Dockerfile, tagged with the image's
  `docker_reference` (what the CWL backend's DockerRequirement names); the digest is the
  image id. Digests go to `IMAGE_DIR/docker-images.lock`.

The runtime is looked for before anything is touched; when there is none the script
says so on stderr and exits 127 (the shell's "command not found"). A wrong option
exits 2. A lock lists, tab-separated, name, .sif path or reference, digest and recipe
hash; the new one replaces the old only when every build succeeded. `--force`
rebuilds everything; `AIWF_BUILD_ARGS` adds options to each build (`--fakeroot`).
"""

from __future__ import annotations

import posixpath

from aiwfc.emitter import Emitter, bash_quote
from aiwfc.images import DEFAULT_IMAGE_DIR, docker_reference

__all__ = ["NOT_INSTALLED", "DOCKER_NOT_INSTALLED", "USAGE", "lock_path", "build_script_text"]

NOT_INSTALLED = ("error: apptainer is not installed (neither `apptainer` nor `singularity` is on PATH); "
                 "install it (https://apptainer.org/docs/admin/main/installation.html), or build the "
                 "Docker images instead: bash build-images.sh --docker")
DOCKER_NOT_INSTALLED = "error: --docker needs docker or podman, and neither is on PATH"
USAGE = "usage: bash build-images.sh [--force] [--docker]"

_PRELUDE = r'''set -euo pipefail

force=0
docker=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --docker) docker=1 ;;
    *) echo {usage} >&2; exit 2 ;;
  esac
done

if [ "$docker" = 1 ]; then
  if command -v docker >/dev/null 2>&1; then
    runtime=docker
  elif command -v podman >/dev/null 2>&1; then
    runtime=podman
  else
    echo {docker_message} >&2
    exit 127
  fi
  lock={docker_lock}
elif command -v apptainer >/dev/null 2>&1; then
  runtime=apptainer
  lock={lock}
elif command -v singularity >/dev/null 2>&1; then
  runtime=singularity
  lock={lock}
else
  echo {message} >&2
  exit 127
fi

here="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"
cd "${{AIWF_PROJECT_DIR:-.}}"
read -r -a build_args <<< "${{AIWF_BUILD_ARGS:-}}"
mkdir -p "$(dirname "$lock")"
new_lock="$(mktemp "$lock.XXXXXX")"
trap 'rm -f "$new_lock"' EXIT
chmod 644 "$new_lock"
printf '# name\timage\tdigest\trecipe-hash\n' > "$new_lock"

# digest IMAGE: sha256 of a .sif, or the id of a Docker image
digest() {{
  if [ "$docker" = 1 ]; then
    "$runtime" image inspect --format '{{{{.Id}}}}' "$1" 2>/dev/null || true
  elif [ -f "$1" ]; then
    sha256sum "$1" | cut -d' ' -f1
  fi
}}

# build NAME SIF DOCKER_REFERENCE RECIPE_HASH
build() {{
  local name=$1 hash=$4 image def dig
  if [ "$docker" = 1 ]; then
    image=$3 def="$here/docker/$name.Dockerfile"
  else
    image=$2 def="$here/apptainer/$name.def"
  fi
  if [ "$force" = 0 ] && [ -f "$lock" ]; then
    dig="$(digest "$image")"
    if [ -n "$dig" ] && grep -qxF "$(printf '%s\t%s\t%s\t%s' "$name" "$image" "$dig" "$hash")" "$lock"; then
      echo "$name: up to date ($image)"
      printf '%s\t%s\t%s\t%s\n' "$name" "$image" "$dig" "$hash" >> "$new_lock"
      return 0
    fi
  fi
  echo "$name: building $image with $runtime"
  if [ "$docker" = 1 ]; then
    "$runtime" build ${{build_args[@]+"${{build_args[@]}}"}} -f "$def" -t "$image" .
  else
    mkdir -p "$(dirname "$image")"
    "$runtime" build --force ${{build_args[@]+"${{build_args[@]}}"}} "$image" "$def"
  fi
  dig="$(digest "$image")"
  printf '%s\t%s\t%s\t%s\n' "$name" "$image" "$dig" "$hash" >> "$new_lock"
}}
'''


def _image_dir(site) -> str:
    return (site.image_dir if site is not None else DEFAULT_IMAGE_DIR).rstrip("/") or "/"


def lock_path(site, docker: bool = False) -> str:
    """Where the digests are recorded: `images.lock` (or `docker-images.lock`) beside the .sif files."""
    return posixpath.join(_image_dir(site), "docker-images.lock" if docker else "images.lock")


def build_script_text(builds, header: list[str], site, names) -> str:
    """The script for `builds` (ImageBuild by name, each with apptainer/NAME.def and
    docker/NAME.Dockerfile beside the script)."""
    out = Emitter(comment_prefix="#", names=names)
    out.line("#!/usr/bin/env bash")
    for text in header:
        out.comment(text)
    out.comment()
    out.comment(f"{USAGE.removeprefix('usage: ')}")
    out.comment("Run it from the project directory (or set AIWF_PROJECT_DIR): the .sif paths, the copied files")
    out.comment("and the locks are relative to it. Each image is built with `apptainer build` into its .sif path")
    out.comment(f"(--docker: `docker build`, tagged with its reference) and recorded in {lock_path(site)}")
    out.comment(f"({lock_path(site, docker=True)}): name, image, digest, recipe hash. An image whose recipe hash")
    out.comment("and digest are already recorded is skipped unless --force. Extra build options: "
                "AIWF_BUILD_ARGS=\"--fakeroot\".")
    prelude = _PRELUDE.format(message=bash_quote(NOT_INSTALLED), docker_message=bash_quote(DOCKER_NOT_INSTALLED),
                              usage=bash_quote(USAGE), lock=bash_quote(lock_path(site)),
                              docker_lock=bash_quote(lock_path(site, docker=True)))
    out.extend(prelude.rstrip("\n").split("\n"))
    for name, build in builds.items():
        out.line()
        used = f" (GPU: {', '.join(build.gpu_phases)})" if build.gpu else ""
        out.source(build.image.span, f"image {name}{used}")
        out.line(" ".join(bash_quote(w) for w in ("build", name, build.sif, docker_reference(build),
                                                  build.recipe_hash)))
    out.line()
    out.line('mv "$new_lock" "$lock"')
    out.line("trap - EXIT")
    out.line('echo "recorded digests in $lock"')
    return out.text()
