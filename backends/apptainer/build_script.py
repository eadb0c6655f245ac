"""`build-images.sh`: builds every image of the workflow and records its digest.

The script needs bash, coreutils and apptainer (or singularity), never aiwfc. It
first looks for the runtime and, when there is none, says so and exits 127 (the
shell's "command not found") before touching anything. Otherwise, from the project
directory (the current one, or `AIWF_PROJECT_DIR`), for each image it runs
`apptainer build --force SIF DEF` into the image's `sif_path`, unless `images.lock`
already records the same recipe hash and the .sif still has the recorded sha256 (pass
`--force` to rebuild anyway). The new lock lists, tab-separated, the name, .sif path,
sha256 of the .sif and recipe hash of every image; it replaces the old one only when
every build succeeded. `AIWF_BUILD_ARGS` adds options to each build (`--fakeroot`).
"""

from __future__ import annotations

import posixpath

from aiwfc.emitter import Emitter, bash_quote
from aiwfc.images import DEFAULT_IMAGE_DIR

NOT_INSTALLED = ("error: apptainer is not installed; install it "
                 "(https://apptainer.org/docs/admin/main/installation.html) "
                 "or build the Dockerfiles with docker/podman")

_PRELUDE = r'''set -euo pipefail

if command -v apptainer >/dev/null 2>&1; then
  runtime=apptainer
elif command -v singularity >/dev/null 2>&1; then
  runtime=singularity
else
  echo {message} >&2
  exit 127
fi

here="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"
cd "${{AIWF_PROJECT_DIR:-.}}"
force=0
if [ "${{1:-}}" = "--force" ]; then
  force=1
fi
read -r -a build_args <<< "${{AIWF_BUILD_ARGS:-}}"
lock={lock}
mkdir -p "$(dirname "$lock")"
new_lock="$(mktemp "$lock.XXXXXX")"
trap 'rm -f "$new_lock"' EXIT
printf '# name\tsif\tsha256\trecipe-hash\n' > "$new_lock"

# build NAME SIF DEFINITION RECIPE_HASH
build() {{
  local name=$1 sif=$2 def=$3 hash=$4 digest
  if [ "$force" = 0 ] && [ -f "$sif" ] && [ -f "$lock" ]; then
    digest="$(sha256sum "$sif" | cut -d' ' -f1)"
    if grep -qxF "$(printf '%s\t%s\t%s\t%s' "$name" "$sif" "$digest" "$hash")" "$lock"; then
      echo "$name: up to date ($sif)"
      printf '%s\t%s\t%s\t%s\n' "$name" "$sif" "$digest" "$hash" >> "$new_lock"
      return 0
    fi
  fi
  echo "$name: building $sif with $runtime"
  mkdir -p "$(dirname "$sif")"
  "$runtime" build --force ${{build_args[@]+"${{build_args[@]}}"}} "$sif" "$here/$def"
  digest="$(sha256sum "$sif" | cut -d' ' -f1)"
  printf '%s\t%s\t%s\t%s\n' "$name" "$sif" "$digest" "$hash" >> "$new_lock"
}}
'''


def lock_path(site) -> str:
    """Where the digests are recorded: `images.lock` beside the .sif files."""
    directory = (site.image_dir if site is not None else DEFAULT_IMAGE_DIR).rstrip("/") or "/"
    return posixpath.join(directory, "images.lock")


def build_script_text(builds, header: list[str], site, names, def_paths: dict[str, str]) -> str:
    """The script for `builds` (ImageBuild by name); `def_paths` maps each name to its
    definition's path relative to the script."""
    out = Emitter(comment_prefix="#", names=names)
    out.line("#!/usr/bin/env bash")
    for text in header:
        out.comment(text)
    out.comment()
    out.comment("Usage: bash build-images.sh [--force]   (run from the project directory, or set AIWF_PROJECT_DIR)")
    out.comment("Builds each image into its .sif path (relative to the project directory) with `apptainer build`,")
    out.comment(f"skips images whose recipe hash and digest {lock_path(site)} already records, and records")
    out.comment("name, .sif, sha256 and recipe hash there. Extra build options: AIWF_BUILD_ARGS=\"--fakeroot\".")
    prelude = _PRELUDE.format(message=bash_quote(NOT_INSTALLED), lock=bash_quote(lock_path(site)))
    out.extend(prelude.rstrip("\n").split("\n"))
    for name, build in builds.items():
        out.line()
        used = f" (GPU: {', '.join(build.gpu_phases)})" if build.gpu else ""
        out.source(build.image.span, f"image {name}{used}")
        out.line(" ".join(bash_quote(w) for w in ("build", name, build.sif, def_paths[name], build.recipe_hash)))
    out.line()
    out.line('mv "$new_lock" "$lock"')
    out.line("trap - EXIT")
    out.line('echo "recorded digests in $lock"')
    return out.text()
