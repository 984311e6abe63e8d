#!/usr/bin/env bash
# Installs a hubbridge .deb for real — dpkg, its maintainer scripts, useradd, deb-systemd-helper — into a
# throw-away root, checks what an admin would, purges it, and prints the findings as "key: value" lines for
# tests/e2e/test_package.py. The host is never touched:
#   - everything runs in a private mount namespace (unshare -m), gone when this script ends;
#   - the root is an overlay whose lower layer is the host's / (read-only to it: its dpkg database satisfies the
#     package's Depends) and whose upper layer is a tmpfs: every write (the dpkg database, /etc/passwd, the
#     unit's enable symlink) lands in memory.
#   tests/e2e/package/throwaway-root.sh DEB
set -euo pipefail
deb="$(realpath "${1:?usage: throwaway-root.sh DEB}")"
[[ $(id -u) -eq 0 ]] || { echo "needs root" >&2; exit 2; }

if [[ "${HB_THROWAWAY_INNER:-}" != 1 ]]; then
    exec env HB_THROWAWAY_INNER=1 unshare --mount --propagation private "$0" "$deb"
fi

base="$(mktemp -d)"
mount -t tmpfs -o size=512m hubbridge-throwaway "$base"
mkdir "$base/upper" "$base/work" "$base/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$base/upper,workdir=$base/work" "$base/root"
r="$base/root"
mount --rbind /proc "$r/proc"
mount --rbind /dev "$r/dev"
# No systemd runs here (nor in most containers): the package must install without it.
[[ -d "$r/run/systemd/system" ]] && mount -t tmpfs none "$r/run/systemd"
mkdir -p "$r/pkg"
cp "$deb" "$r/pkg/hubbridge.deb"
in_root() { chroot "$r" "$@"; }
say() { printf '%s: %s\n' "$1" "$2"; }

if in_root getent passwd hubbridge >/dev/null; then say preexisting-user yes; fi
in_root env DEBIAN_FRONTEND=noninteractive dpkg -i /pkg/hubbridge.deb >"$base/dpkg-install.log" 2>&1 \
    && say install ok || { say install failed; sed 's/^/dpkg: /' "$base/dpkg-install.log"; exit 0; }
say status "$(in_root dpkg-query -W -f='${Status} ${Version}' hubbridge)"
say version "$(in_root /usr/bin/hubbridge --version)"
say user "$(in_root getent passwd hubbridge | cut -d: -f1,6,7)"
say group "$(in_root getent group hubbridge | cut -d: -f1)"
for p in /etc/hubbridge /etc/hubbridge/hubbridge.toml /etc/hubbridge/hubbridge.example.toml /var/lib/hubbridge \
         /usr/bin/hubbridge; do
    say "mode $p" "$(in_root stat -c '%a %U:%G' "$p")"
done
unit=$(in_root sh -c 'ls /lib/systemd/system/hubbridge.service /usr/lib/systemd/system/hubbridge.service 2>/dev/null | head -1')
say unit "$unit"
say enabled "$(in_root readlink /etc/systemd/system/multi-user.target.wants/hubbridge.service || echo no)"
say conffiles "$(in_root sh -c 'cat /var/lib/dpkg/info/hubbridge.conffiles | tr "\n" " "')"
# The unit as systemd would load it, with the binary in place (no running systemd needed).
if out=$(in_root systemd-analyze verify "$unit" 2>&1); then say verify ok; else say verify "failed: $out"; fi
say exposure "$(in_root systemd-analyze security --offline=true "$unit" 2>/dev/null | tail -1)"
# As the daemon's user: the shipped config is valid and readable, the state directory writable.
if out=$(in_root runuser -u hubbridge -- hubbridge check-config /etc/hubbridge/hubbridge.toml 2>&1); then
    say check-config "$out"
else
    say check-config "failed: $out"
fi
if tok=$(in_root runuser -u hubbridge -- hubbridge token --config /etc/hubbridge/hubbridge.toml 2>&1); then
    say token-length "${#tok}"
    say "mode /var/lib/hubbridge/api-token" "$(in_root stat -c '%a %U:%G' /var/lib/hubbridge/api-token)"
else
    say token "failed: $tok"
fi
if out=$(in_root runuser -u nobody -- cat /etc/hubbridge/hubbridge.toml 2>&1); then
    say other-user-reads-config yes
else
    say other-user-reads-config no
fi

# A plain remove keeps state and config; purge takes everything, the user too.
in_root dpkg -r hubbridge >"$base/dpkg-remove.log" 2>&1 && say remove ok || say remove failed
say after-remove-state "$(in_root sh -c 'test -e /var/lib/hubbridge/api-token && echo kept || echo gone')"
in_root dpkg --purge hubbridge >"$base/dpkg-purge.log" 2>&1 && say purge ok || say purge failed
say after-purge-user "$(in_root getent passwd hubbridge >/dev/null && echo kept || echo gone)"
say after-purge-state "$(in_root sh -c 'test -e /var/lib/hubbridge && echo kept || echo gone')"
say after-purge-etc "$(in_root sh -c 'test -e /etc/hubbridge && echo kept || echo gone')"
say after-purge-enabled "$(in_root sh -c 'test -L /etc/systemd/system/multi-user.target.wants/hubbridge.service && echo kept || echo gone')"
say after-purge-binary "$(in_root sh -c 'test -e /usr/bin/hubbridge && echo kept || echo gone')"
