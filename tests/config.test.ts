import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/core/config.js';

const SECRET = 'a-session-secret-of-at-least-32-chars!';

/** The problems loadConfig reports for this environment (fails the test if it accepts it). */
function problemsWith(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('configuration from the environment', () => {
  it('with nothing set, the app starts in development on 127.0.0.1:3000 with the embedded database in ./data', () => {
    expect(loadConfig({})).toMatchObject({
      env: 'development',
      isProduction: false,
      port: 3000,
      host: '127.0.0.1',
      databaseUrl: undefined,
      dataDir: './data',
      sessionSecret: undefined,
      trustProxy: false,
      logLevel: 'info',
      bcryptCost: 12,
      poolMax: 10,
      redisUrl: undefined,
      socketAdapter: 'none',
      socketChannel: 'leos-chat',
      rateLimit: true,
      searchIndexMergeMs: 250,
    });
  });

  it('reads every variable it knows', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      PORT: '10000',
      HOST: '::',
      DATABASE_URL: 'postgresql://chat:pw@db.internal:5432/chat',
      DATA_DIR: '/var/lib/leos-chat',
      SESSION_SECRET: SECRET,
      TRUST_PROXY: '1',
      LOG_LEVEL: 'warn',
      BCRYPT_COST: '10',
      PG_POOL_MAX: '20',
      REDIS_URL: 'rediss://cache:6380',
      SOCKET_CHANNEL: 'chat_prod-2',
      RATE_LIMIT: 'no',
      SEARCH_INDEX_MERGE_MS: '0',
    });
    expect(config).toMatchObject({
      env: 'production',
      isProduction: true,
      port: 10000,
      host: '::',
      databaseUrl: 'postgresql://chat:pw@db.internal:5432/chat',
      dataDir: '/var/lib/leos-chat',
      sessionSecret: SECRET,
      trustProxy: 1,
      logLevel: 'warn',
      bcryptCost: 10,
      poolMax: 20,
      redisUrl: 'rediss://cache:6380',
      socketAdapter: 'redis',
      socketChannel: 'chat_prod-2',
      rateLimit: false,
      searchIndexMergeMs: 0,
    });
  });

  it('production listens on every interface unless HOST says otherwise', () => {
    const prod = { NODE_ENV: 'production', SESSION_SECRET: SECRET, DATABASE_URL: 'postgres://x/y' };
    expect(loadConfig(prod).host).toBe('0.0.0.0');
    expect(loadConfig({ ...prod, HOST: '127.0.0.1' }).host).toBe('127.0.0.1');
  });

  it('TRUST_PROXY accepts false or a number of proxy hops, not "true" (which trusts any client)', () => {
    expect(() => loadConfig({ TRUST_PROXY: 'true' })).toThrow(/TRUST_PROXY/);
    expect(loadConfig({ TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
  });

  it('UPLOAD_MB_PER_SECOND is 40 unless set; 0 turns the pace off', () => {
    expect(loadConfig({}).uploadMbPerSecond).toBe(40);
    expect(loadConfig({ UPLOAD_MB_PER_SECOND: '0' }).uploadMbPerSecond).toBe(0);
    expect(loadConfig({ UPLOAD_MB_PER_SECOND: '2.5' }).uploadMbPerSecond).toBe(2.5);
  });

  it('an explicit SOCKET_ADAPTER wins over the REDIS_URL default', () => {
    expect(loadConfig({ REDIS_URL: 'redis://localhost:6379' }).socketAdapter).toBe('redis');
    expect(
      loadConfig({ REDIS_URL: 'redis://localhost:6379', SOCKET_ADAPTER: 'postgres' }).socketAdapter,
    ).toBe('postgres');
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['DATABASE_URL', 'mysql://root@localhost/chat'],
    ['DATABASE_URL', 'localhost:5432/chat'],
    ['SESSION_SECRET', 'too-short'],
    ['BCRYPT_COST', '3'],
    ['BCRYPT_COST', '16'],
    ['BCRYPT_COST', 'high'],
    ['TRUST_PROXY', 'yes please'],
    ['TRUST_PROXY', '10.0.0.0/8'],
    ['LOG_LEVEL', 'loud'],
    ['LOG_LEVEL', 'INFO'],
    ['NODE_ENV', 'staging'],
    ['PG_POOL_MAX', '0'],
    ['REDIS_URL', 'http://cache:6379'],
    ['SOCKET_ADAPTER', 'kafka'],
    ['SOCKET_CHANNEL', 'Chat Room'],
    ['RATE_LIMIT', 'maybe'],
    ['SEARCH_INDEX_MERGE_MS', '-5'],
    ['SEARCH_INDEX_MERGE_MS', 'often'],
    ['UPLOAD_MB_PER_SECOND', '0.04'],
    ['UPLOAD_MB_PER_SECOND', '-1'],
    ['UPLOAD_MB_PER_SECOND', 'fast'],
  ])('%s=%j is refused with a message that names the variable', (name, value) => {
    const problems = problemsWith({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${name}: \\S`));
  });

  it('the error message lists every bad variable at once, one per line', () => {
    try {
      loadConfig({ PORT: 'abc', LOG_LEVEL: 'loud', BCRYPT_COST: '99' });
      expect.unreachable('loadConfig accepted bad values');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const lines = (err as Error).message.split('\n');
      expect(lines[0]).toBe('Invalid environment:');
      expect(lines.slice(1).map((l) => l.trim().split(':')[0])).toEqual([
        '- PORT',
        '- LOG_LEVEL',
        '- BCRYPT_COST',
      ]);
    }
  });

  it('production requires SESSION_SECRET and DATABASE_URL, and names both when both are missing', () => {
    const problems = problemsWith({ NODE_ENV: 'production' });
    expect(problems).toEqual([
      'SESSION_SECRET: is required in production',
      'DATABASE_URL: is required in production',
    ]);
    expect(problemsWith({ NODE_ENV: 'production', SESSION_SECRET: SECRET })).toEqual([
      'DATABASE_URL: is required in production',
    ]);
    expect(problemsWith({ NODE_ENV: 'production', DATABASE_URL: 'postgres://db/chat' })).toEqual([
      'SESSION_SECRET: is required in production',
    ]);
  });

  it('development and test run without SESSION_SECRET or DATABASE_URL', () => {
    expect(loadConfig({ NODE_ENV: 'development' }).sessionSecret).toBeUndefined();
    expect(loadConfig({ NODE_ENV: 'test' }).databaseUrl).toBeUndefined();
  });

  it('SOCKET_ADAPTER=redis without REDIS_URL names REDIS_URL', () => {
    expect(problemsWith({ SOCKET_ADAPTER: 'redis' })).toEqual([
      'REDIS_URL: is required when SOCKET_ADAPTER=redis',
    ]);
  });

  it('an empty variable counts as unset, as in `PORT= npm start`', () => {
    const config = loadConfig({
      PORT: '',
      HOST: '',
      DATABASE_URL: '',
      DATA_DIR: '',
      SESSION_SECRET: '',
      TRUST_PROXY: '',
      LOG_LEVEL: '',
      BCRYPT_COST: '',
      NODE_ENV: '',
      REDIS_URL: '',
      SOCKET_ADAPTER: '',
      SOCKET_CHANNEL: '',
      RATE_LIMIT: '',
    });
    expect(config).toEqual(loadConfig({}));
    // Still "missing" in production, not "too short" or "not a URL".
    expect(problemsWith({ NODE_ENV: 'production', SESSION_SECRET: '', DATABASE_URL: '' })).toEqual([
      'SESSION_SECRET: is required in production',
      'DATABASE_URL: is required in production',
    ]);
  });

  it('ignores variables it does not know, such as PATH', () => {
    expect(loadConfig({ PATH: '/usr/bin', HOME: '/root', npm_lifecycle_event: 'start' })).toEqual(
      loadConfig({}),
    );
  });
});
