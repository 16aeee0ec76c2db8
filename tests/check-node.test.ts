import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkNodeVersion, enginesRange } from '../scripts/check-node.mjs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  engines: { node: string };
  scripts: Record<string, string>;
};

describe('the Node.js version check at npm start', () => {
  it.each(['20.19.0', '20.20.2', '22.12.0', '22.22.1', '24.0.0', '24.21.0'])(
    'Node %s starts',
    (version) => {
      expect(checkNodeVersion(version).level).toBe('ok');
    },
  );

  it.each(['18.20.8', '20.18.3', '21.7.3', '22.11.0', '23.11.1'])(
    'Node %s is refused with a message naming it and the versions that work',
    (version) => {
      const { level, message } = checkNodeVersion(version);
      expect(level).toBe('error');
      expect(message).toContain(`v${version}`);
      expect(message).toContain('20.19+, 22.12+, 24');
      expect(message).toContain('Install Node.js 24 LTS');
    },
  );

  it('a Node newer than the newest tested one starts, with a warning that it is untested', () => {
    const { level, message } = checkNodeVersion('26.10.0');
    expect(level).toBe('warn');
    expect(message).toMatch(/tested on Node\.js 20 and 24, not on v26\.10\.0/);
  });

  it('package.json engines.node lists exactly the versions the check accepts', () => {
    expect(pkg.engines.node).toBe(enginesRange());
  });

  it('npm start checks the version before the build, which would fail less clearly', () => {
    expect(pkg.scripts['prestart']).toMatch(
      /^node scripts\/check-node\.mjs && node scripts\/build-if-changed\.mjs$/,
    );
  });

  it('run as a script on the Node running these tests, it exits 0 and prints nothing', () => {
    const output = execFileSync(process.execPath, ['scripts/check-node.mjs'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(output).toBe('');
  });
});
