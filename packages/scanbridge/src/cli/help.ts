/** The usage lines, printed alone to stderr when scanbridge is run with no command. */
export const USAGE = `Usage:
  scanbridge scan <files or directories...> [options]
  scanbridge health [engine options] [--json]
  scanbridge --help | --version
`;

const ENGINE_OPTIONS = `Engine options (without any, the first local clamd that answers is used:
$SCANBRIDGE_CLAMAV, or /var/run/clamav/clamd.ctl and the other standard places, then
127.0.0.1:3310):
  --clamav <where>              clamd at host[:port] (port 3310 when left out; [::1]:3310 for
                                IPv6) or a unix socket (anything with a "/": ./clamd.sock)
  --virustotal-key-env <VAR>    use VirusTotal, with the API key read from $VAR
  --virustotal-url <url>        VirusTotal's API root
                                (default https://www.virustotal.com/api/v3)
  --virustotal-upload           upload files VirusTotal does not know (they become visible to
                                its subscribers); without it they are reported unknown
  --timeout <ms>                how long an engine has to answer a health check (in health,
                                and in the search for a local clamd) and a --clamav host to
                                resolve (default 5000)
`;

const SCAN_OPTIONS = `Scan options:
  --policy <policy.json>        the policy, a regular file of at most 1 MiB (default: block
                                threats, review anything unsure)
  --json                        one JSON document on stdout instead of the table
  --fail-open                   when an engine is down (timeouts, connection failures, 5xx, an
                                open breaker), give the policy a "fail-open" stand-in verdict
                                instead of failing the run; other errors (a rejected key, rate
                                limits, unreadable answers) still fail it
  --concurrency <n>             files scanned at once (default 4)
  --max-file-size <size>        larger files are not scanned and fail with file_too_large:
                                bytes, or with K, M or G (1024-based): 25M, 1G (default 100M,
                                clamd's own StreamMaxLength; a clamd set lower still refuses)
`;

const SCAN_EXIT = `Exit status: 0 every file scanned and allowed; 1 any file the policy blocks, quarantines (no
file is moved) or sends to review, or not checked (a linked directory, a special file, every
engine failed open); 2 usage or engine errors, a file that could not be read, nothing scanned
at all, or a report that could not be written (an error outranks a block: the run is
incomplete). The last line of the table says why a run did not exit 0.
`;

export const HELP = `${USAGE}
Scans files with ClamAV (clamd) and/or VirusTotal, each engine behind its own circuit
breaker, and applies a policy to every verdict. "scanbridge <command> --help" shows one
command's options.

${ENGINE_OPTIONS}
${SCAN_OPTIONS}
${SCAN_EXIT}`;

export const SCAN_HELP = `Usage: scanbridge scan <files or directories...> [options]

Scans every file (directories recursively, in sorted order) and prints a verdict table with
the policy's decision for each file.

${ENGINE_OPTIONS}
${SCAN_OPTIONS}
${SCAN_EXIT}`;

export const HEALTH_HELP = `Usage: scanbridge health [engine options] [--json]

Asks each engine whether it is up, through a circuit breaker like the one scan uses (up to
3 tries, within --timeout), and prints what it said and the breaker's state.

${ENGINE_OPTIONS}  --json                        one JSON document on stdout instead of the table

Exit status: 0 when every engine answered, 2 otherwise.
`;
