/** A mocked server for the model and widget tests: every route a vi.fn. */
import { vi } from 'vitest';

import type {
  ChangesReply,
  PanelApi,
  Pipeline,
  RunRow,
  RunView,
  StepDetail
} from '../src/types';

export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export function row(id: string, status: string, experiment = 'exp'): RunRow {
  return {
    id,
    experiment,
    status,
    start_time: 1700000000,
    end_time: null,
    duration: 1.5,
    progress: { total: 2, ran: 1, reused: 0, failed: 0 },
    started_by: 'cli',
    display_name: null
  };
}

export function view(id: string, status: string, stepStatus = status): RunView {
  return {
    id,
    experiment: 'exp',
    status,
    steps: [{ name: 'prep', step_run_id: `${id}_prep`, status: stepStatus }],
    graph: { nodes: [{ name: 'prep', status: stepStatus }], edges: [] }
  };
}

export function step(status: string, stdout: string): StepDetail {
  return {
    name: 'prep',
    step_run_id: 'r1_prep',
    status,
    stdout,
    stderr: '',
    metrics: {},
    properties: {},
    reused: false,
    reason: null,
    outputs: [],
    notebook: null
  };
}

export const pipeline: Pipeline = {
  id: 'p1',
  name: 'train',
  version: '1',
  description: null,
  status: 'Active',
  endpoint: 'http://localhost/pipelines/p1',
  parameters: [{ name: 'alpha', default: 0.5, type: 'float' }]
};

/** A mocked server: every route a vi.fn; `/changes` answers only when a test says so. */
export function makeApi() {
  const polls: Deferred<ChangesReply>[] = [];
  const state = { runs: [row('r1', 'Running')], cursor: 5 };
  const api = {
    getWorkspace: vi.fn(async (cwd: string) => ({
      name: 'ws',
      path: '/root/ws',
      cwd
    })),
    listExperiments: vi.fn(async () => ({
      experiments: [{ name: 'exp', runs: 1, last_start: 1700000000 }]
    })),
    listRuns: vi.fn(async () => ({ cursor: state.cursor, runs: state.runs })),
    waitChanges: vi.fn(() => {
      const next = deferred<ChangesReply>();
      polls.push(next);
      return next.promise;
    }),
    getRun: vi.fn(async (_ws: string, id: string) => view(id, 'Running')),
    getStep: vi.fn(async () => step('Finished', 'done\n')),
    cancelRun: vi.fn(async (_ws: string, id: string) => ({
      id,
      status: 'Canceled'
    })),
    resumeRun: vi.fn(async () => ({ id: 'r2' })),
    snapshot: vi.fn(async () => ({
      path: 'snap',
      absolute: '/root/snap',
      files: ['train.py']
    })),
    listPipelines: vi.fn(async () => ({ pipelines: [pipeline] })),
    setPipelineEnabled: vi.fn(
      async (_ws: string, id: string, enabled: boolean) => ({
        ...pipeline,
        id,
        status: enabled ? 'Active' : 'Disabled'
      })
    ),
    submitPipeline: vi.fn(async () => ({ Id: 'r9' }))
  } satisfies PanelApi;
  return { api, polls, state };
}
