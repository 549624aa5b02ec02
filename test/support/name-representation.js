// Child process of one-byte-names.test.ts: a fresh V8 isolate (nothing has stored the schema's
// names yet) takes in the supergraph at argv[2] and prints how V8 stores each name of argv[4..] as
// an object key: 'one-byte' or 'two-byte', one per line. argv[3] says how the supergraph is taken:
//   build    federation-internals builds it unpinned (what the gateway must not do)
//   pin      the same after pinSchemaNamesOneByte
// (both without the security purpose of its features, which federation-internals refuses)
//   gateway  createGateway serves it, as `npm start` does (no subgraph is called)
// Whatever is built stays referenced: the string table holds names weakly.
'use strict';
const { readFileSync } = require('node:fs');
const v8 = require('node:v8');
const { Supergraph } = require('@apollo/federation-internals');

// Built from pieces so that this script's own text stores nothing under the name first.
function representation(name) {
  const key = Object.keys({ [name.split('').join('')]: true })[0];
  // The serialiser's tag: '"' one-byte; 'c' two-byte, after a zero byte of padding when it aligns.
  const bytes = v8.serialize(key);
  const tag = bytes[2] === 0 ? bytes[3] : bytes[2];
  return tag === 0x22 ? 'one-byte' : tag === 0x63 ? 'two-byte' : `unknown tag ${tag}`;
}

async function main() {
  const [, , file, mode, ...names] = process.argv;
  if (mode === 'gateway') {
    const { createGateway } = require('@mlops/gateway/dist/gateway');
    const { createLogger } = require('@mlops/runtime');
    const gateway = await createGateway({
      env: {},
      logger: createLogger({ service: 'gateway', level: 'silent' }),
      port: 0,
      supergraph: { kind: 'file', path: file },
    });
    process.stdout.write(names.map(representation).join('\n'));
    await gateway.close();
    return;
  }
  const { pinSchemaNamesOneByte } = require('@mlops/gateway/dist/one-byte-names');
  const { withoutSecurityPurpose } = require('@mlops/gateway/dist/auth/access-rules');
  const sdl = withoutSecurityPurpose(readFileSync(file, 'utf8'));
  globalThis.supergraph = Supergraph.build(mode === 'pin' ? pinSchemaNamesOneByte(sdl) : sdl);
  process.stdout.write(names.map(representation).join('\n'));
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
