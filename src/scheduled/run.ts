import type { Db } from '../db/client';
import { CLEANUP_CHUNK_ROWS, CLEANUP_CHUNKS_PER_STEP } from '../settings/retention';
import type { CleanupStep } from './step';
import { CLEANUP_STEPS } from './steps';

export interface StepReport {
  step: string;
  rows: number;
  chunks: number;
  /** Wall time of the step; in Workers it advances across D1 round trips. */
  elapsedMs: number;
  /** The error's class, when the step failed (the other steps still ran). */
  failed?: string;
}

export interface CleanupOptions {
  steps?: readonly CleanupStep[];
  chunkRows?: number;
  chunksPerStep?: number;
}

/**
 * Runs each step in bounded chunks: at most `chunksPerStep` statements of at
 * most `chunkRows` rows, stopping as soon as a chunk comes back short (no
 * dead rows left). What is left over goes in the next run. A failing step is
 * reported and the rest still run; `errors` lets the caller fail the run.
 */
export async function runCleanup(db: Db, now: number, options: CleanupOptions = {}): Promise<{ reports: StepReport[]; errors: unknown[] }> {
  const { steps = CLEANUP_STEPS, chunkRows = CLEANUP_CHUNK_ROWS, chunksPerStep = CLEANUP_CHUNKS_PER_STEP } = options;
  const reports: StepReport[] = [];
  const errors: unknown[] = [];
  for (const step of steps) {
    const started = Date.now();
    const report: StepReport = { step: step.name, rows: 0, chunks: 0, elapsedMs: 0 };
    try {
      while (report.chunks < chunksPerStep) {
        const changed = await step.chunk(db, now, chunkRows);
        report.chunks += 1;
        report.rows += changed;
        if (changed < chunkRows) break;
      }
    } catch (error) {
      report.failed = error instanceof Error ? error.name : typeof error;
      errors.push(error);
    }
    report.elapsedMs = Date.now() - started;
    reports.push(report);
  }
  return { reports, errors };
}
