"""The GitHub Actions workflow `plugin-builder init --ci github` writes for a project.

One job per combination of buildconfig.toml, from `invoke ci-matrix` (so adding a Go
release to the config adds its job), each on a runner of its arch (arm64 on GitHub's
native arm64 runners), with the shared compile cache when the repository has a
``GOCACHEPROG`` secret and the Go build cache of its combination restored otherwise;
then a verify gate that fails unless every combination of the matrix passed. Read-only
permissions, a timeout on every job, and no ``${{ }}`` expression inside a script: a
value a script needs reaches it through ``env:``.
"""

from __future__ import annotations

from plugin_builder import __version__

PATH = ".github/workflows/plugin-builder.yml"

_WORKFLOW = """\
# The pipeline of this plugin-builder project, written by `plugin-builder init --ci github`:
# one job per combination of buildconfig.toml, then a verify gate. The matrix is not
# written here: `invoke ci-matrix` reads it from nox, which generates it from the config,
# so adding a Go release to buildconfig.toml adds its jobs.
#
# The shared compile cache: set a repository secret GOCACHEPROG to a cache program and its
# flags (`go-cacher --cache-server=https://cache.example.com`, see `[cache]` in
# plugin-builder's docs/configuration.md); without it, each job keeps the Go build cache
# of its combination between runs.
name: plugin-builder

on:
  push:
  pull_request:

permissions:
  contents: read

env:
  # What `pip install` installs: a release of plugin-builder (or a wheel URL, or
  # "plugin-builder @ git+https://...").
  PLUGIN_BUILDER: "@INSTALL@"
  PYTHON: "3.11"
  GOCACHEPROG: ${{ secrets.GOCACHEPROG }}

jobs:
  matrix:
    runs-on: ubuntu-24.04
    timeout-minutes: 10
    outputs:
      matrix: ${{ steps.matrix.outputs.matrix }}
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: ${{ env.PYTHON }}
      - run: pip install "$PLUGIN_BUILDER"
      - id: matrix
        run: echo "matrix=$(invoke ci-matrix)" >> "$GITHUB_OUTPUT"

  pipeline:
    needs: matrix
    name: ${{ matrix.session }}
    # arm64 combinations build natively on arm64 runners.
    runs-on: ${{ matrix.runner }}
    timeout-minutes: 60
    strategy:
      fail-fast: false  # one failing combination does not stop the others
      matrix: ${{ fromJSON(needs.matrix.outputs.matrix) }}
    env:
      SESSION: ${{ matrix.session }}
      PACKAGES: ${{ matrix.packages }}
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: ${{ env.PYTHON }}
      - name: the C compiler of the combination's libc
        run: |
          sudo apt-get update -qq
          read -ra packages <<< "$PACKAGES"
          sudo apt-get install -y -qq --no-install-recommends "${packages[@]}"
      - run: pip install "$PLUGIN_BUILDER"
      # Go is provisioned by the tool (the exact release of the combination).
      - uses: actions/cache@v4
        with:
          path: ~/.cache/plugin-builder/toolchains
          key: plugin-builder-toolchains-${{ runner.arch }}-${{ matrix.combination }}
      - name: the Go build cache of the combination (without a shared cache)
        if: env.GOCACHEPROG == ''
        uses: actions/cache@v4
        with:
          path: ~/.cache/go-build
          key: go-build-${{ matrix.combination }}-${{ github.sha }}
          restore-keys: go-build-${{ matrix.combination }}-
      - run: nox -s "$SESSION"  # add `-- --backend docker` for builder and service images
      - uses: actions/upload-artifact@v4
        if: always()
        with:
          name: ${{ matrix.combination }}
          path: |
            artifacts/${{ matrix.combination }}/
            !artifacts/${{ matrix.combination }}/.work/
            results/${{ matrix.combination }}.*

  # The gate a release or a merge waits for: every combination of the matrix ran, built
  # and proved every plugin loads into its service; one summary table of all of them.
  verify:
    needs: [matrix, pipeline]
    if: always()
    runs-on: ubuntu-24.04
    timeout-minutes: 15
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: ${{ env.PYTHON }}
      - run: pip install "$PLUGIN_BUILDER"
      - uses: actions/download-artifact@v4
        with:
          merge-multiple: true  # artifacts/<combination>/ and results/<combination>.*
      - run: invoke report  # the table, also in the job summary
      - name: every combination of the matrix passed
        env:
          MATRIX: ${{ needs.matrix.outputs.matrix }}
          PIPELINE: ${{ needs.pipeline.result }}
        run: |
          invoke report --json > report.json
          python3 - <<'EOF'
          import json, os, sys
          wanted = {job["combination"] for job in json.loads(os.environ["MATRIX"])["include"]}
          status = {s["combination"]: s["status"] for s in json.load(open("report.json"))}
          bad = {c: status.get(c, "no result") for c in sorted(wanted) if status.get(c) != "passed"}
          for combination, state in bad.items():
              print(f"{combination}: {state}")
          sys.exit(1 if bad or os.environ["PIPELINE"] != "success" else 0)
          EOF
"""


def render(install: str | None = None) -> str:
    """The workflow; ``install`` is what its jobs `pip install` (this release by default)."""
    return _WORKFLOW.replace("@INSTALL@", install or f"plugin-builder=={__version__}")
