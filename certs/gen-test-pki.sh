#!/usr/bin/env bash
# Generates a throw-away TEST PKI for the MQTT connector tests (never for production, never committed):
#
#   certs/gen-test-pki.sh OUT_DIR [SAN ...]     e.g.  certs/gen-test-pki.sh /tmp/pki IP:127.0.0.1 DNS:localhost
#
# OUT_DIR gets: ca.pem ca.key (test CA), server.pem server.key (SANs: the arguments, default
# IP:127.0.0.1,DNS:localhost), client.pem client.key (CN hubbridge-test), other-ca.pem (an unrelated CA,
# to test "wrong CA"). EC P-256 keys, valid 2 days. Needs openssl.
set -euo pipefail
out="${1:?usage: gen-test-pki.sh OUT_DIR [SAN ...]}"
shift
sans=("$@")
[[ ${#sans[@]} -eq 0 ]] && sans=(IP:127.0.0.1 DNS:localhost)
san_line="$(IFS=,; echo "${sans[*]}")"
mkdir -p "$out"
cd "$out"
umask 077

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

ca() { # name subject
    key "$1.key"
    openssl req -x509 -new -key "$1.key" -sha256 -days 2 -subj "/CN=$2" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -out "$1.pem" 2>/dev/null
}

leaf() { # name subject extensions
    key "$1.key"
    openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr" 2>/dev/null
    printf '%s\n' "$3" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 -days 2 \
        -extfile "$1.ext" -out "$1.pem" 2>/dev/null
    rm -f "$1.csr" "$1.ext"
}

ca ca "hubbridge TEST CA"
ca other-ca "unrelated TEST CA"
rm -f other-ca.key
leaf server "hubbridge test broker" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=$san_line"
leaf client "hubbridge-test" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
rm -f ca.srl
# mosquitto may drop privileges; the test files are throw-away.
chmod 644 ./*.pem ./*.key
echo "test PKI written to $out (SANs: $san_line)"
