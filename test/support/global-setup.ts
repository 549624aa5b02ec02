import { TEST_POSTGRES_URL, TEST_REDIS_URL, isReachable } from './services';

/**
 * Probes PostgreSQL and Redis once for the whole run. Where one is unreachable, suites that need it
 * skip with a printed reason, except under CI=true, where the run fails instead: CI must never pass
 * by skipping the real-server tests.
 */
export default async function globalSetup(): Promise<void> {
  const probes = [
    {
      name: 'postgres',
      url: TEST_POSTGRES_URL,
      port: 5432,
      hint: 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
    },
    { name: 'redis', url: TEST_REDIS_URL, port: 6379, hint: 'redis-server --daemonize yes --port 6379' },
  ] as const;
  const missing: string[] = [];
  for (const probe of probes) {
    const ok = await isReachable(probe.url, probe.port);
    process.env[`MLOPS_TEST_${probe.name.toUpperCase()}`] = ok ? 'available' : 'missing';
    if (!ok)
      missing.push(
        `${probe.name} is not reachable at ${new URL(probe.url).host} (start it with: ${probe.hint})`,
      );
  }
  if (missing.length === 0) return;
  if (process.env.CI === 'true') {
    throw new Error(`CI=true and required services are down:\n  - ${missing.join('\n  - ')}`);
  }
  console.warn(`\nSkipping the suites that need them:\n  - ${missing.join('\n  - ')}\n`);
}
