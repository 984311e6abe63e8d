// hubbridge bench: a Matterbridge dynamic platform plugin with N bridged On/Off lights (Matterbridge's
// counterpart of bench/matterjs/bridge.mjs and hubbridge's virtual source), for bench/hbbench.
//
// N: config `count`, else env HBBENCH_LIGHTS, else 3. Local-change hook (config `controlPort`, else env
// HBBENCH_CONTROL_PORT; none when unset), the same as the matter.js stand-in's:
//   PUT /lights/<i>  {"on": true|false}  -> 204 once Matterbridge accepted the new OnOff value (i is 1-based)
//   GET /lights                          -> [{"light": i, "endpoint": n}, ...] (endpoint numbers, known once
//                                           the server node is online)
// Lines for scripts: `HB-CONTROL port=P`, `HB-LIGHTS count=N`.
//
// `matterbridge` resolves from the parent directory's node_modules (bench/matterbridge, the pinned install),
// i.e. the very modules the running Matterbridge loaded; this package declares no dependency (Matterbridge
// refuses plugins that list matterbridge or @matter/*).
import { createServer } from "node:http";
import { MatterbridgeDynamicPlatform, MatterbridgeEndpoint, onOffLight } from "matterbridge";

function intOr(...values) {
    for (const v of values) {
        if (v === undefined || v === null || v === "") continue;
        const n = Number(v);
        if (Number.isInteger(n) && n >= 0) return n;
        throw new Error(`hubbridge-bench-lights: not a non-negative integer: ${JSON.stringify(v)}`);
    }
    return undefined;
}

export class BenchLightsPlatform extends MatterbridgeDynamicPlatform {
    constructor(matterbridge, log, config) {
        super(matterbridge, log, config);
        this.count = intOr(config.count, process.env.HBBENCH_LIGHTS) ?? 3;
        this.controlPort = intOr(config.controlPort, process.env.HBBENCH_CONTROL_PORT);
        this.lights = [];
        this.control = undefined;
    }

    async onStart(reason) {
        this.log.info(`onStart (${reason ?? "none"}): ${this.count} lights`);
        for (let i = 1; i <= this.count; i++) {
            const serial = `HBB-${String(i).padStart(4, "0")}`;
            const light = new MatterbridgeEndpoint(onOffLight, { id: `light-${i}` })
                .createDefaultIdentifyClusterServer()
                .createDefaultBridgedDeviceBasicInformationClusterServer(`Light ${i}`, serial, 0xfff1, "hubbridge bench",
                    "Bench light")
                .createDefaultOnOffClusterServer(false)
                .addRequiredClusters();
            // A real plugin would actuate its device here; the bench's lights have nothing to drive.
            light.addCommandHandler("on", async () => {});
            light.addCommandHandler("off", async () => {});
            light.addCommandHandler("toggle", async () => {});
            await this.registerDevice(light);
            this.lights.push(light);
        }
        console.log(`HB-LIGHTS count=${this.lights.length}`);
        if (this.controlPort !== undefined) await this.startControl();
    }

    async startControl() {
        this.control = createServer((req, res) => {
            const reply = (status, body) => {
                res.writeHead(status, body === undefined ? {} : { "content-type": "application/json" });
                res.end(body === undefined ? undefined : JSON.stringify(body));
            };
            if (req.method === "GET" && req.url === "/lights") {
                return reply(200, this.lights.map((l, i) => ({ light: i + 1, endpoint: l.maybeNumber ?? null })));
            }
            const m = /^\/lights\/(\d+)$/.exec(req.url ?? "");
            if (req.method !== "PUT" || !m) return reply(404, { error: "PUT /lights/<i> or GET /lights" });
            const light = this.lights[Number(m[1]) - 1];
            if (!light) return reply(404, { error: `no light ${m[1]} (1..${this.lights.length})` });
            let body = "";
            req.on("data", (c) => (body += c));
            req.on("end", () => {
                let on;
                try {
                    on = JSON.parse(body).on;
                } catch {
                    return reply(400, { error: "body must be JSON" });
                }
                if (typeof on !== "boolean") return reply(400, { error: `"on" must be a boolean, got ${JSON.stringify(on)}` });
                light.setAttribute("onOff", "onOff", on, this.log).then(
                    (ok) => (ok ? reply(204) : reply(500, { error: "setAttribute failed" })),
                    (e) => reply(500, { error: String(e) }),
                );
            });
        });
        await new Promise((ok, fail) => {
            this.control.once("error", fail);
            this.control.listen(this.controlPort, "::", ok);
        });
        console.log(`HB-CONTROL port=${this.controlPort}`);
    }

    async onConfigure() {
        await super.onConfigure();
    }

    async onShutdown(reason) {
        if (this.control) await new Promise((ok) => this.control.close(() => ok()));
        this.control = undefined;
        await super.onShutdown(reason);
    }
}

export default function initializePlugin(matterbridge, log, config) {
    return new BenchLightsPlatform(matterbridge, log, config);
}
