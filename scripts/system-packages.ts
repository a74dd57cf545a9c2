// Installs the Debian packages the integration tests run for real (clamd, a Prometheus server,
// a browser for the dashboard: no mocks of them),
// when they are missing and we may; otherwise stops with the exact command to run.
import { execFileSync, spawnSync } from 'node:child_process';

/** The command each package provides, and so proves it is installed. */
const NEEDED: ReadonlyArray<{ command: string; pkg: string }> = [
  { command: 'clamd', pkg: 'clamav-daemon' },
  { command: 'prometheus', pkg: 'prometheus' },
  { command: 'chromium', pkg: 'chromium' },
];

function installed(command: string): boolean {
  return (
    spawnSync('sh', ['-c', `command -v ${command} || test -x /usr/sbin/${command}`], {
      stdio: 'ignore',
    }).status === 0
  );
}

const missing = NEEDED.filter(({ command }) => !installed(command)).map(({ pkg }) => pkg);
if (missing.length > 0) {
  const install = `apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (process.getuid?.() !== 0 || !installed('apt-get')) {
    console.error(`The tests need Debian packages that are not installed: ${missing.join(', ')}.`);
    console.error(`Run: sudo apt-get update && sudo ${install}`);
    process.exit(1);
  }
  console.log(`Installing ${missing.join(', ')} for the integration tests ...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('sh', ['-c', `${install} -qq`], { stdio: 'inherit', env });
}
