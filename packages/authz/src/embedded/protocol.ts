import type { EmbeddedStartPhase } from './errors.js';
import type { RelationshipData } from './relationship.js';

/**
 * The messages between startEmbeddedSpiceDb and its server process, over the IPC channel (never
 * argv or the environment, which other users of the machine can read: the token is in `start`).
 */
export type ToServer =
  | {
      readonly type: 'start';
      readonly schema: string | undefined;
      readonly relationships: readonly RelationshipData[];
      readonly host: string;
      readonly port: number;
      readonly token: string;
    }
  | { readonly type: 'stop' };

export type FromServer =
  | { readonly type: 'ready'; readonly port: number }
  | { readonly type: 'failed'; readonly phase: EmbeddedStartPhase; readonly message: string };
