import net from 'node:net';
import { createFakeStackLayout, isAlive, runStackScript } from './support/fake-stack';
import type { FakeStackLayout, StackProcess } from './support/fake-stack';

/** `scripts/start-stack.mjs` run for real, over stand-in service entries (see `support/fake-stack`). */
describe('start-stack.mjs', () => {
  let layout: FakeStackLayout;
  let stack: StackProcess | undefined;

  beforeEach(async () => {
    layout = await createFakeStackLayout(['alpha', 'beta-two']);
  });
  afterEach(async () => {
    if (stack && stack.child.exitCode === null && stack.child.signalCode === null) {
      stack.child.kill('SIGKILL');
      await stack.exited;
    }
    for (const pid of Object.values(await layout.pids())) {
      if (pid !== undefined && isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
    await layout.remove();
  });

  async function expectNoSurvivors(): Promise<void> {
    const pids = await layout.pids();
    for (const [name, pid] of Object.entries(pids)) {
      if (pid !== undefined) expect({ name, alive: isAlive(pid) }).toEqual({ name, alive: false });
    }
  }

  it('should print one ready line with the gateway URL and the sidecar address once every service is ready', async () => {
    stack = runStackScript(layout);

    await stack.waitForStdout(/^MLOps stack ready/);

    const readyLines = stack.stdoutLines.filter((line) => line.startsWith('MLOps stack ready'));
    expect(readyLines).toEqual([
      `MLOps stack ready: gateway at http://127.0.0.1:${layout.gatewayPort}/graphql, ` +
        `inference sidecar (KServe v2 gRPC) at 127.0.0.1:${layout.sidecarGrpcPort}`,
    ]);
    await stack.waitForStdout(/^Development tokens: npm run -s token -- /);
    const serviceLines = stack.stdoutLines.filter(
      (line) => !line.startsWith('MLOps stack ready') && !line.startsWith('Development tokens'),
    );
    expect(serviceLines.map((line) => (JSON.parse(line) as { service: string }).service).sort()).toEqual([
      'alpha',
      'beta-two',
      'gateway',
      'inference-sidecar',
    ]);
    const ready = await fetch(`http://127.0.0.1:${layout.gatewayPort}/ready`);
    expect(ready.status).toBe(200);
  });

  it('should start the gateway only after every subgraph is ready', async () => {
    stack = runStackScript(layout);

    await stack.waitForStdout(/^MLOps stack ready/);

    const order = stack.stdoutLines
      .filter((line) => line.startsWith('{'))
      .map((line) => (JSON.parse(line) as { service: string }).service);
    expect(order.at(-1)).toBe('gateway');
  });

  it('should stop every child, the sidecar first (it deregisters through the gateway), then the gateway, and exit 0 on SIGTERM', async () => {
    stack = runStackScript(layout);
    await stack.waitForStdout(/^MLOps stack ready/);

    stack.child.kill('SIGTERM');

    expect(await stack.exited).toBe(0);
    await stack.outputEnded;
    const stopping = stack.stdoutLines
      .filter((line) => line.includes('"stopping"'))
      .map((line) => (JSON.parse(line) as { service: string }).service);
    expect(stopping.slice(0, 2)).toEqual(['inference-sidecar', 'gateway']);
    expect(stopping.sort()).toEqual(['alpha', 'beta-two', 'gateway', 'inference-sidecar']);
    await expectNoSurvivors();
  });

  it('should exit 0 on SIGINT (Ctrl-C)', async () => {
    stack = runStackScript(layout);
    await stack.waitForStdout(/^MLOps stack ready/);

    stack.child.kill('SIGINT');

    expect(await stack.exited).toBe(0);
    await expectNoSurvivors();
  });

  it('should report a subgraph that exits before it is ready, stop the rest and exit 1', async () => {
    stack = runStackScript(layout, { FAKE_CRASH: 'beta-two:before-ready:4' });

    expect(await stack.exited).toBe(1);
    await stack.outputEnded;
    expect(stack.stderrLines).toContain('beta-two exited with code 4');
    expect(stack.stdoutLines.some((line) => line.startsWith('MLOps stack ready'))).toBe(false);
    await expectNoSurvivors();
  });

  it('should report a child that exits after the stack is ready, stop the rest and exit 1', async () => {
    stack = runStackScript(layout, { FAKE_CRASH: 'gateway:after-ready:3' });
    await stack.waitForStdout(/^MLOps stack ready/);

    expect(await stack.exited).toBe(1);
    await stack.outputEnded;
    expect(stack.stderrLines).toContain('gateway exited with code 3');
    await expectNoSurvivors();
  });

  it('should refuse to start when a fixed port is taken', async () => {
    const squatter = net.createServer();
    await new Promise<void>((resolve) =>
      squatter.listen(layout.subgraphs[0]!.defaultPort, '127.0.0.1', resolve),
    );
    try {
      stack = runStackScript(layout);

      expect(await stack.exited).toBe(1);
      await stack.outputEnded;
      expect(stack.stderrLines.join('\n')).toContain(
        `Port ${layout.subgraphs[0]!.defaultPort} (alpha) is already in use; is another stack running?`,
      );
      expect(await layout.pids()).toEqual({ alpha: undefined, 'beta-two': undefined, gateway: undefined });
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });
});
