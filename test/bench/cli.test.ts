import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BenchUsageError, parseBenchArgs } from '../../bench/core/args.js';

describe('bench command line', () => {
  it('has defaults: all modes, every scenario and strategy, auth 300 ms, DynamoDB 10 ms, seed 1', () => {
    const args = parseBenchArgs([]);
    expect(args).toMatchObject({ mode: 'all', quick: false, seed: 1, authMs: 300, ddbMs: 10, instances: undefined, filtered: false });
    expect(args.scenarios).toHaveLength(5);
    expect(args.strategies).toEqual(['baton', 'naive', 'textbook', 'lock-client']);
  });

  it('parses every flag, with a space or =', () => {
    const args = parseBenchArgs(['--quick', '--mode=virtual', '--seed', '42', '--instances', '1000,1,10', '--scenario', 'holder-crash,invalidation-burst', '--strategy=baton', '--auth-ms', '500', '--ddb-ms=20', '--baton-poll-ms', '25']);
    expect(args).toMatchObject({ quick: true, mode: 'virtual', seed: 42, instances: [1, 10, 1000], scenarios: ['holder-crash', 'invalidation-burst'], strategies: ['baton'], authMs: 500, ddbMs: 20, batonPollMs: 25, filtered: true });
  });

  it.each([
    [['--bogus'], 'unknown flag --bogus'],
    [['--mode', 'fast'], '--mode: unknown value "fast"'],
    [['--mode'], '--mode needs a value'],
    [['--seed', '-1'], '--seed needs an integer'],
    [['--seed', '1.5'], '--seed needs an integer'],
    [['--instances', '1,,10'], '--instances needs an integer'],
    [['--instances', '1001', '--mode', 'virtual'], '--instances needs an integer from 1 to 1000'],
    [['--instances', '100'], '--instances above 32 need --mode virtual'],
    [['--scenario', 'meteor'], '--scenario: unknown value "meteor"'],
    [['--strategy', 'baton,'], '--strategy needs a comma-separated list'],
    [['--auth-ms', '0'], '--auth-ms needs an integer from 1'],
    [['--quick=yes'], '--quick takes no value'],
    [['--quick', '--quick'], '--quick given twice'],
    [['quick'], 'unexpected argument "quick"'],
  ])('rejects %j', (argv, message) => {
    expect(() => parseBenchArgs(argv)).toThrow(BenchUsageError);
    expect(() => parseBenchArgs(argv)).toThrow(message);
  });

  it('exits 2 with the reason and the usage on a bad flag, 0 with --help', () => {
    const bad = spawnSync(process.execPath, ['--import', 'tsx', 'bench/main.ts', '--instances', 'ten'], { encoding: 'utf8', timeout: 30_000 });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('bench: --instances needs an integer');
    expect(bad.stderr).toContain('Usage: npm run bench');
    const help = spawnSync(process.execPath, ['--import', 'tsx', 'bench/main.ts', '--help'], { encoding: 'utf8', timeout: 30_000 });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--mode virtual|wall|all');
  });
});
