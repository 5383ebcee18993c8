// What the tests need beyond npm packages (docs/contract.md §15), installed when missing so `npm test` passes on a
// fresh machine: Debian's chromium (the dashboard's browser tests) and PostgreSQL's binaries (a throwaway cluster
// made with initdb by the instrumentation tests). As root it runs apt-get; otherwise it names the command to run
// and exits 1 — a test left to skip or fail on a missing browser would hide the reason.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

/** Debian package → how to tell it is there. */
const NEEDS = [
  { pkg: 'chromium', present: () => onPath('chromium') || existsSync('/usr/bin/chromium') },
  { pkg: 'postgresql', present: () => onPath('initdb') || postgresBinaries() },
];

function onPath(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function postgresBinaries() {
  const root = '/usr/lib/postgresql';
  return existsSync(root) && readdirSync(root).some((v) => existsSync(`${root}/${v}/bin/initdb`));
}

const missing = NEEDS.filter((n) => !n.present()).map((n) => n.pkg);
if (missing.length > 0) {
  const command = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) {
    process.stderr.write(`costtrace tests need Debian's ${missing.join(', ')}: run  sudo sh -c '${command}'\n`);
    process.exit(1);
  }
  process.stdout.write(`== installing ${missing.join(', ')} (apt-get)\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
  } catch {
    process.stderr.write(`costtrace tests: "${command}" failed; install ${missing.join(', ')} and run again\n`);
    process.exit(1);
  }
  const still = NEEDS.filter((n) => missing.includes(n.pkg) && !n.present()).map((n) => n.pkg);
  if (still.length > 0) {
    process.stderr.write(`costtrace tests: ${still.join(', ')} still missing after apt-get install\n`);
    process.exit(1);
  }
}
