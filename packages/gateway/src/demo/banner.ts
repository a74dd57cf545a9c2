import { eicar } from './samples.js';
import { DEMO_TENANT, type DemoUser } from './users.js';

export interface BannerInput {
  /** `http://127.0.0.1:8080`. */
  readonly url: string;
  readonly dashboardToken: string;
  readonly users: readonly DemoUser[];
  /** `yara (the shipped rules)`, `clamav (clamd at /run/clamav/clamd.ctl, through a fault proxy)`. */
  readonly engines: readonly string[];
  /** The line about clamd: where it was found, or where it was looked for in vain. */
  readonly clamd: string;
  /** `embedded, pid 4242, through a fault proxy at 127.0.0.1:40123`. */
  readonly spicedb: string;
  readonly quarantineDir: string;
  /** What the run will do: the traffic and fault lines, or that it only serves. */
  readonly plan: readonly string[];
}

function tokenOf(users: readonly DemoUser[], name: string): string {
  return users.find((user) => user.name === name)?.token.reveal() ?? '';
}

/** What the terminal shows once everything is up: where things are, who may do what, and how to try it. */
export function banner(input: BannerInput): string {
  const { url, users } = input;
  const scans = `${url}/v1/tenants/${DEMO_TENANT}/scans`;
  const quarantine = `${url}/v1/tenants/${DEMO_TENANT}/quarantine`;
  const bearer = (name: string): string => `-H 'Authorization: Bearer ${tokenOf(users, name)}'`;
  const width = Math.max(...users.map((user) => user.name.length));
  const roleWidth = Math.max(...users.map((user) => user.role.length));
  return [
    'Breakwater gateway demo',
    '',
    `  gateway     ${url}`,
    `  dashboard   ${url}/dashboard/   admin token (for its controls): ${input.dashboardToken}`,
    `  engines     ${input.engines.join(', ')}`,
    `  ${input.clamd}`,
    `  SpiceDB     ${input.spicedb}`,
    `  quarantine  ${input.quarantineDir} (a private temporary directory, removed at exit)`,
    '',
    `Users of tenant "${DEMO_TENANT}" (new tokens every run):`,
    ...users.map(
      (user) =>
        `  ${user.name.padEnd(width)}  ${user.role.padEnd(roleWidth)}  ${user.token.reveal()}  ${user.can}`,
    ),
    '',
    'Try it:',
    '  # upload a file as alice',
    `  curl -s ${bearer('alice')} -H 'X-Filename: hello.txt' --data-binary 'hello, world' ${scans}`,
    '  # the EICAR test file, as alice: quarantined (the demo runs the strict policy)',
    `  printf '%s' '${eicar().toString('latin1')}' | curl -s ${bearer('alice')} -H 'X-Filename: eicar.com' --data-binary @- ${scans}`,
    '  # the same upload as mallory: 403',
    `  curl -s ${bearer('mallory')} -H 'X-Filename: hello.txt' --data-binary 'hello' ${scans}`,
    '  # a page with script, as alice: quarantined too (the answer has its quarantineId)',
    `  curl -s ${bearer('alice')} -H 'X-Filename: page.html' --data-binary '<!doctype html><script>alert(1)</script>' ${scans}`,
    '  # the quarantine, as rita',
    `  curl -s ${bearer('rita')} ${quarantine}`,
    '  # release a quarantined file, as adam: the file comes back (rita may look, not release)',
    // The id is read from the list, so that the two lines paste as they are: a placeholder
    // such as <id> is a redirection to a shell.
    `  ID=$(curl -s ${bearer('adam')} ${quarantine} | grep -o '"id":"[^"]*"' | head -n 1 | cut -d '"' -f 4)`,
    `  curl -s -X POST ${bearer('adam')} "${quarantine}/$ID/release"`,
    "  # clamav-rest-api's endpoint, as alice",
    `  curl -s ${bearer('alice')} -F FILES=@/etc/hostname ${url}/api/v1/scan`,
    '',
    ...input.plan,
    '',
  ].join('\n');
}
