#!/usr/bin/env bash
# Runs every Stele test suite and ends with `tests: N passed, M failed[, K skipped]`,
# computed from the test runner's TRX results. Exits non-zero if anything failed.
#
# It provides what the suites need when it is missing (see scripts/test-deps.sh) and
# stops what it started when it ends. Under CI=true a missing dependency makes the
# dependent tests fail instead of skip.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"
artifacts="$root/.test-artifacts"
results="$artifacts/results"
rm -rf "$results"
mkdir -p "$results"

cleanup() {
  if [[ -x "$root/scripts/test-deps.sh" ]]; then
    "$root/scripts/test-deps.sh" stop || true
  fi
}
trap cleanup EXIT

if [[ -x "$root/scripts/test-deps.sh" ]]; then
  # Exports connection settings (e.g. STELE_TEST_POSTGRES) for the suites.
  # shellcheck disable=SC1090
  source <("$root/scripts/test-deps.sh" start)
fi

echo "== building"
if ! dotnet build Stele.slnx -c Release --nologo -v quiet; then
  echo "build failed"
  echo "tests: 0 passed, 1 failed"
  exit 1
fi

echo "== running tests"
dotnet test Stele.slnx -c Release --no-build --nologo \
  --logger "trx" --logger "console;verbosity=minimal" \
  --results-directory "$results" "$@"
test_exit=$?

passed=0 failed=0 skipped=0 total=0
shopt -s nullglob
trx_files=("$results"/*.trx)
for trx in "${trx_files[@]}"; do
  counters="$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)"
  get() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"; }
  t="$(get total)"; p="$(get passed)"; f="$(get failed)"; n="$(get notExecuted)"; e="$(get error)"; to="$(get timeout)"; ab="$(get aborted)"
  total=$((total + ${t:-0}))
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0} + ${e:-0} + ${to:-0} + ${ab:-0}))
  skipped=$((skipped + ${n:-0}))
done

# One TRX file per test project; fewer means a project's results were lost (or it never ran).
projects=$(grep -c '<Project Path="tests/' Stele.slnx)
if [[ ${#trx_files[@]} -ne $projects ]]; then
  echo "expected results from $projects test projects, found ${#trx_files[@]}"
  failed=$((failed + 1))
fi
if [[ ${#trx_files[@]} -eq 0 || $total -eq 0 ]]; then
  echo "no test results were produced"
  failed=$((failed + 1))
fi
if [[ $test_exit -ne 0 && $failed -eq 0 ]]; then
  # The runner failed without a failed test (a crashed test host, for example).
  echo "the test runner exited with $test_exit"
  failed=1
fi

summary="tests: $passed passed, $failed failed"
if [[ $skipped -gt 0 ]]; then
  summary="$summary, $skipped skipped"
fi
echo "$summary"
[[ $failed -eq 0 ]]
