#!/usr/bin/env bash
# verify-service-token.sh TOKEN AUDIENCE SCOPE: what a service in any language checks before it
# trusts a service token, with nothing but curl, jq and openssl (DESIGN section 9). It answers
# as the service would: prints the caller or why not, then the status (200, 401
# invalid_token, 403 insufficient_scope). AUTH is the issuer's URL (http://127.0.0.1:6001 by
# default). Reference only: a real service does this with its language's JWT library (see
# docs/any-language.md), and caches the key set instead of fetching it per token.
set -euo pipefail
token="$1" audience="$2" scope="$3"
issuer="${AUTH:-http://127.0.0.1:6001}"
refuse() { printf '{"error":"unauthorized","why":"%s"}  401\n' "$1"; exit 0; }

b64url_decode() {
  local s
  s=$(printf %s "$1" | tr '_-' '/+')
  while [ $(( ${#s} % 4 )) -ne 0 ]; do s="$s="; done
  printf %s "$s" | base64 -d 2>/dev/null
}

# 1. Three base64url parts; the header says EdDSA, at+jwt, and which key (kid).
IFS=. read -r header payload signature extra <<<"$token"
[ -n "$signature" ] && [ -z "${extra:-}" ] || refuse not_a_jws
head_json=$(b64url_decode "$header") || refuse bad_header
[ "$(jq -r .alg <<<"$head_json")" = EdDSA ] || refuse alg
[ "$(jq -r .typ <<<"$head_json")" = at+jwt ] || refuse typ
kid=$(jq -r '.kid // empty' <<<"$head_json")
[ -n "$kid" ] || refuse kid

# 2. The issuer's metadata names its issuer and its key set; the key is the one with that kid.
metadata=$(curl -sf "$issuer/.well-known/oauth-authorization-server")
[ "$(jq -r .issuer <<<"$metadata")" = "$issuer" ] || refuse issuer_metadata
jwks=$(curl -sf "$(jq -r .jwks_uri <<<"$metadata")")
x=$(jq -r --arg kid "$kid" \
  '.keys[] | select(.kid == $kid and .kty == "OKP" and .crv == "Ed25519") | .x' <<<"$jwks")
[ -n "$x" ] || refuse unknown_kid

# 3. The Ed25519 signature over "header.payload" (an SPKI prefix turns the raw key into DER).
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
{ printf '302a300506032b6570032100' | xxd -r -p; b64url_decode "$x"; } >"$work/key.der"
openssl pkey -pubin -inform DER -in "$work/key.der" -out "$work/key.pem" 2>/dev/null
printf %s "$header.$payload" >"$work/signed"
b64url_decode "$signature" >"$work/signature"
openssl pkeyutl -verify -pubin -inkey "$work/key.pem" -rawin -in "$work/signed" \
  -sigfile "$work/signature" >/dev/null 2>&1 || refuse signature

# 4. The claims: iss, aud (this service), exp, iat, at most 10 minutes, sub = client_id, scope.
claims=$(b64url_decode "$payload") || refuse bad_payload
now=$(date +%s)
jq -e --arg iss "$issuer" --arg aud "$audience" --argjson now "$now" '
  .iss == $iss and (.aud == $aud or (.aud | type == "array" and index($aud) != null))
  and (.exp | type == "number") and .exp > $now
  and (.iat | type == "number") and .iat <= $now + 5 and .exp - .iat <= 600
  and (.sub | type == "string") and .client_id == .sub and (.jti | type == "string")
  and (.scope | type == "string")' <<<"$claims" >/dev/null || refuse claims
if ! jq -e --arg scope "$scope" '.scope | split(" ") | index($scope) != null' <<<"$claims" >/dev/null; then
  printf '{"error":"Forbidden","why":"insufficient_scope"}  403\n'
  exit 0
fi
jq -c '{caller: .sub, scope, expires_in: (.exp - now | floor)}' <<<"$claims" | tr -d '\n'
printf '  200\n'
