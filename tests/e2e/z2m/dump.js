// Dumps zigbee-herdsman-converters definitions as Zigbee2MQTT serialises them in `bridge/devices`
// (`definition: {model, vendor, description, exposes, supports_ota, options}`, `linkquality` appended
// to the exposes as Zigbee2MQTT's Device.exposes() does, keys sorted as json-stable-stringify does).
// Only definitions whose exposes are static (an array after prepareDefinition) are dumped.
//
//   node dump.js all            -> every static definition: [{model, vendor, definition}]
//   node dump.js MODEL [MODEL…] -> those models only (exits 1 naming a model that is missing or dynamic)
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const zhc = require("zigbee-herdsman-converters");

const devicesDir = path.join(path.dirname(require.resolve("zigbee-herdsman-converters")), "devices");

function sortKeys(v) {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (v && typeof v === "object") {
        const out = {};
        for (const k of Object.keys(v).sort()) if (v[k] !== undefined) out[k] = sortKeys(v[k]);
        return out;
    }
    return v;
}

function linkquality() {
    return new zhc.Numeric("linkquality", zhc.access.STATE)
        .withUnit("lqi")
        .withDescription("Link quality (signal strength)")
        .withValueMin(0)
        .withValueMax(255)
        .withCategory("diagnostic");
}

function* definitions() {
    for (const file of fs.readdirSync(devicesDir).filter((f) => f.endsWith(".js")).sort()) {
        let mod;
        try {
            mod = require(path.join(devicesDir, file));
        } catch {
            continue;
        }
        const list = Array.isArray(mod) ? mod : mod.definitions || mod.default || [];
        if (!Array.isArray(list)) continue;
        for (const raw of list) yield raw;
    }
}

function serialise(raw) {
    const def = zhc.prepareDefinition(raw);
    if (typeof def.exposes === "function") return null;
    const exposes = JSON.parse(JSON.stringify([...def.exposes, linkquality()]));
    return sortKeys({
        model: def.model,
        vendor: def.vendor,
        description: def.description,
        exposes,
        supports_ota: !!def.ota,
        options: JSON.parse(JSON.stringify(def.options || [])),
    });
}

const args = process.argv.slice(2);
const out = [];
if (args[0] === "all") {
    let dynamic = 0;
    const seen = new Set();
    for (const raw of definitions()) {
        const key = `${raw.vendor}\u0000${raw.model}`;
        if (seen.has(key)) continue; // devices/index.js re-exports every vendor file
        seen.add(key);
        let d;
        try {
            d = serialise(raw);
        } catch {
            d = null;
        }
        if (d) out.push({ model: d.model, vendor: d.vendor, definition: d });
        else dynamic += 1;
    }
    process.stderr.write(`static definitions: ${out.length}, dynamic or failing: ${dynamic}\n`);
} else {
    const wanted = new Set(args);
    for (const raw of definitions()) {
        if (!wanted.has(raw.model)) continue; // the first of a model (index.js repeats them)
        const d = serialise(raw);
        if (!d) {
            process.stderr.write(`model ${raw.model}: exposes are dynamic\n`);
            process.exit(1);
        }
        out.push({ model: d.model, vendor: d.vendor, definition: d });
        wanted.delete(raw.model);
    }
    if (wanted.size) {
        process.stderr.write(`models not found: ${[...wanted].join(", ")}\n`);
        process.exit(1);
    }
}
process.stdout.write(JSON.stringify(out));
