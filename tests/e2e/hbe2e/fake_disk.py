"""FakeDisk: a FAKE disk for power-cut and fault tests — an in-memory FUSE filesystem (mfusepy over libfuse3) that
keeps two versions of everything, as a disk with a volatile write cache does:

- a file's *current* content (what reads return) and its *durable* content (as of its last fsync/fdatasync);
- a directory's *current* entries and its *durable* entries (as of its last fsync of that directory): a
  create, rename or unlink is durable only once the directory was fsync'd (POSIX; ext4 and others often keep
  more, never less).

A power cut (the file `IMAGE_DIR.cut` appears) writes what survives to an image directory, plus
`IMAGE_DIR.powercut.json` saying what was lost. The cut file may hold a policy, `{"policy": P, "seed": N}`:

- `"fsynced"` (the default): exactly the durable view survives — every write that was not fsync'd, every name
  change whose directory was not fsync'd, vanishes (the POSIX minimum).
- `"reorder"`: what a volatile cache that writes back in any order leaves, a legal outcome a real disk produces
  too: name changes are a journal of which a random prefix survives (at least up to the last directory fsync;
  ext4 and XFS commit metadata in order), independently of file data; of each file's 4 KiB blocks written
  since its last fsync a random subset survives, and its length is the old or the new one. So a rename whose
  data was not fsync'd first leaves a torn or empty file, and an unsynced rewrite in place is torn. The seed
  (random unless given) is in the report, to replay a failure.

An fsync that fails (injected) behaves as Linux's does since 4.13 ("fsyncgate"): the blocks it could not write
back are marked clean, reads still return the new data, but they are not durable and a later fsync that
succeeds does not make them so — only writing them again does. Creating the file `IMAGE_DIR.stall` makes every later fsync
hang (until the cut, then EIO), as a dying disk does, so a test can leave writes deterministically unsynced.
SIGTERM ends it (libfuse unmounts).

Faults, as a flaky disk has them: while the file `IMAGE_DIR.faults` exists, holding e.g.
`{"write": ["EIO", 3], "rename": ["ENOSPC", 2]}`, every 3rd write (write or pwrite, any file) fails with EIO and
every 2nd rename with ENOSPC (also `fsync`, `create`); a failed write, create or rename changes nothing; a
failed fsync loses the writes it should have made durable (see above). The counts of injected
faults are in the power-cut report.

    python -m hbe2e.fake_disk MOUNTPOINT INITIAL_DIR IMAGE_DIR

INITIAL_DIR is loaded as fully durable. Prints "mounted" once the mount is up, "stalled", "faults ...",
"image written".
"""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import stat
import subprocess
import sys
import threading
import time

import mfusepy as fuse


class Node:
    def __init__(self, mode: int):
        self.mode = mode
        now = time.time_ns()
        self.times = (now, now, now)


BLOCK = 4096


class File(Node):
    def __init__(self, mode: int, data: bytes = b""):
        super().__init__(stat.S_IFREG | (mode & 0o7777))
        self.data = bytearray(data)
        self.durable = bytes(data)
        self.dirty: set[int] = set()  # blocks written since the last fsync
        self.failed: set[int] = set()  # blocks a failed fsync marked clean without writing them back

    def touched(self, start: int, end: int):
        for b in range(start // BLOCK, (max(end, start + 1) + BLOCK - 1) // BLOCK):
            self.dirty.add(b)
            self.failed.discard(b)

    def synced(self) -> bytes:
        """The content a successful fsync makes durable now: the current data, except blocks a failed fsync
        dropped (they keep their durable content, or zeros past its end)."""
        out = bytearray(self.data)
        for b in self.failed:
            lo, hi = b * BLOCK, min((b + 1) * BLOCK, len(out))
            if lo < hi:
                old = self.durable[lo:hi]
                out[lo:hi] = old + b"\0" * (hi - lo - len(old))
        return bytes(out)


class Dir(Node):
    def __init__(self, mode: int):
        super().__init__(stat.S_IFDIR | (mode & 0o7777))
        self.entries: dict[str, Node] = {}
        self.durable: dict[str, Node] = {}
        self.initial: dict[str, Node] = {}  # as loaded: where the "reorder" cut replays the journal from


class FakeDisk(fuse.Operations):
    use_ns = True

    def __init__(self, initial: str):
        self.mu = threading.RLock()
        self.root = Dir(0o755)
        self.fds: dict[int, Node] = {}
        self.next_fd = 1
        self.stalled = threading.Event()
        self.released = threading.Event()
        self.fsyncs = 0
        self.faults: dict[str, tuple[int, int]] = {}  # op -> (errno, every)
        self.calls: dict[str, int] = {}
        self.injected: dict[str, int] = {}
        # Name changes in order, each a list of (dir, name, node or None) applied atomically (a rename is one);
        # every one before index `journal_synced` is durable (a directory fsync commits the journal so far).
        self.journal: list[list[tuple[Dir, str, Node | None]]] = []
        self.journal_synced = 0
        self.dirs: list[Dir] = [self.root]
        self._load(initial, self.root)

    # ------------------------------------------------------------------------------------------ helpers
    def _load(self, path: str, d: Dir):
        d.mode = stat.S_IFDIR | (os.stat(path).st_mode & 0o7777)
        for name in sorted(os.listdir(path)):
            p = os.path.join(path, name)
            st = os.lstat(p)
            if stat.S_ISDIR(st.st_mode):
                sub = Dir(st.st_mode)
                self._load(p, sub)
                node = sub
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    node = File(st.st_mode, f.read())
            else:
                continue
            d.entries[name] = node
            d.durable[name] = node
            d.initial[name] = node
            if isinstance(node, Dir):
                self.dirs.append(node)

    def _walk(self, path: str) -> Node:
        node: Node = self.root
        for part in [p for p in path.split("/") if p]:
            if not isinstance(node, Dir) or part not in node.entries:
                raise fuse.FuseOSError(errno.ENOENT)
            node = node.entries[part]
        return node

    def _parent(self, path: str) -> tuple[Dir, str]:
        head, name = os.path.split(path.rstrip("/"))
        parent = self._walk(head or "/")
        if not isinstance(parent, Dir):
            raise fuse.FuseOSError(errno.ENOTDIR)
        return parent, name

    def _fd(self, node: Node) -> int:
        fd = self.next_fd
        self.next_fd += 1
        self.fds[fd] = node
        return fd

    def _file(self, path: str, fh) -> File:
        node = self.fds.get(fh) if fh else None
        if node is None:
            node = self._walk(path)
        if not isinstance(node, File):
            raise fuse.FuseOSError(errno.EISDIR)
        return node

    def _change(self, *changes: tuple[Dir, str, Node | None]):
        """Applies name changes (caller holds the lock) and journals them as one atomic step."""
        for d, name, node in changes:
            if node is None:
                del d.entries[name]
            else:
                d.entries[name] = node
        self.journal.append(list(changes))

    def _fault(self, op: str):
        """Raises the configured error on every n-th call of `op` (caller holds the lock)."""
        rule = self.faults.get(op)
        if rule is None:
            return
        n = self.calls[op] = self.calls.get(op, 0) + 1
        code, every = rule
        if n % every == 0:
            self.injected[op] = self.injected.get(op, 0) + 1
            raise fuse.FuseOSError(code)

    def _sync_wait(self):
        if self.stalled.is_set():
            self.released.wait()
            raise fuse.FuseOSError(errno.EIO)

    # ------------------------------------------------------------------------------------------ metadata
    def getattr(self, path, fh=None):
        with self.mu:
            node = self.fds.get(fh) if fh else None
            node = node or self._walk(path)
            size = len(node.data) if isinstance(node, File) else 4096
            nlink = 2 if isinstance(node, Dir) else 1
            a, m, c = node.times
            return dict(st_mode=node.mode, st_size=size, st_nlink=nlink, st_uid=0, st_gid=0,
                        st_atime=a, st_mtime=m, st_ctime=c, st_blocks=(size + 511) // 512, st_blksize=4096)

    def readdir(self, path, fh):
        with self.mu:
            node = self._walk(path)
            if not isinstance(node, Dir):
                raise fuse.FuseOSError(errno.ENOTDIR)
            return [".", ".."] + list(node.entries)

    def opendir(self, path):
        with self.mu:
            return self._fd(self._walk(path))

    def releasedir(self, path, fh):
        with self.mu:
            self.fds.pop(fh, None)
        return 0

    def mkdir(self, path, mode):
        with self.mu:
            parent, name = self._parent(path)
            if name in parent.entries:
                raise fuse.FuseOSError(errno.EEXIST)
            d = Dir(mode)
            self.dirs.append(d)
            self._change((parent, name, d))
        return 0

    def rmdir(self, path):
        with self.mu:
            parent, name = self._parent(path)
            node = parent.entries.get(name)
            if not isinstance(node, Dir):
                raise fuse.FuseOSError(errno.ENOTDIR if node else errno.ENOENT)
            if node.entries:
                raise fuse.FuseOSError(errno.ENOTEMPTY)
            self._change((parent, name, None))
        return 0

    def unlink(self, path):
        with self.mu:
            parent, name = self._parent(path)
            if name not in parent.entries:
                raise fuse.FuseOSError(errno.ENOENT)
            self._change((parent, name, None))
        return 0

    def rename(self, old, new):
        with self.mu:
            op, on = self._parent(old)
            np, nn = self._parent(new)
            if on not in op.entries:
                raise fuse.FuseOSError(errno.ENOENT)
            self._fault("rename")
            node = op.entries[on]
            if (op, on) != (np, nn):
                self._change((op, on, None), (np, nn, node))
        return 0

    def chmod(self, path, mode):
        with self.mu:
            node = self._walk(path)
            node.mode = (node.mode & ~0o7777) | (mode & 0o7777)
        return 0

    def chown(self, path, uid, gid):
        return 0

    def utimens(self, path, times=None):
        with self.mu:
            node = self._walk(path)
            now = time.time_ns()
            a, m = times if times else (now, now)
            node.times = (a, m, now)
        return 0

    def statfs(self, path):
        return dict(f_bsize=4096, f_frsize=4096, f_blocks=1 << 20, f_bfree=1 << 19, f_bavail=1 << 19,
                    f_files=1 << 16, f_ffree=1 << 15, f_favail=1 << 15, f_namemax=255)

    def access(self, path, amode):
        with self.mu:
            self._walk(path)
        return 0

    # ------------------------------------------------------------------------------------------ data
    def create(self, path, mode, fi=None):
        with self.mu:
            parent, name = self._parent(path)
            node = parent.entries.get(name)
            if node is None:
                self._fault("create")
                node = File(mode)
                self._change((parent, name, node))
            return self._fd(node)

    def open(self, path, flags):
        with self.mu:
            node = self._walk(path)
            if flags & os.O_TRUNC and isinstance(node, File) and node.data:
                node.touched(0, len(node.data))
                del node.data[:]
            return self._fd(node)

    def release(self, path, fh):
        with self.mu:
            self.fds.pop(fh, None)
        return 0

    def flush(self, path, fh):
        return 0

    def read(self, path, size, offset, fh):
        with self.mu:
            f = self._file(path, fh)
            return bytes(f.data[offset:offset + size])

    def write(self, path, data, offset, fh):
        with self.mu:
            f = self._file(path, fh)
            self._fault("write")
            if offset > len(f.data):
                f.data.extend(b"\0" * (offset - len(f.data)))
            f.data[offset:offset + len(data)] = data
            f.touched(offset, offset + len(data))
            now = time.time_ns()
            f.times = (f.times[0], now, now)
            return len(data)

    def truncate(self, path, length, fh=None):
        with self.mu:
            f = self._file(path, fh)
            f.touched(min(length, len(f.data)), max(length, len(f.data)))
            if length < len(f.data):
                del f.data[length:]
            else:
                f.data.extend(b"\0" * (length - len(f.data)))
        return 0

    def fallocate(self, path, mode, offset, size, fh):
        with self.mu:
            f = self._file(path, fh)
            if mode == 0 and offset + size > len(f.data):
                f.touched(len(f.data), offset + size)
                f.data.extend(b"\0" * (offset + size - len(f.data)))
        return 0

    def fsync(self, path, datasync, fh):
        self._sync_wait()
        with self.mu:
            f = self._file(path, fh)
            try:
                self._fault("fsync")
            except fuse.FuseOSError:
                # Linux: the pages that could not be written back are marked clean; they are lost to the disk.
                f.failed |= f.dirty
                f.dirty = set()
                raise
            f.durable = f.synced()
            f.dirty = set()
            self.fsyncs += 1
        return 0

    def fsyncdir(self, path, datasync, fh):
        self._sync_wait()
        with self.mu:
            node = self.fds.get(fh) if fh else None
            node = node or self._walk(path)
            self._fault("fsync")
            if isinstance(node, Dir):
                node.durable = dict(node.entries)
                self.journal_synced = len(self.journal)
            self.fsyncs += 1
        return 0

    def flock(self, path, fh, op):
        return 0

    def lock(self, path, fh, cmd, lock):
        return 0

    # ------------------------------------------------------------------------------------------ the cut
    def power_cut(self, image: str, policy: str = "fsynced", seed: int | None = None) -> dict:
        """Writes what survives into `image` (see the module doc for the policies); returns what was lost."""
        if policy not in ("fsynced", "reorder"):
            raise ValueError(f"unknown power-cut policy {policy!r}")
        seed = random.randrange(1 << 32) if seed is None else seed
        rng = random.Random(seed)
        lost: list[dict] = []
        with self.mu:
            if policy == "fsynced":
                tree = {id(d): dict(d.durable) for d in self.dirs}
                kept = None
            else:
                kept = rng.randint(self.journal_synced, len(self.journal))
                tree = {id(d): dict(d.initial) for d in self.dirs}
                for step in self.journal[:kept]:
                    for d, name, node in step:
                        if node is None:
                            tree[id(d)].pop(name, None)
                        else:
                            tree[id(d)][name] = node
            self._dump(self.root, tree, image, "", lost, policy, rng)
        unsynced = dict(name_changes=len(self.journal) - self.journal_synced,
                        blocks=sum(len(f.dirty) for f in self._files()))
        return dict(policy=policy, seed=seed, unsynced=unsynced, journal=len(self.journal),
                    journal_synced=self.journal_synced,
                    journal_kept=kept, lost=lost, lost_bytes=sum(x.get("bytes", 0) for x in lost),
                    fsyncs=self.fsyncs, calls=self.calls, injected=self.injected)

    def _files(self):
        seen = set()
        for d in self.dirs:
            for m in (d.entries, d.durable):
                for node in m.values():
                    if isinstance(node, File) and id(node) not in seen:
                        seen.add(id(node))
                        yield node

    @staticmethod
    def _survivor(f: File, policy: str, rng: random.Random) -> bytes:
        """A file's content after the cut."""
        if policy == "fsynced" or not f.dirty:
            return f.durable
        new = f.synced()  # what the cache holds; blocks a failed fsync dropped are gone either way
        size = rng.choice((len(f.durable), len(new)))
        out = bytearray(f.durable[:size].ljust(size, b"\0"))
        for b in f.dirty:
            lo, hi = b * BLOCK, min((b + 1) * BLOCK, size)
            if lo < hi and rng.random() < 0.5:
                out[lo:hi] = new[lo:hi].ljust(hi - lo, b"\0")
        return bytes(out)

    def _dump(self, d: Dir, tree: dict, out: str, rel: str, lost: list, policy: str, rng: random.Random):
        os.makedirs(out, exist_ok=True)
        os.chmod(out, d.mode & 0o7777)
        survived = tree[id(d)]
        for name, node in d.entries.items():
            if survived.get(name) is not node:
                lost.append(dict(path=rel + name, what="directory entry not fsync'd",
                                 bytes=len(node.data) if isinstance(node, File) else 0))
        for name, node in survived.items():
            if d.entries.get(name) is not node:
                lost.append(dict(path=rel + name, what="removal or rename not fsync'd: the old entry comes back"))
            p = os.path.join(out, name)
            if isinstance(node, Dir):
                self._dump(node, tree, p, rel + name + "/", lost, policy, rng)
            else:
                data = self._survivor(node, policy, rng)
                if data != bytes(node.data):
                    lost.append(dict(path=rel + name, what="data not fsync'd" if data == node.durable
                                     else "data not fsync'd, partly written back (torn)",
                                     bytes=sum(1 for a, b in zip(data, node.data) if a != b)
                                     + abs(len(node.data) - len(data))))
                with open(p, "wb") as f:
                    f.write(data)
                os.chmod(p, node.mode & 0o7777)


class Disk:
    """The test side: runs the fake in its own process (in the test's mount namespace, so a bridge started
    afterwards sees the mount), mounted over `mountpoint` and loaded from `initial`."""

    def __init__(self, mountpoint: str, initial: str, image: str, log: str):
        self.mountpoint, self.image = mountpoint, image.rstrip("/")
        env = dict(os.environ, FUSE_LIBRARY_NAME="fuse3")
        self.log = open(log, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "hbe2e.fake_disk", mountpoint, initial, self.image],
                                     cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))), env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while not os.path.ismount(mountpoint):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"the fake disk did not mount (see {log})")
            time.sleep(0.05)

    def faults(self, rules: dict | None):
        """{"write": ["EIO", 3], ...} from now on; None: no more faults."""
        path = self.image + ".faults"
        if rules is None:
            if os.path.exists(path):
                os.remove(path)
        else:
            with open(path + ".new", "w") as f:
                json.dump(rules, f)
            os.replace(path + ".new", path)
        time.sleep(0.2)  # the fake polls every 50 ms

    def stall(self):
        """Every fsync from now on hangs until the power cut."""
        open(self.image + ".stall", "w").close()
        time.sleep(0.2)

    def power_cut(self, policy: str = "fsynced", seed: int | None = None) -> dict:
        """The lights go out: what survives (see the policies in the module doc) is in `image`; returns what
        was lost. Then the fake stops and unmounts. HB_FAKE_DISK_SEED replays a seed from an earlier report."""
        if seed is None and os.environ.get("HB_FAKE_DISK_SEED"):
            seed = int(os.environ["HB_FAKE_DISK_SEED"])
        report = self.image + ".powercut.json"
        with open(self.image + ".cut.new", "w") as f:
            json.dump(dict(policy=policy, seed=seed), f)
        os.replace(self.image + ".cut.new", self.image + ".cut")
        deadline = time.monotonic() + 30
        while not os.path.exists(report):
            assert time.monotonic() < deadline, "the fake disk wrote no image"
            time.sleep(0.05)
        time.sleep(0.1)
        with open(report) as f:
            out = json.load(f)
        self.close()
        return out

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        subprocess.run(["umount", "-l", self.mountpoint], capture_output=True)
        self.log.close()


def main(argv: list[str]) -> int:
    mountpoint, initial, image = argv
    fs = FakeDisk(initial)
    stall, faults, cut = (image.rstrip("/") + ext for ext in (".stall", ".faults", ".cut"))

    def watch():
        # Signals reach libfuse's loop, not Python: the test asks for a stall, faults and the cut with files
        # next to the image (SIGTERM then ends the loop and libfuse unmounts).
        announced = False
        while True:
            if not announced and os.path.ismount(mountpoint):
                print("mounted", flush=True)
                announced = True
            if os.path.exists(stall) and not fs.stalled.is_set():
                fs.stalled.set()
                print("stalled", flush=True)
            try:
                with open(faults) as f:
                    rules = {op: (getattr(errno, code), int(every)) for op, (code, every) in json.load(f).items()}
            except (FileNotFoundError, ValueError):
                rules = {}
            if rules != fs.faults:
                with fs.mu:
                    fs.faults = rules
                print(f"faults {rules}", flush=True)
            if os.path.exists(cut):
                # The lights go out: what survives is the durable view, as of now.
                with open(cut) as f:
                    text = f.read()
                how = json.loads(text) if text.strip() else {}
                report = fs.power_cut(image, how.get("policy") or "fsynced", how.get("seed"))
                with open(image.rstrip("/") + ".powercut.json", "w") as f:
                    json.dump(report, f, indent=1)
                print("image written", flush=True)
                fs.released.set()  # calls still hanging in a stalled fsync return EIO
                return
            time.sleep(0.05)

    threading.Thread(target=watch, daemon=True).start()
    try:
        fuse.FUSE(fs, mountpoint, foreground=True, nothreads=False, fsname="fakedisk")
    except RuntimeError as e:  # libfuse's status after a signal ended the loop
        print(f"fuse loop ended: {e}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
