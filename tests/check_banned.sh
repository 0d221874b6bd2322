#!/usr/bin/env bash
# Fails when a banned call appears in the C sources (comments and strings are not exempt:
# name the function differently in prose).
set -u
cd "$(dirname "$0")/.."
pattern='\b(strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|atoll|sscanf|gets)[[:space:]]*\('
# Every C file of the tree, with or without git (a source tarball is checked too);
# build directories and node_modules are not sources.
files=$(find . \( -path './build*' -o -path './.git' -o -path '*/node_modules' \) -prune -o \
  -type f \( -name '*.c' -o -name '*.h' \) -print)
[[ -n $files ]] || { echo "no C sources found under $PWD" >&2; exit 1; }
hits=$(printf '%s\n' "$files" | xargs -r grep -nE "$pattern" || true)
if [[ -n $hits ]]; then
  echo "banned calls found:" >&2
  echo "$hits" >&2
  exit 1
fi
exit 0
