import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { INCIDENT_SPACING_MS_MIN, TOKEN_AGE_MS_MIN, injectIncidents } from '../../src/demo/incidents.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
});

async function adminServer(): Promise<{ url: string; calls: Array<{ path: string; atMs: number }> }> {
  const calls: Array<{ path: string; atMs: number }> = [];
  const server = createServer((request, response) => {
    calls.push({ path: request.url ?? '', atMs: Date.now() });
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(request.url === '/admin/expire' ? '{"expired":true}' : '{"generation":2}');
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls };
}

describe('injectIncidents', () => {
  it('waits for a token old enough, then fires each kind through its admin route', async () => {
    const admin = await adminServer();
    const startAtMs = Date.now();
    let published: number | undefined;
    setTimeout(() => (published = Date.now() - TOKEN_AGE_MS_MIN + 100), 150);
    const fired = await injectIncidents({
      chatUrl: admin.url,
      incidents: [{ kind: 'invalidate', offsetMs: 0 }],
      startAtMs,
      lastPublishAtMs: () => published,
      signal: new AbortController().signal,
    });
    expect(fired).toMatchObject([{ kind: 'invalidate', ok: true, answer: { generation: 2 }, plannedOffsetMs: 0 }]);
    expect(admin.calls.map((call) => call.path)).toEqual(['/admin/invalidate']);
    expect((fired[0]?.atMs ?? 0) - startAtMs).toBeGreaterThanOrEqual(240);
  });

  it('never fires the next incident before a token was published after the previous one', async () => {
    const admin = await adminServer();
    const startAtMs = Date.now();
    let published: number | undefined = startAtMs - 10_000;
    const abort = new AbortController();
    const run = injectIncidents({
      chatUrl: admin.url,
      incidents: [
        { kind: 'invalidate', offsetMs: 0 },
        { kind: 'expire', offsetMs: 0 },
      ],
      startAtMs,
      lastPublishAtMs: () => published,
      signal: abort.signal,
    });
    await new Promise((resolve) => setTimeout(resolve, INCIDENT_SPACING_MS_MIN + 300));
    expect(admin.calls.map((call) => call.path)).toEqual(['/admin/invalidate']);
    published = Date.now() - TOKEN_AGE_MS_MIN;
    const fired = await run;
    expect(fired.map((incident) => incident.kind)).toEqual(['invalidate', 'expire']);
    expect(admin.calls.map((call) => call.path)).toEqual(['/admin/invalidate', '/admin/expire']);
  });

  it('stops when the run is aborted', async () => {
    const admin = await adminServer();
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 100);
    const fired = await injectIncidents({ chatUrl: admin.url, incidents: [{ kind: 'expire', offsetMs: 0 }], startAtMs: Date.now(), lastPublishAtMs: () => undefined, signal: abort.signal });
    expect(fired).toEqual([]);
    expect(admin.calls).toEqual([]);
  });
});
