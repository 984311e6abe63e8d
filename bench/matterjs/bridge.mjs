#!/usr/bin/env node
// matter.js stand-in for hubbridge: a Matter bridge (root endpoint 0, Aggregator on endpoint 1, N bridged On/Off
// lights on endpoints 2..N+1). It validates the end-to-end harness before the real bridge exists and is the
// benchmark peer later.
//
//   node bridge.mjs --count 3 --passcode 20202021 --discriminator 3840 --port 5540 \
//        --storage /tmp/devstate --interface veth0 [--log-level info|notice|debug] [--vendor-id 0xFFF1] [--product-id 0x8000]
//        [--control-port 8081]
//
// --control-port P: a tiny local-change hook for benchmarks (the counterpart of hubbridge's
// PATCH /api/devices/{id}/state): `PUT /lights/<i>` with body `{"on": true|false}` sets light i's OnOff
// as a local source would and answers 204 once matter.js accepted the change. Listens on all addresses
// of the namespace it runs in.
//
// Machine-readable lines on stdout (the harness greps them):
//   HB-PAIRING manual=<11 digits> qr=MT:...
//   HB-READY port=<udp port> commissioned=<true|false> count=<N>
//   HB-ONOFF endpoint=<n> light=<i> value=<true|false>
// SIGTERM/SIGINT close the node cleanly (storage flushed), then the process exits 0.

import { parseArgs } from "node:util";
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";

const { values: opt } = parseArgs({
    options: {
        count: { type: "string", default: "2" },
        passcode: { type: "string", default: "20202021" },
        discriminator: { type: "string", default: "3840" },
        port: { type: "string", default: "5540" },
        storage: { type: "string", default: ".matterjs-storage" },
        interface: { type: "string" },
        "log-level": { type: "string", default: "info" },
        "vendor-id": { type: "string", default: "0xFFF1" },
        "product-id": { type: "string", default: "0x8000" },
        "control-port": { type: "string" },
    },
    strict: true,
});

const num = (name) => {
    const v = Number(opt[name]);
    if (!Number.isInteger(v) || v < 0) {
        console.error(`bridge.mjs: --${name} must be a non-negative integer, got ${JSON.stringify(opt[name])}`);
        process.exit(2);
    }
    return v;
};
const count = num("count");
const passcode = num("passcode");
const discriminator = num("discriminator");
const port = num("port");
const vendorId = num("vendor-id");
const productId = num("product-id");
const controlPort = opt["control-port"] === undefined ? undefined : num("control-port");
const storage = resolve(opt.storage);
mkdirSync(storage, { recursive: true });

// matter.js turns every "--x y" of process.argv into configuration variables; ours are not its, so hide them
// before the library loads (e.g. our --storage would shadow its storage.* namespace).
process.argv = process.argv.slice(0, 2);
process.env.MATTER_STORAGE_PATH = storage;
process.env.MATTER_LOG_LEVEL = opt["log-level"];
process.env.MATTER_LOG_FORMAT = "plain"; // no ANSI colours: the harness greps this output
if (opt.interface) process.env.MATTER_MDNS_NETWORKINTERFACE = opt.interface;

const { Endpoint, Environment, ServerNode, VendorId } = await import("@matter/main");
const { BridgedDeviceBasicInformationServer } = await import("@matter/main/behaviors/bridged-device-basic-information");
const { OnOffLightDevice } = await import("@matter/main/devices/on-off-light");
const { AggregatorEndpoint } = await import("@matter/main/endpoints/aggregator");

const env = Environment.default;
env.vars.set("storage.path", storage);
env.vars.set("log.level", opt["log-level"]);
env.vars.set("log.format", "plain");
env.vars.set("runtime.signals", false); // our SIGTERM/SIGINT handler below closes the node, once
if (opt.interface) env.vars.set("mdns.networkInterface", opt.interface);

const server = await ServerNode.create({
    id: "hb-standin",
    network: { port },
    commissioning: { passcode, discriminator },
    productDescription: { name: "hubbridge stand-in", deviceType: AggregatorEndpoint.deviceType },
    basicInformation: {
        vendorName: "hubbridge-test",
        vendorId: VendorId(vendorId),
        nodeLabel: "hubbridge stand-in",
        productName: "hubbridge stand-in bridge",
        productLabel: "hubbridge stand-in",
        productId,
        serialNumber: "hb-standin-0001",
        uniqueId: "hb-standin-0001",
    },
});

const aggregator = new Endpoint(AggregatorEndpoint, { id: "aggregator" });
await server.add(aggregator);

const lights = [];
for (let i = 1; i <= count; i++) {
    const name = `Light ${i}`;
    const light = new Endpoint(OnOffLightDevice.with(BridgedDeviceBasicInformationServer), {
        id: `light-${i}`,
        bridgedDeviceBasicInformation: {
            nodeLabel: name,
            productName: "stand-in light",
            productLabel: "stand-in light",
            serialNumber: `hb-standin-light-${i}`,
            uniqueId: `hb-standin-light-${i}`,
            reachable: true,
        },
    });
    await aggregator.add(light);
    lights.push(light);
    light.events.onOff.onOff$Changed.on((value) => {
        console.log(`HB-ONOFF endpoint=${light.number} light=${i} value=${value}`);
    });
}

let closing = false;
const shutdown = async (sig) => {
    if (closing) return;
    closing = true;
    console.log(`HB-STOPPING signal=${sig}`);
    try {
        await server.close();
    } finally {
        process.exit(0);
    }
};
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));

await server.start();

if (controlPort !== undefined) {
    const { createServer } = await import("node:http");
    const control = createServer((req, res) => {
        const m = /^\/lights\/(\d+)$/.exec(req.url ?? "");
        const light = m && req.method === "PUT" ? lights[Number(m[1]) - 1] : undefined;
        if (!light) {
            res.writeHead(404).end();
            return;
        }
        let body = "";
        req.on("data", (chunk) => (body += chunk));
        req.on("end", async () => {
            try {
                const { on } = JSON.parse(body);
                if (typeof on !== "boolean") throw new Error("on must be a boolean");
                await light.set({ onOff: { onOff: on } });
                res.writeHead(204).end();
            } catch (e) {
                res.writeHead(400, { "content-type": "text/plain" }).end(String(e));
            }
        });
    });
    await new Promise((ok) => control.listen(controlPort, "::", ok));
    console.log(`HB-CONTROL port=${controlPort}`);
}

const { manualPairingCode, qrPairingCode } = server.state.commissioning.pairingCodes;
console.log(`HB-PAIRING manual=${manualPairingCode} qr=${qrPairingCode}`);
console.log(`HB-READY port=${port} commissioned=${server.state.commissioning.commissioned} count=${count}`);
