"""The Matter controller side of the end-to-end tests: the CHIP Python controller behind a small, synchronous API.

One `ChipRuntime` per process (the CHIP stack can be initialised only once per process): it owns the asyncio
loop every CHIP coroutine runs on, the stack, and the certificate authorities. Each `Controller` is one
administrator on its own fabric (its own CA), so `runtime.new_controller("beta")` is a second ecosystem.

Every method is synchronous and takes a `timeout` in seconds; on failure it raises with the controller log's path
(CHIP's own log goes to `<run dir>/logs/chip-controller.log`, not to pytest's output).

Attribute/command arguments are the generated cluster objects of `chip.clusters` (re-exported here as
`Clusters`), e.g. `Clusters.OnOff.Attributes.OnOff`, `Clusters.OnOff.Commands.Toggle()`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import chip.native
from chip import ChipDeviceCtrl
from chip.ChipStack import ChipStack
import chip.CertificateAuthority
import chip.clusters as Clusters
import chip.logging
from chip.clusters import Attribute as ClusterAttribute
from chip.discovery import DiscoveryType
from chip.exceptions import ChipStackError

__all__ = ["ChipRuntime", "Controller", "Subscription", "Report", "Clusters", "ControllerError"]

LOG = logging.getLogger("hbe2e.controller")

TEST_VENDOR_ID = 0xFFF1


class ControllerError(AssertionError):
    """A controller operation failed or timed out (an AssertionError so pytest reports it as a test failure)."""


class ChipRuntime:
    """The process-wide CHIP stack. Create once (the session fixture does), then `new_controller()` per fabric."""

    _instance: "ChipRuntime | None" = None

    def __init__(self, storage_path: str, paa_dir: str, log_path: str, chip_log_level: str = "detail"):
        if ChipRuntime._instance is not None:
            raise RuntimeError("ChipRuntime already exists: the CHIP stack can be initialised once per process")
        self.storage_path = storage_path
        self.paa_dir = paa_dir
        self.log_path = log_path
        self._setup_logging(log_path, chip_log_level)
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        chip.logging.RedirectToPythonLogging()  # before Init: the stack logs while initialising
        chip.native.Init()
        self.stack = ChipStack(persistentStoragePath=storage_path, enableServerInteractions=True)
        self.ca_manager = chip.CertificateAuthority.CertificateAuthorityManager(self.stack, self.stack.GetStorageManager())
        self.ca_manager.LoadAuthoritiesFromStorage()
        self.controllers: list[Controller] = []
        self._next_fabric_id = 1
        self._next_node_id = 0x100
        self._lock = threading.Lock()
        ChipRuntime._instance = self

    @staticmethod
    def _setup_logging(path: str, level: str) -> None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        h = logging.FileHandler(path)
        h.setFormatter(logging.Formatter("%(asctime)s.%(msecs)03d %(threadName)s %(name)s %(levelname)s %(message)s",
                                         "%H:%M:%S"))
        for name in ("chip", "hbe2e"):
            lg = logging.getLogger(name)
            lg.setLevel(logging.DEBUG if level == "detail" else logging.INFO)
            lg.addHandler(h)
            # CHIP is chatty: keep it out of pytest's captured-log sections; the file has everything.
            lg.propagate = name == "hbe2e"
        for noisy in ("chip.native.DMG", "chip.native.IN", "chip.native.EM"):
            if level != "detail":
                logging.getLogger(noisy).setLevel(logging.INFO)

    # ---------------------------------------------------------------------------------------------- plumbing
    def run(self, coro, timeout: float, what: str = "operation"):
        """Run a CHIP coroutine on the runtime's loop with a deadline."""
        LOG.info("begin %s (timeout %ss)", what, timeout)
        t0 = time.monotonic()
        try:
            res = self.loop.run_until_complete(asyncio.wait_for(coro, timeout))
        except asyncio.TimeoutError:
            LOG.error("%s timed out after %ss", what, timeout)
            raise ControllerError(f"{what}: timed out after {timeout}s (controller log: {self.log_path})") from None
        except ChipStackError as e:
            LOG.error("%s failed: %s", what, e)
            raise ControllerError(f"{what}: {e} (controller log: {self.log_path})") from e
        except Exception as e:  # InteractionModelError and friends
            LOG.error("%s failed: %r", what, e)
            raise ControllerError(f"{what}: {e!r} (controller log: {self.log_path})") from e
        LOG.info("end %s after %.2fs", what, time.monotonic() - t0)
        return res

    def pump(self, seconds: float) -> None:
        """Let the asyncio loop run for `seconds` (delivers CHIP callbacks that are posted to it)."""
        self.loop.run_until_complete(asyncio.sleep(seconds))

    def allocate_node_id(self) -> int:
        with self._lock:
            n = self._next_node_id
            self._next_node_id += 1
            return n

    # ---------------------------------------------------------------------------------------------- controllers
    def new_controller(self, name: str | None = None, fabric_id: int | None = None,
                       controller_node_id: int = 112233, vendor_id: int = TEST_VENDOR_ID) -> "Controller":
        """A new administrator on a NEW fabric (its own root CA): a separate Matter ecosystem."""
        if fabric_id is None:
            fabric_id = self._next_fabric_id
        self._next_fabric_id = max(self._next_fabric_id, fabric_id) + 1
        ca = self.ca_manager.NewCertificateAuthority()
        admin = ca.NewFabricAdmin(vendorId=vendor_id, fabricId=fabric_id)
        dev_ctrl = admin.NewController(nodeId=controller_node_id, paaTrustStorePath=self.paa_dir)
        c = Controller(self, dev_ctrl, name or f"fabric{fabric_id}", fabric_id)
        self.controllers.append(c)
        LOG.info("controller %s: fabric %d, node 0x%x, PAA %s", c.name, fabric_id, controller_node_id, self.paa_dir)
        return c

    def shutdown(self) -> None:
        for c in self.controllers:
            try:
                c.shutdown()
            except Exception:
                LOG.exception("controller shutdown")
        try:
            self.ca_manager.Shutdown()
        except Exception:
            LOG.exception("CA shutdown")
        try:
            self.stack.Shutdown()
        except Exception:
            LOG.exception("stack shutdown")
        self.loop.close()
        ChipRuntime._instance = None


@dataclass
class Report:
    """One attribute value seen in a subscription report."""

    endpoint: int
    cluster: type
    attribute: type
    value: Any
    at: float = field(default_factory=time.monotonic)


class Subscription:
    """A live subscription. Reports arrive on the CHIP thread and are kept in `reports` (oldest first)."""

    def __init__(self, rt: ChipRuntime, tx: ClusterAttribute.SubscriptionTransaction, node_id: int):
        self._rt = rt
        self.tx = tx
        self.node_id = node_id
        self.reports: list[Report] = []
        self.errors: list[int] = []
        self._cv = threading.Condition()
        self.resubscriptions = 0
        tx.SetAttributeUpdateCallback(self._on_attr)
        tx.SetErrorCallback(self._on_error)
        tx.SetResubscriptionSucceededCallback(self._on_resubscribed)

    def _on_attr(self, path: ClusterAttribute.TypedAttributePath, tx) -> None:
        try:
            value = tx.GetAttribute(path)
        except Exception as e:  # noqa: BLE001 - record undecodable values rather than lose the report
            value = e
        r = Report(path.Path.EndpointId, path.ClusterType, path.AttributeType, value)
        LOG.debug("report node 0x%x ep %d %s = %r", self.node_id, r.endpoint, path.AttributeName, value)
        with self._cv:
            self.reports.append(r)
            self._cv.notify_all()

    def _on_resubscribed(self, tx) -> None:
        LOG.info("subscription to 0x%x re-established", self.node_id)
        with self._cv:
            self.resubscriptions += 1
            self._cv.notify_all()

    def _on_error(self, code: int, tx) -> None:
        LOG.warning("subscription to 0x%x error %s", self.node_id, code)
        with self._cv:
            self.errors.append(code)
            self._cv.notify_all()

    def latest(self, endpoint: int, attribute: type) -> Any:
        """The most recent reported value (raises KeyError if none yet)."""
        with self._cv:
            for r in reversed(self.reports):
                if r.endpoint == endpoint and r.attribute is attribute:
                    return r.value
        raise KeyError((endpoint, attribute))

    def wait_for(self, endpoint: int, attribute: type, value: Any = None, *,
                 predicate: Callable[[Any], bool] | None = None, timeout: float = 20.0,
                 since: int | None = None) -> Any:
        """Wait for a report of `attribute` on `endpoint` whose value == `value` (or satisfies `predicate`; with
        neither, any report). Only reports at index >= `since` count (default: those arriving after this call;
        pass `since=0` to accept earlier ones, or `mark()` taken before triggering the change)."""
        if predicate is None:
            predicate = (lambda v: True) if value is None else (lambda v: v == value)
        start = len(self.reports) if since is None else since
        deadline = time.monotonic() + timeout
        while True:
            with self._cv:
                for r in self.reports[start:]:
                    if r.endpoint == endpoint and r.attribute is attribute and predicate(r.value):
                        return r.value
                seen = [(r.endpoint, r.attribute.__name__, r.value) for r in self.reports[start:]][-10:]
            if time.monotonic() >= deadline:
                raise ControllerError(
                    f"no report of {attribute.__qualname__} on endpoint {endpoint} matching within {timeout}s; "
                    f"last reports: {seen}; errors: {self.errors} (controller log: {self._rt.log_path})")
            # Keep the asyncio loop serviced (resubscription callbacks are posted to it) while we wait.
            self._rt.pump(0.05)

    def mark(self) -> int:
        """Index to pass as `since=` to wait_for, taken before triggering a change."""
        with self._cv:
            return len(self.reports)

    def resubscribe_now(self, timeout: float = 30.0) -> float:
        """After the device restarted: make the subscription notice now (instead of after its liveness timeout,
        which the publisher sets, ~25 s with matter.js) and wait until it is re-established (new CASE session +
        subscribe). This is what the controller would do by itself later. Returns the seconds it took."""
        t0 = time.monotonic()
        before = self.resubscriptions
        self.tx.OverrideLivenessTimeoutMs(1)
        deadline = t0 + timeout
        while self.resubscriptions == before:
            if time.monotonic() >= deadline:
                raise ControllerError(f"subscription to 0x{self.node_id:x} not re-established within {timeout}s "
                                      f"(controller log: {self._rt.log_path})")
            self._rt.pump(0.05)  # the 'resubscribed' callback is posted to the asyncio loop
        return time.monotonic() - t0

    def close(self) -> None:
        try:
            self.tx.Shutdown()
        except Exception:
            LOG.exception("subscription shutdown")


@dataclass
class EventReport:
    """One event seen in an event subscription: its path, header fields and decoded payload."""

    endpoint: int
    cluster_id: int
    event_id: int
    number: int
    priority: int
    timestamp: int
    data: Any
    at: float = field(default_factory=time.monotonic)


class EventSubscription:
    """A live event subscription. Events arrive on the CHIP thread and are kept in `events` (oldest first)."""

    def __init__(self, rt: ChipRuntime, tx: ClusterAttribute.SubscriptionTransaction, node_id: int):
        self._rt = rt
        self.tx = tx
        self.node_id = node_id
        self.events: list[EventReport] = []
        self.errors: list[int] = []
        self._cv = threading.Condition()
        tx.SetEventUpdateCallback(self._on_event)
        tx.SetErrorCallback(self._on_error)

    def add(self, ev) -> None:
        h = ev.Header
        r = EventReport(h.EndpointId, h.ClusterId, h.EventId, h.EventNumber, getattr(h.Priority, "value", h.Priority), h.Timestamp, ev.Data)
        LOG.debug("event node 0x%x ep %d cluster 0x%x event %d #%d %r", self.node_id, r.endpoint, r.cluster_id,
                  r.event_id, r.number, r.data)
        with self._cv:
            if all(e.number != r.number for e in self.events):
                self.events.append(r)
            self._cv.notify_all()

    def _on_event(self, ev, tx) -> None:
        self.add(ev)

    def _on_error(self, code: int, tx) -> None:
        LOG.warning("event subscription to 0x%x error %s", self.node_id, code)
        with self._cv:
            self.errors.append(code)
            self._cv.notify_all()

    def mark(self) -> int:
        """Index to pass as `since=` to wait_for_count, taken before triggering events."""
        with self._cv:
            return len(self.events)

    def wait_for_count(self, n: int, *, since: int = 0, timeout: float = 20.0,
                       predicate: Callable[[EventReport], bool] | None = None) -> list[EventReport]:
        """Wait until at least `n` events (matching `predicate`) arrived at index >= `since`; returns them all."""
        predicate = predicate or (lambda e: True)
        deadline = time.monotonic() + timeout
        while True:
            with self._cv:
                got = [e for e in self.events[since:] if predicate(e)]
            if len(got) >= n:
                return got
            if time.monotonic() >= deadline:
                raise ControllerError(
                    f"{len(got)} of {n} events within {timeout}s: {[(e.event_id, e.data) for e in got]}; "
                    f"errors: {self.errors} (controller log: {self._rt.log_path})")
            self._rt.pump(0.05)

    def settle(self, seconds: float) -> None:
        """Keep receiving for `seconds` (to see that nothing more arrives)."""
        self._rt.pump(seconds)

    def close(self) -> None:
        try:
            self.tx.Shutdown()
        except Exception:
            LOG.exception("event subscription shutdown")


class Controller:
    """One administrator (fabric) of the session's CHIP stack. All methods are synchronous."""

    def __init__(self, rt: ChipRuntime, dev_ctrl: ChipDeviceCtrl.ChipDeviceController, name: str, fabric_id: int):
        self.rt = rt
        self.ctrl = dev_ctrl
        self.name = name
        self.fabric_id = fabric_id
        self.subscriptions: list[Subscription] = []

    def __repr__(self) -> str:
        return f"Controller({self.name}, fabric {self.fabric_id})"

    # ------------------------------------------------------------------------------------------- commissioning
    def commission(self, code: str, node_id: int | None = None, timeout: float = 120.0) -> int:
        """Commission the device advertising `code` (11/21-digit manual pairing code or "MT:..." QR payload),
        found by DNS-SD over IP only (no BLE). Returns the node id assigned on this fabric."""
        node_id = node_id if node_id is not None else self.rt.allocate_node_id()
        code = code.strip()
        t0 = time.monotonic()
        nid = self.rt.run(self.ctrl.CommissionWithCode(code, node_id, DiscoveryType.DISCOVERY_NETWORK_ONLY),
                          timeout, f"{self.name}: commission {code} as node 0x{node_id:x}")
        LOG.info("%s: commissioned node 0x%x in %.1fs", self.name, nid, time.monotonic() - t0)
        return nid

    def commission_on_network(self, passcode: int, discriminator: int | None = None,
                              node_id: int | None = None, timeout: float = 120.0) -> int:
        """Commission by passcode (+ optional long discriminator filter) via DNS-SD. Returns the node id."""
        from chip.discovery import FilterType
        node_id = node_id if node_id is not None else self.rt.allocate_node_id()
        ft, fv = (FilterType.LONG_DISCRIMINATOR, discriminator) if discriminator is not None else (FilterType.NONE, None)
        return self.rt.run(self.ctrl.CommissionOnNetwork(node_id, passcode, ft, fv), timeout,
                           f"{self.name}: commission passcode as node 0x{node_id:x}")

    def open_commissioning_window(self, node_id: int, window_s: int = 180, iterations: int = 10000,
                                  discriminator: int = 3000, timeout: float = 30.0):
        """Enhanced Commissioning Method: the device opens a window with a NEW random passcode.
        Returns chip's CommissioningParameters(setupPinCode, setupManualCode, setupQRCode)."""
        return self.rt.run(
            self.ctrl.OpenCommissioningWindow(node_id, window_s, iterations, discriminator,
                                              ChipDeviceCtrl.ChipDeviceControllerBase.CommissioningWindowPasscode.kTokenWithRandomPin),
            timeout, f"{self.name}: open commissioning window on 0x{node_id:x}")

    def open_basic_commissioning_window(self, node_id: int, window_s: int = 180, timeout: float = 30.0) -> None:
        """Basic Commissioning Method: reopen the window with the device's original passcode."""
        self.invoke(node_id, 0, Clusters.AdministratorCommissioning.Commands.OpenBasicCommissioningWindow(
            commissioningTimeout=window_s), timed_ms=10000, timeout=timeout)

    # ------------------------------------------------------------------------------------------- interactions
    def read(self, node_id: int, paths: list, timeout: float = 30.0, fabric_filtered: bool = True) -> dict:
        """Raw ReadAttribute: `paths` as in chip (e.g. [(1, Clusters.Descriptor)], [()] for everything).
        Returns {endpoint: {ClusterType: {AttributeType: value}}}."""
        return self.rt.run(self.ctrl.ReadAttribute(node_id, paths, fabricFiltered=fabric_filtered), timeout,
                           f"{self.name}: read {paths!r} from 0x{node_id:x}")

    def read_attribute(self, node_id: int, endpoint: int, attribute: type, timeout: float = 30.0,
                       fabric_filtered: bool = True) -> Any:
        """One attribute's value, e.g. read_attribute(n, 2, Clusters.OnOff.Attributes.OnOff) -> bool."""
        res = self.read(node_id, [(endpoint, attribute)], timeout, fabric_filtered)
        try:
            return res[endpoint][_cluster_of(attribute)][attribute]
        except KeyError:
            raise ControllerError(f"{attribute.__qualname__} missing from endpoint {endpoint}'s read response: {res!r}")

    def read_all(self, node_id: int, timeout: float = 60.0) -> dict:
        """Wildcard read of every attribute of every endpoint."""
        return self.read(node_id, [()], timeout)

    def endpoints(self, node_id: int, timeout: float = 30.0) -> list[int]:
        """All endpoint ids: 0 plus endpoint 0's Descriptor PartsList."""
        parts = self.read_attribute(node_id, 0, Clusters.Descriptor.Attributes.PartsList, timeout)
        return [0] + list(parts)

    def write_attribute(self, node_id: int, endpoint: int, attribute_value, timeout: float = 30.0,
                        timed_ms: int | None = None) -> None:
        """Write one attribute: `attribute_value` is e.g. Clusters.BasicInformation.Attributes.NodeLabel("x").
        Raises if the device answers a non-success status."""
        res = self.rt.run(self.ctrl.WriteAttribute(node_id, [(endpoint, attribute_value)], timedRequestTimeoutMs=timed_ms),
                          timeout, f"{self.name}: write {type(attribute_value).__qualname__} on 0x{node_id:x}/{endpoint}")
        for r in res:
            if int(r.Status) != 0:
                raise ControllerError(f"write {type(attribute_value).__qualname__} on ep {endpoint}: status {r.Status!r}")

    def invoke(self, node_id: int, endpoint: int, command, timeout: float = 30.0, timed_ms: int | None = None) -> Any:
        """Invoke a cluster command, e.g. invoke(n, 2, Clusters.OnOff.Commands.Toggle()). Returns the response
        object (None for plain status responses); raises on a non-success status."""
        return self.rt.run(
            self.ctrl.SendCommand(node_id, endpoint, command, timedRequestTimeoutMs=timed_ms), timeout,
            f"{self.name}: invoke {type(command).__qualname__} on 0x{node_id:x}/{endpoint}")

    def read_events(self, node_id: int, paths: list, timeout: float = 30.0) -> list:
        """ReadEvent: `paths` as in chip, e.g. [(2, Clusters.BooleanState.Events.StateChange, 1)].
        Returns the EventReadResult list (each with `.Header.EventId`, `.Header.Priority`, `.Data`)."""
        return list(self.rt.run(self.ctrl.ReadEvent(node_id, paths), timeout,
                                f"{self.name}: read events {paths!r} from 0x{node_id:x}"))

    def subscribe(self, node_id: int, paths: list, min_interval: int = 0, max_interval: int = 10,
                  timeout: float = 30.0, keep_subscriptions: bool = True, auto_resubscribe: bool = True) -> Subscription:
        """Subscribe to `paths` (same forms as `read`). The priming report's values are in `sub.reports` already."""
        tx = self.rt.run(
            self.ctrl.ReadAttribute(node_id, paths, reportInterval=(min_interval, max_interval),
                                    keepSubscriptions=keep_subscriptions, autoResubscribe=auto_resubscribe),
            timeout, f"{self.name}: subscribe {paths!r} on 0x{node_id:x}")
        sub = Subscription(self.rt, tx, node_id)
        # The priming data was delivered before our callback was installed: seed `reports` from the cache.
        for ep, clusters in tx.GetAttributes().items():
            for cl, attrs in clusters.items():
                for attr, v in attrs.items():
                    if isinstance(attr, type):
                        sub.reports.append(Report(ep, cl, attr, v))
        self.subscriptions.append(sub)
        return sub

    def subscribe_events(self, node_id: int, paths: list, min_interval: int = 0, max_interval: int = 10,
                         timeout: float = 30.0, event_number_filter: int | None = None) -> EventSubscription:
        """Subscribe to events: `paths` as chip's ReadEvent takes them, e.g. [(ep, Clusters.Switch, 1)] (urgent).
        Events of the priming report (already in the device's buffer) are in `sub.events` already."""
        tx = self.rt.run(
            self.ctrl.ReadEvent(node_id, paths, eventNumberFilter=event_number_filter,
                                reportInterval=(min_interval, max_interval), keepSubscriptions=True),
            timeout, f"{self.name}: subscribe to events {paths!r} on 0x{node_id:x}")
        sub = EventSubscription(self.rt, tx, node_id)
        for ev in tx.GetEvents() or []:
            sub.add(ev)
        self.subscriptions.append(sub)
        return sub

    # ------------------------------------------------------------------------------------------- sessions
    def expire_sessions(self, node_id: int) -> None:
        """Forget the CASE sessions to `node_id` (the next interaction resolves it by DNS-SD and runs CASE)."""
        self.ctrl.ExpireSessions(node_id)

    def reconnect(self, node_id: int, timeout: float = 60.0) -> float:
        """After the device restarted: drop stale sessions and re-establish CASE (same fabric, no
        re-commissioning), retrying until `timeout`. Returns the seconds it took."""
        t0 = time.monotonic()
        deadline = t0 + timeout
        self.expire_sessions(node_id)
        last: Exception | None = None
        while time.monotonic() < deadline:
            left = max(1.0, deadline - time.monotonic())
            try:
                self.rt.run(self.ctrl.GetConnectedDevice(node_id, allowPASE=False, timeoutMs=int(min(left, 20) * 1000)),
                            min(left, 25), f"{self.name}: CASE to 0x{node_id:x}")
                return time.monotonic() - t0
            except ControllerError as e:
                last = e
                self.expire_sessions(node_id)
                self.rt.pump(0.5)
        raise ControllerError(f"{self.name}: could not reconnect to node 0x{node_id:x} within {timeout}s: {last}")

    def remove_fabric_of(self, node_id: int, timeout: float = 30.0) -> None:
        """Ask the device to remove THIS controller's fabric (unpair)."""
        self.rt.run(self.ctrl.UnpairDevice(node_id), timeout, f"{self.name}: unpair 0x{node_id:x}")

    def shutdown(self) -> None:
        for s in self.subscriptions:
            s.close()
        self.subscriptions.clear()
        try:
            self.ctrl.Shutdown()
        except Exception:
            LOG.exception("controller %s shutdown", self.name)


def _cluster_of(attribute: type) -> type:
    """The cluster class an attribute descriptor belongs to (Clusters.OnOff.Attributes.OnOff -> Clusters.OnOff)."""
    from chip.clusters.ClusterObjects import ALL_CLUSTERS
    return ALL_CLUSTERS[attribute.cluster_id]
