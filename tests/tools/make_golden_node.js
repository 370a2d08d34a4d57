#!/usr/bin/env node
// Encode golden SMPP PDUs with the npm `smpp` package (farhadi/node-smpp 0.5.1), an SMPP
// implementation written independently of smppgw.
//
// Not run by the tests: tests/tools/make_golden.py pipes the vector specs to this script
// and stores the result in tests/golden/pdus.json. Run it through make_golden.py:
//
//     export NODE_PATH="$(bash ../shared/peers/setup.sh "$PWD/.peers-node")"
//     .venv/bin/python tests/tools/make_golden.py
//
// stdin: a JSON array of {name, command, options, vendor_tlvs}. In `options`, a value
// {"hex": "..."} becomes a Buffer (so node-smpp's text filters leave it untouched); every
// other value is passed as is. vendor_tlvs: [{name, id}] are registered with smpp.addTLV
// as raw-buffer TLVs (node-smpp has no way to emit a TLV it does not know).
// stdout: a JSON object {version: node-smpp's version, pdus: {name: hex of PDU.toBuffer()}}.
'use strict';

const smpp = require('smpp');

function revive(value) {
	if (value && typeof value === 'object' && !Array.isArray(value) && 'hex' in value) {
		return Buffer.from(value.hex, 'hex');
	}
	return value;
}

function main(specs) {
	const out = {};
	for (const spec of specs) {
		for (const tlv of spec.vendor_tlvs || []) {
			if (!(tlv.name in smpp.tlvs)) {
				smpp.addTLV(tlv.name, {id: tlv.id, type: smpp.types.tlv.buffer});
			}
		}
		const options = {};
		for (const [key, value] of Object.entries(spec.options)) {
			options[key] = revive(value);
		}
		const pdu = new smpp.PDU(spec.command, options);
		out[spec.name] = pdu.toBuffer().toString('hex');
	}
	return out;
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
	const version = require('smpp/package.json').version;
	process.stdout.write(JSON.stringify({version, pdus: main(JSON.parse(input))}) + '\n');
});
