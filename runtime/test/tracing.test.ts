import { ConfigError, createLogger, startTracing, tracingEnabled } from '../src';

const logger = createLogger({ service: 'tracing-test', level: 'silent' });

/** Runs `fn` with these OTEL_* variables set (undefined: unset), restoring the environment after. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((name) => [name, process.env[name]]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  apply(vars);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}

const UNSET = {
  OTEL_EXPORTER_OTLP_ENDPOINT: undefined,
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: undefined,
  OTEL_SDK_DISABLED: undefined,
  OTEL_TRACES_SAMPLER: undefined,
  OTEL_TRACES_SAMPLER_ARG: undefined,
};

describe('startTracing', () => {
  it('should stay off without an endpoint, and with OTEL_SDK_DISABLED=true despite one', async () => {
    for (const vars of [
      UNSET,
      { ...UNSET, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', OTEL_SDK_DISABLED: 'true' },
    ]) {
      const tracing = await withEnv(vars, () => startTracing({ serviceName: 'off', logger }));
      expect(tracing.enabled).toBe(false);
      expect(tracingEnabled()).toBe(false);
      await tracing.shutdown();
    }
  });

  it('should refuse an endpoint that is not an http(s) URL, naming the variable', async () => {
    const started = withEnv({ ...UNSET, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'grpc://collector:4317' }, () =>
      startTracing({ serviceName: 'bad', logger }),
    );
    await expect(started).rejects.toBeInstanceOf(ConfigError);
    await expect(started).rejects.toThrow(
      /OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must use http:\/\/ or https:\/\//,
    );
    expect(tracingEnabled()).toBe(false);
  });

  it('should refuse an unknown sampler and a ratio outside [0, 1]', async () => {
    const endpoint = { ...UNSET, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1' };
    await expect(
      withEnv({ ...endpoint, OTEL_TRACES_SAMPLER: 'sometimes' }, () =>
        startTracing({ serviceName: 'bad', logger }),
      ),
    ).rejects.toThrow(/OTEL_TRACES_SAMPLER/);
    await expect(
      withEnv(
        { ...endpoint, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '1.5' },
        () => startTracing({ serviceName: 'bad', logger }),
      ),
    ).rejects.toThrow("OTEL_TRACES_SAMPLER_ARG must be a number between 0 and 1; got '1.5'");
    expect(tracingEnabled()).toBe(false);
  });
});
