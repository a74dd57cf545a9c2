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

/**
 * Writes the shipped schema with WriteSchema, on a client of its own that is closed at once:
 * `@breakwater/authz` checks permissions and never writes, so this is the one call the gateway
 * makes to SpiceDB besides them. The token is cut out of whatever SpiceDB or gRPC says.
 */
export async function applySchema(target: SchemaTarget): Promise<void> {
  const schema = await readSchema();
  const client = v1.NewClient(
    target.token,
    target.endpoint,
    target.insecure ? v1.ClientSecurity.INSECURE_PLAINTEXT_CREDENTIALS : v1.ClientSecurity.SECURE,
  );
  try {
    await new Promise<void>((resolve, reject) => {
      client.writeSchema(
        v1.WriteSchemaRequest.create({ schema }),
        { deadline: Date.now() + target.timeoutMs },
        (error) => (error ? reject(error) : resolve()),
      );
    });
  } catch (error) {
    const said = String((error as { details?: unknown }).details ?? (error as Error).message);
    throw new GatewayStartError(
      'schema',
      `Could not write the gateway's schema to SpiceDB at ${target.endpoint}: ${said.split(target.token).join('[redacted]')}`,
    );
  } finally {
    client.close();
  }
}
