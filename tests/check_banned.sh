#!/usr/bin/env bash
# Fails when a banned call appears in the C sources (comments and strings are not exempt:
# name the function differently in prose).
set -u
cd "$(dirname "$0")/.."
pattern='\b(strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|atoll|sscanf|gets)[[:space:]]*\('
hits=$(git ls-files -co --exclude-standard -- '*.c' '*.h' | xargs -r grep -nE "$pattern" || true)
if [[ -n $hits ]]; then
  echo "banned calls found:" >&2
  echo "$hits" >&2
  exit 1
fi
exit 0
