import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { v1 } from '@authzed/authzed-node';
import { GatewayStartError } from './start-error.js';

// From src/server/ (sources) and from dist/ (the build) alike: the package's own schema/.
const CANDIDATES = ['../../schema/schema.zed', '../schema/schema.zed'];

/** The SpiceDB schema the gateway ships: `tenant` (member, reviewer, admin; scan, review, manage). */
export function schemaPath(): string {
  for (const candidate of CANDIDATES) {
    const path = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new GatewayStartError(
    'schema',
    "The gateway's SpiceDB schema (schema/schema.zed) is missing from its package: reinstall @breakwater/gateway",
  );
}

export async function readSchema(): Promise<string> {
  return readFile(schemaPath(), 'utf8');
}

export interface SchemaTarget {
  readonly endpoint: string;
  readonly token: string;
  readonly insecure: boolean;
  readonly timeoutMs: number;
}

// A schema's top-level names: `definition myapp/invoice {`, `caveat on_weekdays(`.
const TOP_LEVEL = /^\s*(definition|caveat)\s+([a-z][a-z0-9_/]*)/gm;
const GRPC_NOT_FOUND = 5;

/**
 * Writes the shipped schema with WriteSchema, on a client of its own that is closed at once:
 * `@breakwater/authz` checks permissions and never writes, so this (and the ReadSchema before
 * it) are the only calls the gateway makes to SpiceDB besides them. WriteSchema replaces the
 * whole schema, so a SpiceDB that holds definitions or caveats the gateway's schema lacks (an
 * application's own) is refused rather than written over: merging two schemas that may both
 * define `user` is for their owner to do. The token is cut out of whatever SpiceDB or gRPC says.
 */
export async function applySchema(target: SchemaTarget): Promise<void> {
  const schema = await readSchema();
  const client = v1.NewClient(
    target.token,
    target.endpoint,
    target.insecure ? v1.ClientSecurity.INSECURE_PLAINTEXT_CREDENTIALS : v1.ClientSecurity.SECURE,
  );
  const redacted = (error: unknown) =>
    String((error as { details?: unknown }).details ?? (error as Error).message)
      .split(target.token)
      .join('[redacted]');
  try {
    const current = await new Promise<string>((resolve, reject) => {
      client.readSchema(
        v1.ReadSchemaRequest.create({}),
        { deadline: Date.now() + target.timeoutMs },
        (error, response) => {
          // No schema yet: nothing to lose.
          if ((error as { code?: unknown } | null)?.code === GRPC_NOT_FOUND) resolve('');
          else if (error || response === undefined) reject(error);
          else resolve(response.schemaText);
        },
      );
    }).catch((error: unknown) => {
      throw new GatewayStartError(
        'schema',
        `Could not read SpiceDB's schema at ${target.endpoint} before writing the gateway's: ${redacted(error)}`,
      );
    });
    const ours = new Set(topLevelNames(schema));
    const lost = topLevelNames(current).filter((name) => !ours.has(name));
    if (lost.length > 0) {
      throw new GatewayStartError(
        'schema',
        `SpiceDB at ${target.endpoint} holds definitions the gateway's schema does not (${lost.join(', ')}): writing schema/schema.zed would delete them. Add the gateway's definitions to your schema and write it yourself (zed schema write), then start with spicedb.applySchema: false`,
      );
    }
    await new Promise<void>((resolve, reject) => {
      client.writeSchema(
        v1.WriteSchemaRequest.create({ schema }),
        { deadline: Date.now() + target.timeoutMs },
        (error) => (error ? reject(error) : resolve()),
      );
    }).catch((error: unknown) => {
      throw new GatewayStartError(
        'schema',
        `Could not write the gateway's schema to SpiceDB at ${target.endpoint}: ${redacted(error)}`,
      );
    });
  } finally {
    client.close();
  }
}

/** `definition user`, `caveat on_weekdays`: what a schema declares, comments left out. */
function topLevelNames(schema: string): string[] {
  const code = schema.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  return [...code.matchAll(TOP_LEVEL)].map((match) => `${match[1]} ${match[2]}`);
}
