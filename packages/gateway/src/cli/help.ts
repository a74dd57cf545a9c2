export const HELP = `breakwater-gateway: an upload-scanning service. Every request is authorized with SpiceDB, every
file scanned by malware engines each behind a circuit breaker, then a policy decides.

Usage:
  breakwater-gateway [serve] [--config <file>] [--host <h>] [--port <n>] [--spicedb <host:port>]
  breakwater-gateway demo [--host <h>] [--port <n>] [--no-traffic] [--duration <s>]
  breakwater-gateway hash-token  < token-file
  breakwater-gateway --help | --version

Commands:
  serve        Run the gateway (the default). Without --config every option has its default:
               127.0.0.1:8080, the shipped YARA rules, SpiceDB at 127.0.0.1:50051.
  demo         The gateway live with everything it needs on this machine: an embedded SpiceDB
               with a demo tenant and users, YARA (and clamd when one answers), a traffic
               generator and fault phases. What npm start runs.
  hash-token   Read an API token from stdin and print its sha256, for "tokens" in the
               configuration. Never pass a token as an argument: it would show in ps.

Options of serve:
  --config <file>       The JSON configuration; relative paths in it resolve against its directory.
  --host <h>            Listen on this address instead of the file's "host" (default 127.0.0.1).
  --port <n>            Listen on this port instead of the file's "port" (default 8080; 0 picks one).
  --spicedb <host:port> SpiceDB's gRPC address instead of the file's "spicedb.endpoint".

Options of demo:
  --host <h>            Default 127.0.0.1.
  --port <n>            Default 8080.
  --no-traffic          Serve only: no traffic generator and no fault phases.
  --duration <s>        Stop by itself after this many seconds and print the summary table.

Secrets never go in the file or on the command line: the file names the environment variables
that hold them (spicedb.tokenEnv, default SPICEDB_TOKEN; engines[].apiKeyEnv; dashboard.tokenEnv).

Exit status: 0 stopped cleanly, 1 could not start or failed, 2 usage error, 78 configuration error,
130 a second SIGINT/SIGTERM while stopping.
`;
