import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoReport } from '../../src/demo/report.js';

/** The demo runs from the build (`npm test` builds before vitest runs). */
const mainJs = fileURLToPath(new URL('../../dist/demo/main.js', import.meta.url));
const RUN_TIMEOUT_MS = 55_000;
const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

function runDemo(args: readonly string[], timeoutMs = RUN_TIMEOUT_MS) {
  if (!existsSync(mainJs)) throw new Error(`${mainJs} is missing: run \`npm run build\` first (npm test does)`);
  return spawnSync(process.execPath, [mainJs, ...args], { env, encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL' });
}

describe('npm run demo (4 instances, 120 messages, 2 incidents, seed 7)', () => {
  let dir: string;
  let result: ReturnType<typeof runDemo>;
  let report: DemoReport;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'baton-demo-'));
    result = runDemo(['--instances', '4', '--messages', '120', '--incidents', '2', '--seed', '7', '--json', join(dir, 'demo.json')]);
    if (existsSync(join(dir, 'demo.json'))) report = JSON.parse(readFileSync(join(dir, 'demo.json'), 'utf8')) as DemoReport;
  }, RUN_TIMEOUT_MS + 5_000);

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('exits 0 and prints the seed and the summary', () => {
    expect(result.error, String(result.error)).toBeUndefined();
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stderr).toContain('seed 7');
    expect(result.stdout).toContain('Summary');
    expect(result.stdout).toContain('Invariants');
  });

  it('delivers every message exactly once', () => {
    expect(report.messages).toMatchObject({ sent: 120, delivered: 120, failed: 0 });
    expect(report.totals.chatApi.messagesAccepted - report.totals.chatApi.duplicates).toBe(120);
  });

  it('makes one POST /auth at cold start and one per incident', () => {
    expect(report.seed).toBe(7);
    expect(report.instances).toBe(4);
    expect(report.bootstrap).toMatchObject({ kind: 'bootstrap', authCalls: 1 });
    expect(report.incidents.map((incident) => [incident.kind, incident.authCalls])).toEqual([
      ['invalidate', 1],
      ['expire', 1],
    ]);
    expect(report.totals.authCalls).toBe(3);
    expect(report.totals.chatApi.authCalls).toBe(3);
    for (const incident of report.incidents) {
      expect(incident.rejections).toBeGreaterThanOrEqual(1);
      expect(incident.settleMs).toBeGreaterThanOrEqual(0);
      expect(Object.keys(incident)).toEqual(expect.arrayContaining(['kind', 'atMs', 'authCalls', 'rejections', 'settleMs']));
    }
    expect(report.settleMs.max).toBe(Math.max(...report.incidents.map((incident) => incident.settleMs ?? -1)));
    expect(report.totals.takeovers).toBe(0);
  });

  it('holds every invariant', () => {
    expect(report.invariants.filter((check) => !check.ok)).toEqual([]);
    expect(report.invariants.map((check) => check.name)).toEqual(
      expect.arrayContaining(['no-message-lost', 'delivered-exactly-once', 'at-most-one-auth-per-incident', 'fleet-ends-on-accepted-token', 'no-orphan-workers']),
    );
  });

  it('writes a timeline with one lane per instance', () => {
    const html = readFileSync(join(dir, 'demo-timeline.html'), 'utf8');
    const lanes = [...html.matchAll(/<g class="lane" data-lane="([^"]+)"/g)].map((match) => match[1]);
    expect(lanes).toEqual(['i01', 'i02', 'i03', 'i04']);
    expect(report.pool.lanes).toEqual(lanes);
    expect(html.match(/<g class="incident"/g)).toHaveLength(2);
  });

  it('shows tokens only as fingerprints', () => {
    const lines = readFileSync(join(dir, 'demo-events.jsonl'), 'utf8').trim().split('\n');
    expect(lines.length).toBeGreaterThan(120);
    for (const line of lines) {
      const event = JSON.parse(line) as Record<string, unknown>;
      expect(event).not.toHaveProperty('token');
      if ('fingerprint' in event) expect(event['fingerprint']).toMatch(/^fp:[0-9a-f]{10}$/);
    }
    const everything = `${result.stdout}${result.stderr}${readFileSync(join(dir, 'demo.json'), 'utf8')}`;
    expect(everything).not.toMatch(/"token"\s*:/);
  });
});

describe('demo command line', () => {
  it('prints help and exits 0', () => {
    const help = runDemo(['--help'], 10_000);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--instances N');
  });

  it.each([
    [['--instances', '0'], '--instances must be an integer in 1..64'],
    [['--messages', 'lots'], '--messages must be an integer in 1..100000'],
    [['--frobnicate'], "Unknown option '--frobnicate'"],
  ])('refuses %j with exit code 2', (args, message) => {
    const refused = runDemo(args, 10_000);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain(message);
  });
});
