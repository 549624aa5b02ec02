// @ts-check
/**
 * `npm run -s token -- <role> [subject] [--scope <scope>]… [--ttl <lifetime>]`: prints a development
 * JWT (HS256) for the gateway `npm start` runs, signed with `JWT_HS256_SECRET` or else the development
 * secret that `npm start` keeps in `DATA_DIR/.dev-jwt-secret`. Roles: viewer, data-scientist,
 * ml-engineer, admin, or `service` for a token with no role, only its scopes (e.g.
 * `npm run -s token -- service service:trainer --scope experiments:write`). `--ttl` sets how long it
 * is valid, a whole number of seconds, minutes, hours or days (`90s`, `15m`, `12h`, `30d`); default
 * 24 h. Anything else exits 2 with the usage.
 *
 * Also a module: `mintToken` is what `npm start` signs the sidecar's service token with, and what
 * the benchmarks sign their callers' tokens with.
 */
import { createHmac, sign } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROLES = ['viewer', 'data-scientist', 'ml-engineer', 'admin'];
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DAY_SECONDS = 86_400;

/**
 * @typedef {object} TokenClaims
 * @property {string} subject `sub`
 * @property {readonly string[]} [roles] the `roles` claim; default none
 * @property {readonly string[]} [scopes] the `scope` claim (space-separated); default none
 * @property {number} [ttlSeconds] lifetime; default 24 h
 * @property {number} [now] issue time in ms; default now
 *
 * @typedef {{ readonly secret: string } | { readonly privateKey: import('node:crypto').KeyObject; readonly kid: string }} TokenKey
 * An HS256 shared secret (`JWT_HS256_SECRET`, development), or an RSA private key whose public half
 * the gateway reads from a JWKS under `kid` (RS256, production mode).
 */

const TTL_UNIT_SECONDS = { s: 1, m: 60, h: 3_600, d: DAY_SECONDS };

/**
 * A `--ttl` value (`90s`, `15m`, `12h`, `30d`) in seconds; undefined when it is not a positive whole
 * number with one of those units.
 * @param {string | undefined} value
 * @returns {number | undefined}
 */
export function parseTtl(value) {
  const match = /^([1-9]\d*)([smhd])$/.exec(value ?? '');
  if (!match) return undefined;
  const seconds = Number(match[1]) * TTL_UNIT_SECONDS[/** @type {'s' | 'm' | 'h' | 'd'} */ (match[2])];
  return Number.isSafeInteger(seconds) ? seconds : undefined;
}

/** @param {unknown} value */
const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * Signs a compact JWT the gateway verifies.
 * @param {TokenClaims} claims
 * @param {TokenKey} key
 * @returns {string}
 */
export function mintToken(claims, key) {
  const { subject, roles = [], scopes = [], ttlSeconds = DAY_SECONDS, now = Date.now() } = claims;
  const iat = Math.floor(now / 1000);
  const payload = {
    sub: subject,
    roles,
    ...(scopes.length > 0 ? { scope: scopes.join(' ') } : {}),
    iat,
    exp: iat + ttlSeconds,
  };
  if ('secret' in key) {
    const input = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(payload)}`;
    return `${input}.${createHmac('sha256', key.secret).update(input).digest('base64url')}`;
  }
  const input = `${part({ alg: 'RS256', typ: 'JWT', kid: key.kid })}.${part(payload)}`;
  return `${input}.${sign('sha256', Buffer.from(input), key.privateKey).toString('base64url')}`;
}

/**
 * The secret development tokens are signed with: `JWT_HS256_SECRET`, else the one `npm start` keeps
 * in `<dataDir>/.dev-jwt-secret`; undefined when neither exists.
 * @param {string} dataDir
 */
export function developmentSecretIn(dataDir) {
  const file = path.join(dataDir, '.dev-jwt-secret');
  return process.env.JWT_HS256_SECRET ?? (existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined);
}

const USAGE =
  `usage: npm run -s token -- <${ROLES.join('|')}> [subject] [--scope <scope>]… [--ttl <lifetime>]\n` +
  `       npm run -s token -- service <subject> --scope <scope> [--scope <scope>]… [--ttl <lifetime>]\n` +
  `       <lifetime>: a whole number of s, m, h or d (e.g. 30d); default 24h\n`;

/** @param {readonly string[]} args */
function main(args) {
  /** @type {string[]} */
  const scopes = [];
  /** @type {string[]} */
  const positional = [];
  /** @type {string | undefined} */
  let ttl;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--scope' && args[i + 1]) scopes.push(/** @type {string} */ (args[++i]));
    else if (args[i] === '--ttl') ttl = args[++i] ?? '';
    else if (args[i]?.startsWith('--ttl=')) ttl = args[i]?.slice('--ttl='.length);
    else positional.push(/** @type {string} */ (args[i]));
  }
  const ttlSeconds = ttl === undefined ? DAY_SECONDS : parseTtl(ttl);
  if (ttlSeconds === undefined) {
    process.stderr.write(
      `--ttl must be a positive whole number of seconds, minutes, hours or days (90s, 15m, 12h, 30d); got '${ttl}'\n${USAGE}`,
    );
    process.exit(2);
  }
  const [role, subject = role === 'service' ? 'service:dev' : `dev-${role}`] = positional;
  if (!role || (role !== 'service' && !ROLES.includes(role)) || (role === 'service' && !scopes.length)) {
    process.stderr.write(USAGE);
    process.exit(2);
  }
  const dataDir = path.resolve(ROOT, process.env.DATA_DIR ?? 'data');
  const secret = developmentSecretIn(dataDir);
  if (!secret) {
    process.stderr.write(
      `No JWT_HS256_SECRET and no ${path.relative(ROOT, path.join(dataDir, '.dev-jwt-secret'))}: run \`npm start\` once first\n`,
    );
    process.exit(1);
  }
  const roles = role === 'service' ? [] : [role];
  process.stdout.write(`${mintToken({ subject, roles, scopes, ttlSeconds }, { secret })}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2));
}
