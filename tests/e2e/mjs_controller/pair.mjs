#!/usr/bin/env node
// matter.js (0.17, pinned in package-lock.json) as a second Matter controller for the end-to-end tests:
// discover a node by its manual pairing code over mDNS on one interface, commission it onto a fresh fabric,
// read BasicInformation UniqueID and NodeLabel-independent facts, print one JSON line, exit.
//
//   node pair.mjs --code 34970112332 --interface hbctl1 --storage DIR [--timeout 120]
//
// stdout: {"ok":true,"nodeId":"…","uniqueId":"…","discoverySeconds":…} or {"ok":false,"error":"…"}; exit 0 / 1.
// matter.js skips `lo` for mDNS unless told which interface to use (PEERS.md), hence --interface.

import { parseArgs } from "node:util";
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";

const { values: opt } = parseArgs({
    options: {
        code: { type: "string" },
        interface: { type: "string" },
        storage: { type: "string" },
        timeout: { type: "string", default: "120" },
        "log-level": { type: "string", default: "info" },
    },
    strict: true,
});
const fail = (error) => {
    console.log(JSON.stringify({ ok: false, error: String(error) }));
    process.exit(1);
};
if (!opt.code || !/^\d{11}(\d{10})?$/.test(opt.code.replaceAll("-", ""))) fail(`--code must be an 11- or 21-digit manual pairing code, got ${JSON.stringify(opt.code)}`);
if (!opt.storage) fail("--storage is required");
const timeoutS = Number(opt.timeout);
if (!Number.isFinite(timeoutS) || timeoutS <= 0) fail(`--timeout must be a positive number of seconds, got ${JSON.stringify(opt.timeout)}`);
const storage = resolve(opt.storage);
mkdirSync(storage, { recursive: true });

// matter.js reads its environment from argv and MATTER_* variables at import time.
process.argv = process.argv.slice(0, 2);
process.env.MATTER_STORAGE_PATH = storage;
process.env.MATTER_LOG_LEVEL = opt["log-level"];
process.env.MATTER_LOG_FORMAT = "plain";
if (opt.interface) process.env.MATTER_MDNS_NETWORKINTERFACE = opt.interface;

const { Environment } = await import("@matter/main");
const { BasicInformationCluster, GeneralCommissioning } = await import("@matter/main/clusters");
const { ManualPairingCodeCodec } = await import("@matter/main/types");
const { CommissioningController } = await import("@project-chip/matter.js");

const env = Environment.default;
env.vars.set("storage.path", storage);
env.vars.set("log.format", "plain");
env.vars.set("runtime.signals", false);
if (opt.interface) env.vars.set("mdns.networkInterface", opt.interface);

const timer = setTimeout(() => fail(`no result within ${timeoutS} s`), timeoutS * 1000);

try {
    const code = ManualPairingCodeCodec.decode(opt.code.replaceAll("-", ""));
    const controller = new CommissioningController({
        environment: { environment: env, id: "hb-e2e-matterjs" },
        autoConnect: false,
        adminFabricLabel: "matter.js e2e",
    });
    await controller.start();
    const started = Date.now();
    const nodeId = await controller.commissionNode({
        commissioning: {
            regulatoryLocation: GeneralCommissioning.RegulatoryLocationType.IndoorOutdoor,
            regulatoryCountryCode: "XX",
        },
        discovery: {
            identifierData: { shortDiscriminator: code.shortDiscriminator },
            discoveryCapabilities: { onIpNetwork: true },
        },
        passcode: code.passcode,
    });
    const commissionedS = (Date.now() - started) / 1000;
    const node = await controller.getNode(nodeId);
    if (!node.isConnected) node.connect();
    // `initialized` fires once; it may have fired already while commissioning connected the node.
    if (!node.initialized) await node.events.initialized;
    const info = node.getRootClusterClient(BasicInformationCluster);
    const uniqueId = info === undefined ? undefined : await info.getUniqueIdAttribute();
    clearTimeout(timer);
    console.log(JSON.stringify({ ok: true, nodeId: String(nodeId), uniqueId, commissionedSeconds: commissionedS }));
    await controller.close();
    process.exit(0);
} catch (e) {
    fail(e?.stack ?? e);
}
