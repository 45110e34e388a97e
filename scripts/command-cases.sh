#!/usr/bin/env bash
# The edge cases of issue 14, run against one build of the command, for a before/after record:
#
#   scripts/command-cases.sh node dist/cli/mailchimp-cohort.js
#   SANDBOX= scripts/command-cases.sh node --import tsx <old checkout>/src/cli/mailchimp-cohort.ts   # no --sandbox
#
# SANDBOX is the flag that asks for a local sandbox (default --sandbox; empty for a build that has none). Prints each
# case's exit code and the start of its output. Nothing reaches Mailchimp: every case stops before a request, or
# syncs into a local sandbox.
set -u
sandbox=${SANDBOX---sandbox}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
unset MAILCHIMP_ACCESS_TOKEN MAILCHIMP_API_KEY
printf 'email\nada@mail.sample-shop.dev\n' >"$dir/c.csv"
printf 'email,email\nada@mail.sample-shop.dev,bob@mail.sample-shop.dev\n' >"$dir/dup.csv"
printf 'email\nADA@mail.sample-shop.dev\n' >"$dir/leave.csv"
printf 'email,note\nada@mail.sample-shop.dev,"a\nb\nc"\n"not\nan email",x\n' >"$dir/multi.csv"
printf 'email\nfirst.try@example.com\n' >"$dir/fake.csv"
printf 'email\nuser@bücher.de\nuser@xn--bcher-kva.de\nzero\xe2\x80\x8bwidth@mail.sample-shop.dev\nuser@mail.acme.io.\nuser@-bad-.io\n' >"$dir/addresses.csv"
printf 'mail,name\n,Nobody\n' >"$dir/nomail.csv"

run() {
  local name=$1
  shift
  echo "### $name"
  local started=$SECONDS
  timeout 20 "$@" >"$dir/out" 2>&1
  echo "exit $? ($((SECONDS - started)) s)"
  head -c 700 "$dir/out" | sed 's/^/    /'
  echo
}

sync=("$@" sync --file "$dir/c.csv" --cohort X --audience 57afe96172)
run 'empty MAILCHIMP_ACCESS_TOKEN' env MAILCHIMP_ACCESS_TOKEN= "${sync[@]}"
run 'blank MAILCHIMP_API_KEY' env MAILCHIMP_API_KEY='   ' "${sync[@]}"
run 'a token with a newline' env MAILCHIMP_ACCESS_TOKEN=$'abc\ndef' "${sync[@]}"
run 'no credentials, no --sandbox' "$@" sync --file "$dir/c.csv" --cohort X
run '--force without --mirror' "$@" sync $sandbox --file "$dir/c.csv" --cohort X --force
run '--max-untag ""' "$@" sync $sandbox --file "$dir/c.csv" --cohort X --mirror --max-untag ''
run '--max-untag 0x10' "$@" sync $sandbox --file "$dir/c.csv" --cohort X --mirror --max-untag 0x10
run '--max-untag 1e1' "$@" sync $sandbox --file "$dir/c.csv" --cohort X --mirror --max-untag 1e1
run '--cohort twice' "$@" sync $sandbox --file "$dir/c.csv" --cohort X --cohort Y
run 'header email,email' "$@" sync $sandbox --file "$dir/dup.csv" --cohort X
run '--membership-column with --remove-file' "$@" sync $sandbox --file "$dir/c.csv" --cohort X \
  --membership-column m --remove-file "$dir/leave.csv"
run 'one address in --file and --remove-file' "$@" sync $sandbox --file "$dir/c.csv" --cohort X \
  --remove-file "$dir/leave.csv"
run '--file /dev/zero' "$@" sync $sandbox --file /dev/zero --cohort X
run 'help' "$@" help
run 'help sync' "$@" help sync
run '--version' "$@" --version
run '--json with an unknown option (stdout only)' sh -c '"$@" 2>/dev/null' _ "$@" sync --file "$dir/c.csv" --cohort X \
  --colour --json
run 'a record on lines 2-4, then a bad one on lines 5-6' "$@" sync $sandbox --file "$dir/multi.csv" --cohort X
run 'an address the sandbox treats as fake' "$@" sync $sandbox --file "$dir/fake.csv" --cohort X
run 'addresses' "$@" sync $sandbox --file "$dir/addresses.csv" --cohort X --json
run 'the host'"'"'s words' "$@" sync $sandbox --file "$dir/nomail.csv" --email-column mail --cohort X
