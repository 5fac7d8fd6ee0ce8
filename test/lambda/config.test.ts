import { describe, expect, it } from 'vitest';
import { BotConfigError, loadBotConfig } from '../../src/lambda/config.js';
import type { BotEnv } from '../../src/lambda/config.js';

const secret = 'super-secret-value-4242';
const env = {
  CHAT_API_URL: 'https://chat.example.com',
  CHAT_AUTH_SECRET: secret,
  BATON_TABLE: 'baton-tokens',
  BATON_KEY: 'chat-bot-token',
  AWS_REGION: 'eu-west-1',
} as const satisfies BotEnv;

/** Loads `vars`, expecting a BotConfigError, and returns it. */
function failure(vars: BotEnv): BotConfigError {
  try {
    loadBotConfig(vars);
  } catch (error) {
    if (error instanceof BotConfigError) return error;
    throw error;
  }
  throw new Error('expected loadBotConfig to throw');
}

describe('loadBotConfig: valid environments', () => {
  it('reads the required variables and applies the defaults', () => {
    expect(loadBotConfig(env)).toEqual({
      chatApiUrl: 'https://chat.example.com',
      chatAuthSecret: secret,
      tableName: 'baton-tokens',
      itemKey: 'chat-bot-token',
      partitionKey: 'pk',
      region: 'eu-west-1',
      replyDeadlineMs: 10_000,
    });
  });

  it('reads every optional variable', () => {
    const config = loadBotConfig({
      ...env,
      DYNAMODB_ENDPOINT: 'http://localhost:8000',
      BATON_PARTITION_KEY: 'id',
      BATON_LEASE_MS: '5000',
      BOT_REPLY_DEADLINE_MS: '2500',
    });
    expect(config).toMatchObject({ dynamodbEndpoint: 'http://localhost:8000', partitionKey: 'id', leaseMs: 5000, replyDeadlineMs: 2500, region: 'eu-west-1' });
  });

  it("defaults AWS_REGION to 'us-east-1' only when DYNAMODB_ENDPOINT is set", () => {
    const { AWS_REGION: _, ...withoutRegion } = env;
    expect(loadBotConfig({ ...withoutRegion, DYNAMODB_ENDPOINT: 'http://127.0.0.1:4567' }).region).toBe('us-east-1');
    expect(failure(withoutRegion).problems).toEqual([
      { variable: 'AWS_REGION', problem: 'is missing (required unless DYNAMODB_ENDPOINT is set)', example: 'eu-west-1' },
    ]);
  });

  it('treats empty optional variables as unset and keeps a base path in the URL', () => {
    const config = loadBotConfig({ ...env, CHAT_API_URL: 'http://127.0.0.1:3000/api/', DYNAMODB_ENDPOINT: '', BATON_LEASE_MS: '', BOT_REPLY_DEADLINE_MS: ' ' });
    expect(config.chatApiUrl).toBe('http://127.0.0.1:3000/api');
    expect(config).not.toHaveProperty('dynamodbEndpoint');
    expect(config).not.toHaveProperty('leaseMs');
    expect(config.replyDeadlineMs).toBe(10_000);
  });
});

describe('loadBotConfig: problems', () => {
  it('names every missing required variable in one error', () => {
    const error = failure({});
    expect(error.code).toBe('BOT_CONFIG_INVALID');
    expect(error.name).toBe('BotConfigError');
    expect(error).toBeInstanceOf(Error);
    expect(error.problems.map((p) => p.variable)).toEqual(['CHAT_API_URL', 'CHAT_AUTH_SECRET', 'BATON_TABLE', 'BATON_KEY', 'AWS_REGION']);
    for (const name of ['CHAT_API_URL', 'CHAT_AUTH_SECRET', 'BATON_TABLE', 'BATON_KEY', 'AWS_REGION']) {
      expect(error.message).toMatch(new RegExp(`- ${name} is missing.*; example: ${name}=\\S+`));
    }
  });

  it.each([
    ['CHAT_API_URL', 'not a url', 'is not a valid absolute URL'],
    ['CHAT_API_URL', '/relative/path', 'is not a valid absolute URL'],
    ['CHAT_API_URL', 'ftp://chat.example.com', 'must use http or https, not ftp:'],
    ['CHAT_API_URL', 'https://bot:hunter2@chat.example.com', 'must not contain credentials (user:password@)'],
    ['CHAT_AUTH_SECRET', '   ', 'is missing or empty'],
    ['BATON_TABLE', 'ab', 'must be 3..255 characters from [A-Za-z0-9_.-]'],
    ['BATON_TABLE', 'my table', 'must be 3..255 characters from [A-Za-z0-9_.-]'],
    ['BATON_KEY', 'k'.repeat(1025), 'is longer than 1024 characters'],
    ['BATON_PARTITION_KEY', 'p'.repeat(256), 'is longer than 255 characters'],
    ['DYNAMODB_ENDPOINT', 'localhost:8000', 'must use http or https, not localhost:'],
    ['DYNAMODB_ENDPOINT', 'nope', 'is not a valid absolute URL'],
    ['AWS_REGION', 'EU WEST', 'is not a region name (lowercase letters, digits and dashes)'],
    ['BATON_LEASE_MS', '10s', 'is not a whole number of milliseconds (digits only)'],
    ['BATON_LEASE_MS', '1e4', 'is not a whole number of milliseconds (digits only)'],
    ['BATON_LEASE_MS', '0', 'must be between 100 and 900000 milliseconds'],
    ['BATON_LEASE_MS', '99', 'must be between 100 and 900000 milliseconds'],
    ['BATON_LEASE_MS', '900001', 'must be between 100 and 900000 milliseconds'],
    ['BOT_REPLY_DEADLINE_MS', '0', 'must be between 1 and 900000 milliseconds'],
    ['BOT_REPLY_DEADLINE_MS', '-5', 'is not a whole number of milliseconds (digits only)'],
    ['BOT_REPLY_DEADLINE_MS', '900001', 'must be between 1 and 900000 milliseconds'],
  ])('%s = %j: %s', (variable, value, problem) => {
    const error = failure({ ...env, [variable]: value });
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toMatchObject({ variable, problem });
    expect(error.problems[0]?.example.length).toBeGreaterThan(0);
    expect(error.message).toContain(`${variable} ${problem}`);
  });

  it('collects several problems at once', () => {
    const error = failure({ ...env, CHAT_API_URL: 'nope', BATON_TABLE: undefined, BOT_REPLY_DEADLINE_MS: 'soon' });
    expect(error.problems.map((p) => p.variable)).toEqual(['CHAT_API_URL', 'BATON_TABLE', 'BOT_REPLY_DEADLINE_MS']);
    expect(error.message).toMatch(/3 problems/);
  });

  it('never echoes the secret or any value, even one pasted into the wrong variable', () => {
    const error = failure({ ...env, CHAT_API_URL: secret, BATON_LEASE_MS: secret, BATON_TABLE: `${secret} x`, AWS_REGION: secret.toUpperCase() });
    expect(error.problems).toHaveLength(4);
    const everything = `${error.message}\n${JSON.stringify(error.problems)}\n${String(error.stack)}`;
    expect(everything).not.toContain(secret);
    expect(everything).not.toContain(secret.toUpperCase());
  });

  it('never echoes URL credentials', () => {
    const error = failure({ ...env, DYNAMODB_ENDPOINT: 'http://admin:p4ssw0rd@localhost:8000' });
    expect(error.message).not.toContain('p4ssw0rd');
  });
});
