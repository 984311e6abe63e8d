"""The Debian package: cargo-deb packages the binary the suite already built (no second build), the test reads
its control data, contents and maintainer scripts, then installs it for real with dpkg into a throw-away overlay
root (tests/e2e/package/throwaway-root.sh), runs the installed binary and the unit checks there, and purges it."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from conftest import WORKSPACE, hubbridge_binary

CARGO_DEB = os.path.join(WORKSPACE, "target", "tools", "bin", "cargo-deb")


@pytest.fixture(scope="module")
def deb(tmp_path_factory) -> str:
    binary = hubbridge_binary()
    if binary is None or not os.path.isfile(CARGO_DEB):
        pytest.fail(f"need the built hubbridge and {CARGO_DEB} (tests/e2e/install.sh installs it)")
    out = tmp_path_factory.mktemp("deb")
    # --no-build: the suite's dev build, as it is (cargo-deb strips a copy: debug info stays out of the package).
    profile = "release" if "/release/" in binary else "dev"
    p = subprocess.run([CARGO_DEB, "-p", "hubbridge", "--no-build", "--profile", profile, "--fast", "-o", str(out)],
                       cwd=WORKSPACE, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, f"cargo deb failed: {p.stderr}"
    debs = [f for f in os.listdir(out) if f.endswith(".deb")]
    assert len(debs) == 1, debs
    return os.path.join(out, debs[0])


def dpkg_deb(*args: str) -> str:
    return subprocess.run(["dpkg-deb", *args], check=True, capture_output=True, text=True).stdout


def test_package_control_contents_and_scripts(deb, tmp_path):
    info = dpkg_deb("-f", deb)
    fields = dict(re.findall(r"^([A-Za-z-]+): (.*)$", info, re.M))
    assert fields["Package"] == "hubbridge"
    assert fields["Architecture"] == subprocess.run(["dpkg", "--print-architecture"], capture_output=True,
                                                    text=True).stdout.strip()
    depends = [d.strip().split(" ")[0] for d in fields["Depends"].split(",")]
    assert "libc6" in depends and "passwd" in depends, fields["Depends"]

    listing = dpkg_deb("-c", deb)
    entries = {line.split()[-1]: line.split()[0] for line in listing.splitlines()}
    assert entries.get("./usr/bin/hubbridge") == "-rwxr-xr-x", listing
    unit = next(p for p in entries if p.endswith("/systemd/system/hubbridge.service"))
    assert entries[unit] == "-rw-r--r--", listing
    assert entries.get("./etc/hubbridge/hubbridge.toml") == "-rw-r-----", listing
    assert entries.get("./etc/hubbridge/hubbridge.example.toml") == "-rw-r-----", listing
    assert "./usr/share/doc/hubbridge/README.md" in entries

    control = tmp_path / "control"
    dpkg_deb("-e", deb, str(control))
    conffiles = (control / "conffiles").read_text().split()
    assert conffiles == ["/etc/hubbridge/hubbridge.example.toml", "/etc/hubbridge/hubbridge.toml"] or \
        sorted(conffiles) == ["/etc/hubbridge/hubbridge.example.toml", "/etc/hubbridge/hubbridge.toml"], conffiles
    postinst = (control / "postinst").read_text()
    assert "useradd --system" in postinst
    assert "deb-systemd-helper enable hubbridge.service" in postinst
    # Started only where systemd runs: a chroot, an image build or a container install must not fail.
    assert "if [ -d /run/systemd/system ]" in postinst
    postrm = (control / "postrm").read_text()
    assert "purge" in postrm and "userdel hubbridge" in postrm and "rm -rf /var/lib/hubbridge" in postrm
    for script in ("postinst", "postrm", "prerm"):
        if (control / script).exists():
            assert os.access(control / script, os.X_OK), script
            subprocess.run(["sh", "-n", str(control / script)], check=True)

    # The packaged binary is the suite's build, stripped: same version, far smaller.
    extracted = tmp_path / "x"
    dpkg_deb("-x", deb, str(extracted))
    packaged = extracted / "usr" / "bin" / "hubbridge"
    built = hubbridge_binary()
    version = subprocess.run([str(packaged), "--version"], capture_output=True, text=True, check=True).stdout
    assert version == subprocess.run([built, "--version"], capture_output=True, text=True, check=True).stdout
    assert os.path.getsize(packaged) < os.path.getsize(built)
    sections = subprocess.run(["readelf", "-S", "-W", str(packaged)], capture_output=True, text=True,
                              check=True).stdout
    assert ".debug_line" not in sections, "the packaged binary carries debug info"


def test_package_installs_runs_and_purges_in_a_throwaway_root(deb):
    script = os.path.join(WORKSPACE, "tests", "e2e", "package", "throwaway-root.sh")
    p = subprocess.run(["bash", script, deb], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    facts = dict(line.split(": ", 1) for line in p.stdout.splitlines() if ": " in line)
    assert "preexisting-user" not in facts, "the host already has a hubbridge user: the test proves nothing"
    assert facts.get("install") == "ok", p.stdout
    assert facts["status"].startswith("install ok installed"), facts
    assert facts["version"].startswith("hubbridge "), facts
    assert facts["user"] == "hubbridge:/var/lib/hubbridge:/usr/sbin/nologin", facts
    assert facts["group"] == "hubbridge"
    assert facts["mode /etc/hubbridge"] == "750 root:hubbridge"
    assert facts["mode /etc/hubbridge/hubbridge.toml"] == "640 root:hubbridge"
    assert facts["mode /var/lib/hubbridge"] == "700 hubbridge:hubbridge"
    assert facts["mode /usr/bin/hubbridge"] == "755 root:root"
    # Enabled without a running systemd (deb-systemd-helper), to start at the next boot.
    assert facts["enabled"].endswith("/hubbridge.service"), facts
    assert facts["verify"] == "ok", facts
    assert "Overall exposure level for hubbridge.service: 1." in facts["exposure"], facts
    assert "/etc/hubbridge/hubbridge.toml" in facts["conffiles"]
    assert ": OK" in facts["check-config"], facts
    assert facts["token-length"] == "64", facts
    assert facts["mode /var/lib/hubbridge/api-token"] == "600 hubbridge:hubbridge"
    assert facts["other-user-reads-config"] == "no"
    assert facts["remove"] == "ok" and facts["after-remove-state"] == "kept", facts
    assert facts["purge"] == "ok", facts
    for what in ("user", "state", "etc", "enabled", "binary"):
        assert facts[f"after-purge-{what}"] == "gone", (what, facts)
