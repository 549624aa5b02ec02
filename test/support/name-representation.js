// Child process of one-byte-names.test.ts: a fresh V8 isolate (nothing has stored the schema's
// names yet) builds the supergraph at argv[2] as the gateway does, with or without pinning its
// names first (argv[4] = 'pin'), and prints how V8 stores the name argv[3] as an object key:
// 'one-byte' or 'two-byte' (the tag of V8's serialiser: '"' one-byte, 'c' two-byte).
'use strict';
const { readFileSync } = require('node:fs');
const v8 = require('node:v8');
const { Supergraph } = require('@apollo/federation-internals');
const { pinSchemaNamesOneByte } = require('@mlops/gateway/dist/one-byte-names');

const [, , file, name, pin] = process.argv;
const sdl = readFileSync(file, 'utf8');
Supergraph.build(pin === 'pin' ? pinSchemaNamesOneByte(sdl) : sdl);
// Built from pieces so that this script's own text stores nothing under the name first.
const key = Object.keys({ [name.split('').join('')]: true })[0];
const tag = v8.serialize(key)[2];
process.stdout.write(tag === 0x22 ? 'one-byte' : tag === 0x63 ? 'two-byte' : `unknown tag ${tag}`);
