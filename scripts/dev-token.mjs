// @ts-check
/**
 * `npm run -s token -- <role> [subject]`: prints a development JWT (HS256, valid 24 h) for the
 * gateway `npm start` runs, signed with `JWT_HS256_SECRET` or else the development secret that
 * `npm start` keeps in `DATA_DIR/.dev-jwt-secret`. Roles: viewer, data-scientist, ml-engineer, admin.
 */
import { createHmac } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROLES = ['viewer', 'data-scientist', 'ml-engineer', 'admin'];
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const [role, subject = `dev-${role}`] = process.argv.slice(2);

if (!role || !ROLES.includes(role)) {
  process.stderr.write(`usage: npm run -s token -- <${ROLES.join('|')}> [subject]\n`);
  process.exit(2);
}
const secretFile = path.join(path.resolve(ROOT, process.env.DATA_DIR ?? 'data'), '.dev-jwt-secret');
const secret =
  process.env.JWT_HS256_SECRET ?? (existsSync(secretFile) ? readFileSync(secretFile, 'utf8').trim() : '');
if (!secret) {
  process.stderr.write(
    `No JWT_HS256_SECRET and no ${path.relative(ROOT, secretFile)}: run \`npm start\` once first\n`,
  );
  process.exit(1);
}
const now = Math.floor(Date.now() / 1000);
const part = (/** @type {unknown} */ value) => Buffer.from(JSON.stringify(value)).toString('base64url');
const input = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ sub: subject, roles: [role], iat: now, exp: now + 86_400 })}`;
process.stdout.write(`${input}.${createHmac('sha256', secret).update(input).digest('base64url')}\n`);
