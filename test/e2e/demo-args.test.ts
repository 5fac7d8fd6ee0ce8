import { describe, expect, it } from 'vitest';
import { DEFAULT_JSON_PATH, EXIT_USAGE, NUMERIC_FLAGS, defaultSpreadMs, parseArgs } from '../../src/demo/args.js';

describe('demo parseArgs', () => {
  it('gives the documented defaults', () => {
    const parsed = parseArgs([]);
    expect(parsed).toEqual({
      kind: 'run',
      options: {
        instances: 20,
        messages: 2_000,
        incidents: 6,
        seed: 1,
        endpoint: undefined,
        jsonPath: DEFAULT_JSON_PATH,
        htmlPath: 'reports/demo-timeline.html',
        eventsPath: 'reports/demo-events.jsonl',
        authLatencyMs: 300,
        messageLatencyMs: 20,
        spreadMs: 55_000,
      },
    });
  });

  it('reads every flag', () => {
    const parsed = parseArgs([
      '--instances', '4', '--messages', '120', '--incidents', '2', '--seed', '7', '--json', '/tmp/x/r.json',
      '--endpoint', 'http://127.0.0.1:8000', '--auth-latency-ms', '50', '--message-latency-ms', '0', '--spread-ms', '12000',
    ]);
    expect(parsed).toEqual({
      kind: 'run',
      options: {
        instances: 4,
        messages: 120,
        incidents: 2,
        seed: 7,
        endpoint: 'http://127.0.0.1:8000',
        jsonPath: '/tmp/x/r.json',
        htmlPath: '/tmp/x/demo-timeline.html',
        eventsPath: '/tmp/x/demo-events.jsonl',
        authLatencyMs: 50,
        messageLatencyMs: 0,
        spreadMs: 12_000,
      },
    });
  });

  it('puts the timeline where --html says', () => {
    const parsed = parseArgs(['--html', 'out/t.html']);
    expect(parsed.kind === 'run' && parsed.options.htmlPath).toBe('out/t.html');
  });

  it('answers --help with the usage text', () => {
    const parsed = parseArgs(['--help']);
    expect(parsed.kind).toBe('help');
    if (parsed.kind === 'help') {
      for (const flag of ['--instances', '--messages', '--incidents', '--seed', '--endpoint', '--json', '--help']) expect(parsed.text).toContain(flag);
    }
  });

  it.each([
    [['--instances', '0'], '--instances must be an integer in 1..64'],
    [['--instances', '65'], '--instances must be an integer in 1..64'],
    [['--instances', 'many'], "--instances must be an integer in 1..64, got 'many'"],
    [['--messages', '-5'], '--messages'],
    [['--messages', '1.5'], '--messages must be an integer in 1..100000'],
    [['--seed', '4294967296'], '--seed must be an integer in 0..4294967295'],
    [['--incidents', '101'], '--incidents must be an integer in 0..100'],
    [['--endpoint', 'ftp://127.0.0.1'], '--endpoint must be an http(s) URL'],
    [['--endpoint', 'http://dynamodb.us-east-1.amazonaws.com'], '--endpoint must be an http(s) URL of a DynamoDB endpoint on 127.0.0.1 or localhost'],
    [['--bogus'], "Unknown option '--bogus'"],
    [['--seed'], "Option '--seed <value>' argument missing"],
    [['stray'], 'positional'],
    [['--json', ''], '--json needs a non-empty path'],
  ])('refuses %j naming the flag', (argv, fragment) => {
    const parsed = parseArgs(argv);
    expect(parsed.kind).toBe('error');
    if (parsed.kind === 'error') expect(parsed.message).toContain(fragment);
  });

  it('refuses more incidents than the spread can hold', () => {
    const parsed = parseArgs(['--messages', '10', '--incidents', '5']);
    expect(parsed).toEqual({ kind: 'error', message: expect.stringContaining('--incidents must be in 0..3 for a spread of 10000 ms') });
  });

  it('spreads 27.5 ms per message, at least 10 s', () => {
    expect(defaultSpreadMs(2_000)).toBe(55_000);
    expect(defaultSpreadMs(120)).toBe(10_000);
  });

  it('uses exit code 2 and ranges that include the defaults', () => {
    expect(EXIT_USAGE).toBe(2);
    for (const spec of Object.values(NUMERIC_FLAGS)) {
      if (spec.default === undefined) continue;
      expect(spec.default).toBeGreaterThanOrEqual(spec.min);
      expect(spec.default).toBeLessThanOrEqual(spec.max);
    }
  });
});
