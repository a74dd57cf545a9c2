import type { BreakerHealth, HealthStatus } from '@breakwater/core';
import type { FileVerdict, QuarantineView } from '../../src/server/verdict.js';

/** The gateway's answers, as tests read them. */
export interface ErrorJson {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly permission?: string;
    readonly resource?: string;
  };
}

export interface ScanJson {
  readonly tenant: string;
  readonly files: readonly FileVerdict[];
}

export interface ClamavRestJson {
  readonly success: boolean;
  readonly data: {
    readonly result?: readonly { name: string; is_infected: boolean; viruses: string[] }[];
    readonly error?: string;
    readonly code?: string;
  };
}

export interface ReadyJson {
  readonly status: HealthStatus;
  readonly breakers: readonly BreakerHealth[];
}

export interface QuarantineListJson {
  readonly tenant: string;
  readonly items: readonly QuarantineView[];
}

export interface QuarantineItemJson {
  readonly tenant: string;
  readonly item: QuarantineView;
}

/** The body as JSON of the shape the test expects (the assertions check it). */
export async function jsonOf<T>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

export async function errorOf(response: Response): Promise<ErrorJson['error']> {
  return (await jsonOf<ErrorJson>(response)).error;
}

export async function filesOf(response: Response): Promise<readonly FileVerdict[]> {
  return (await jsonOf<ScanJson>(response)).files;
}
