/** Thrown at start-up when the environment does not describe a valid configuration. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads typed values from the environment, collecting every problem so that one start-up failure
 * names all the variables at fault. Call `done()` after the last read: it throws a `ConfigError`
 * when any read failed.
 */
export interface EnvReader {
  string(name: string, fallback: string): string;
  optionalString(name: string): string | undefined;
  int(name: string, fallback: number, range?: { min?: number; max?: number }): number;
  port(name: string, fallback: number): number;
  url(name: string, protocols: readonly string[]): string | undefined;
  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T;
  done(): void;
}

export function createEnvReader(env: Env = process.env): EnvReader {
  const problems: string[] = [];
  const raw = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const reader: EnvReader = {
    string: (name, fallback) => raw(name) ?? fallback,
    optionalString: (name) => raw(name),
    int(name, fallback, { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = {}) {
      const value = raw(name);
      if (value === undefined) return fallback;
      const parsed = Number(value);
      if (!/^-?\d+$/.test(value) || parsed < min || parsed > max) {
        problems.push(`${name} must be an integer between ${min} and ${max}; got '${value}'`);
        return fallback;
      }
      return parsed;
    },
    port: (name, fallback) => reader.int(name, fallback, { min: 0, max: 65_535 }),
    url(name, protocols) {
      const value = raw(name);
      if (value === undefined) return undefined;
      let protocol: string;
      try {
        protocol = new URL(value).protocol.replace(/:$/, '');
      } catch {
        problems.push(`${name} must be a URL; got '${redactUrl(value)}'`);
        return undefined;
      }
      if (!protocols.includes(protocol)) {
        problems.push(
          `${name} must use ${protocols.map((p) => `${p}://`).join(' or ')}; got '${protocol}://'`,
        );
        return undefined;
      }
      return value;
    },
    oneOf(name, allowed, fallback) {
      const value = raw(name);
      if (value === undefined) return fallback;
      if (!(allowed as readonly string[]).includes(value)) {
        problems.push(`${name} must be one of ${allowed.join(', ')}; got '${value}'`);
        return fallback;
      }
      return value as (typeof allowed)[number];
    },
    done() {
      if (problems.length > 0) throw new ConfigError(problems);
    },
  };
  return reader;
}

/** Hides the password of a connection URL so it can be logged. */
export function redactUrl(value: string): string {
  return value.replace(/\/\/([^:/@]+):([^@]*)@/, '//$1:***@');
}
