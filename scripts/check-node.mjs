// Runs first in `npm start`, before the build: on a Node.js the app does not support, the
// build or the start would otherwise fail later with an error that does not say why.
// Plain syntax on purpose, so that an old Node can still parse it and print the message.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Oldest supported release of each supported major (the floor is vite's: require(esm)).
// package.json's engines.node says the same; tests/check-node.test.ts keeps the two in step.
export const SUPPORTED = [
  { major: 20, minor: 19 },
  { major: 22, minor: 12 },
  { major: 24, minor: 0 },
];
export const TESTED = [20, 24];

export function enginesRange() {
  return SUPPORTED.map((s) => '^' + s.major + '.' + s.minor + '.0').join(' || ');
}

function supportedList() {
  return SUPPORTED.map((s) => (s.minor ? s.major + '.' + s.minor + '+' : String(s.major))).join(
    ', ',
  );
}

// Returns { level: 'ok' | 'warn' | 'error', message } for a version such as '24.21.0'.
export function checkNodeVersion(version) {
  const parts = String(version).replace(/^v/, '').split('.');
  const major = Number(parts[0]);
  const minor = Number(parts[1]);
  const newest = SUPPORTED[SUPPORTED.length - 1];
  const supported = SUPPORTED.some((s) => s.major === major && minor >= s.minor);
  const tested = TESTED.indexOf(major) !== -1;
  if (supported) {
    const note = tested ? '' : ' (supported, but the tests run on ' + TESTED.join(' and ') + ')';
    return { level: 'ok', message: 'Node.js v' + version + note };
  }
  // A newer Node is far more likely to work than not; refusing it would block people on the
  // next LTS for no reason, so it only gets a warning.
  if (major > newest.major) {
    return {
      level: 'warn',
      message:
        "Warning: Leo's Chat room is tested on Node.js " +
        TESTED.join(' and ') +
        ', not on v' +
        version +
        '. Starting anyway; if something fails, try Node.js ' +
        newest.major +
        ' LTS.',
    };
  }
  return {
    level: 'error',
    message:
      "Leo's Chat room needs Node.js " +
      supportedList() +
      '; this is v' +
      version +
      '. Install Node.js ' +
      newest.major +
      ' LTS (https://nodejs.org/) and run `npm install && npm start` again.',
  };
}

// Run as a script (not imported by the tests); realpath, since the checkout may sit behind a symlink.
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const result = checkNodeVersion(process.versions.node);
  if (result.level === 'error') {
    console.error(result.message);
    process.exit(1);
  }
  if (result.level === 'warn') console.error(result.message);
}
