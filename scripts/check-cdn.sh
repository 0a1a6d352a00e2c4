#!/usr/bin/env bash
# Checks a deployed CDN mode (README "Deploying") from the outside, with curl: byte ranges, cache
# hits (X-Cache), the contract's errors, and, given the signing secret, that unsigned and forged
# links are refused. Exits 1 if any check fails, 2 on wrong usage.
#
#   scripts/check-cdn.sh <distribution domain> <file name> [--function-url <url>]
#   SIGNING_SECRET=… scripts/check-cdn.sh d111111abcdef8.cloudfront.net 'Title__6f1c….mp4'
#
# The domain is the stack's CdnDomainName output (a full base URL such as http://127.0.0.1:8001
# works too); the file must exist in the bucket. With SIGNING_SECRET set, links are made with
# `npm run sign` (run from this project). --function-url (the StreamLambdaFunctionUrl output) also
# checks that the function cannot be reached without going through the distribution.
# shellcheck disable=SC2015 # "test && ok || fail": ok always succeeds, so fail runs only when the test fails
set -uo pipefail

usage() {
  echo "usage: $0 <distribution domain> <file name> [--function-url <url>]   (SIGNING_SECRET=… to check signed links)" >&2
  exit 2
}
[[ $# -ge 2 ]] || usage
base=$1 name=$2
shift 2
function_url=''
while [[ $# -gt 0 ]]; do
  case $1 in
    --function-url) [[ $# -ge 2 ]] || usage; function_url=$2; shift 2 ;;
    *) usage ;;
  esac
done
[[ $base == *://* ]] || base="https://$base"
base=${base%/}
secret=${SIGNING_SECRET:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

ok() { echo "ok   - $*"; }
fail() { echo "FAIL - $*"; failures=$((failures + 1)); }

# Percent-encodes every byte of UTF-8 but the unreserved ones, as encodeURIComponent does.
urlencode() {
  local LC_ALL=C s=$1 out='' c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in
      [a-zA-Z0-9._~!*\'\(\)-]) out+=$c ;;
      *) out+=$(printf '%%%02X' "'$c") ;;
    esac
  done
  printf '%s' "$out"
}
# The URL of a file, signed when there is a secret (with npm run sign's own code).
link() {
  if [[ -n $secret ]]; then
    (cd "$(dirname "$0")/.." && SIGNING_SECRET=$secret npm run --silent sign -- "$1" --ttl 600 --base-url "$base") || {
      echo "npm run sign failed" >&2
      exit 2
    }
  else
    printf '%s/api/stream/%s\n' "$base" "$(urlencode "$1")"
  fi
}
# request <name> <curl args…>: status in $status, headers in $work/<name>.h, body in $work/<name>.b.
request() {
  local id=$1
  shift
  status=$(curl -sS --max-time 60 -D "$work/$id.h" -o "$work/$id.b" -w '%{http_code}' "$@") || status=000
}
header() { grep -i "^$2:" "$work/$1.h" | tail -n 1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//'; }
expect_status() { [[ $status == "$2" ]] && ok "$1: $status" || fail "$1: expected $2, got $status $(head -c 200 "$work/$3.b" 2>/dev/null)"; }

url=$(link "$name")
missing_url=$(link "check-cdn-missing__00000000-0000-0000-0000-000000000000.mp4")

request head -I "$url"
if [[ $status == 403 && -z $secret ]]; then
  fail "HEAD $name: 403 - the distribution wants signed links: run with SIGNING_SECRET set"
  exit 1
fi
expect_status "HEAD $name" 200 head
size=$(header head content-length)
[[ $(header head accept-ranges) == bytes ]] && ok "Accept-Ranges: bytes" || fail "Accept-Ranges is '$(header head accept-ranges)', not bytes"
if ! [[ $size =~ ^[0-9]+$ && $size -ge 2 ]]; then
  fail "HEAD gives no usable Content-Length ('$size'): the file must exist and have 2 bytes or more"
  echo "$failures check(s) failed"
  exit 1
fi

request first -H 'Range: bytes=0-1' "$url"
expect_status "Range bytes=0-1" 206 first
[[ $(header first content-range) == "bytes 0-1/$size" ]] && ok "Content-Range: bytes 0-1/$size" || fail "Content-Range is '$(header first content-range)', not bytes 0-1/$size"
[[ $(wc -c <"$work/first.b") -eq 2 ]] && ok "2 bytes sent" || fail "$(wc -c <"$work/first.b") bytes sent for bytes=0-1"
[[ $(header first x-content-type-options) == nosniff ]] && ok "X-Content-Type-Options: nosniff" || fail "no X-Content-Type-Options: nosniff"
grep -qi '^x-amz-' "$work/first.h" && fail "S3's x-amz-* headers reach the viewer: $(grep -i '^x-amz-' "$work/first.h" | tr -d '\r' | tr '\n' ' ')" || ok "no x-amz-* headers"

request last -H 'Range: bytes=-1' "$url"
expect_status "Range bytes=-1" 206 last
[[ $(header last content-range) == "bytes $((size - 1))-$((size - 1))/$size" ]] && ok "suffix range: the last byte" || fail "Content-Range is '$(header last content-range)' for bytes=-1"

request past -H "Range: bytes=$size-" "$url"
expect_status "Range bytes=$size- (past the end)" 416 past
[[ $(header past content-range) == "bytes */$size" ]] && ok "Content-Range: bytes */$size" || fail "Content-Range is '$(header past content-range)' on the 416"

# CloudFront caches what it fetched: the same request again is a hit (another edge server of the
# same location may miss once more, hence a few tries).
hit=''
for try in 1 2 3 4 5; do
  request cache -H 'Range: bytes=0-1023' "$url"
  cache=$(header cache x-cache)
  [[ -z $cache ]] && break
  if [[ $cache == Hit* ]]; then hit=$try; break; fi
  sleep 1
done
if [[ -z $cache ]]; then fail "no X-Cache header: is $base a CloudFront distribution?"
elif [[ -n $hit ]]; then ok "X-Cache: $cache (request $hit)"
else fail "X-Cache never says Hit after 5 requests (last: $cache)"; fi

request missing "$missing_url"
expect_status "a missing file" 404 missing
grep -q '"detail":"Archivo no encontrado"' "$work/missing.b" && ok "404 body is the contract's JSON" || fail "404 body: $(head -c 200 "$work/missing.b")"

request post -X POST "$url"
[[ $status =~ ^(403|405)$ ]] && ok "POST refused: $status" || fail "POST answered $status"

if [[ -n $secret ]]; then
  request unsigned "${url%%\?*}"
  expect_status "an unsigned link" 403 unsigned
  grep -q '"detail":"Enlace no válido o caducado"' "$work/unsigned.b" && ok "403 body is the contract's JSON" || fail "403 body: $(head -c 200 "$work/unsigned.b")"
  # The same link with the signature's last character changed.
  last=${url: -1}
  [[ $last == A ]] && other=B || other=A
  request forged -H 'Range: bytes=0-1' "${url%?}$other"
  expect_status "a forged signature" 403 forged
else
  echo "skip - signed links: SIGNING_SECRET is not set"
fi

if [[ -n $function_url ]]; then
  # Unsigned by SigV4, so an AWS_IAM URL must refuse it, whatever the query string says.
  request direct "${function_url%/}/api/stream/${url#"$base"/api/stream/}"
  expect_status "the Function URL without the distribution" 403 direct
fi

if [[ $failures -gt 0 ]]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
