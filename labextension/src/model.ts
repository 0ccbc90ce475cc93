/**
 * The panel's state: the workspace, its runs (filtered), the open run and
 * step, published pipelines and the last error. It follows the workspace's
 * run events by long-polling `/changes` and refetches what changed; widgets
 * listen to `changed` and render.
 */
import type { IDisposable } from '@lumino/disposable';
import { Signal } from '@lumino/signaling';

import {
  isTerminal,
  type DataPathAssignment,
  type Experiment,
  type PanelApi,
  type Pipeline,
  type RunRow,
  type RunView,
  type SnapshotReply,
  type StepDetail,
  type SubmitBody,
  type WorkspaceInfo
} from './types';

export type Tab = 'runs' | 'pipelines';

export interface IPanelModelOptions {
  /** The server routes (request.ts `serverApi`; tests pass mocks). */
  api: PanelApi;
  /** Seconds the server may hold a `/changes` request (at most 25). */
  pollTimeout?: number;
  /** Milliseconds to wait after a failed poll before the next one. */
  retryDelay?: number;
  /** Milliseconds between two polls that saw no change (guards a server answering at once). */
  minPollInterval?: number;
  /** Milliseconds between refreshes of a running step's log tail. */
  followInterval?: number;
  /** Log lines to fetch for a step. */
  tailLines?: number;
}

export interface IFilters {
  status: string;
  experiment: string;
}

const sleep = (ms: number): Promise<void> =>
  new Promise(resolve => setTimeout(resolve, ms));

function messageOf(error: unknown): string {
  if (error instanceof Error) {
    return error.message;
  }
  return String(error);
}

export class PanelModel implements IDisposable {
  constructor(options: IPanelModelOptions) {
    this._api = options.api;
    this._pollTimeout = Math.min(options.pollTimeout ?? 25, 25);
    this._retryDelay = options.retryDelay ?? 3000;
    this._minPollInterval = options.minPollInterval ?? 1000;
    this._followInterval = options.followInterval ?? 2000;
    this._tailLines = options.tailLines ?? 200;
  }

  /** Emitted after any state change. */
  get changed(): Signal<this, void> {
    return this._changed;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }
  get workspace(): WorkspaceInfo | null {
    return this._workspace;
  }
  get error(): string | null {
    return this._error;
  }
  get notice(): string | null {
    return this._notice;
  }
  get tab(): Tab {
    return this._tab;
  }
  get experiments(): readonly Experiment[] {
    return this._experiments;
  }
  get runs(): readonly RunRow[] {
    return this._runs;
  }
  get cursor(): number {
    return this._cursor;
  }
  get filters(): IFilters {
    return { ...this._filters };
  }
  get runId(): string | null {
    return this._runId;
  }
  get run(): RunView | null {
    return this._run;
  }
  get stepName(): string | null {
    return this._stepName;
  }
  get step(): StepDetail | null {
    return this._step;
  }
  get pipelines(): readonly Pipeline[] {
    return this._pipelines;
  }
  get formPipeline(): Pipeline | null {
    return this._pipelines.find(p => p.id === this._formPipelineId) ?? null;
  }
  get snapshot(): SnapshotReply | null {
    return this._snapshot;
  }

  /** Find the workspace of `cwd` (relative to the server root, or a workspace folder) and follow it. */
  async openWorkspace(cwd: string): Promise<boolean> {
    this._error = null;
    try {
      const info = await this._api.getWorkspace(cwd);
      this._workspace = info;
      this._generation++;
      this._cursor = 0;
      this._runs = [];
      this._experiments = [];
      this._pipelines = [];
      this._filters = { status: '', experiment: '' };
      this._clearRun();
      await this.refresh();
      void this._poll(this._generation);
      return true;
    } catch (error) {
      this._setError(error);
      return false;
    }
  }

  /** Refetch the runs list, experiments, the open run and step, and (on that tab) the pipelines. */
  async refresh(): Promise<void> {
    const ws = this._workspace?.path;
    if (!ws) {
      return;
    }
    await this._guard(async () => {
      await this._refetch(ws);
      if (this._tab === 'pipelines' || this._pipelines.length) {
        await this._fetchPipelines(ws);
      }
    });
  }

  async setFilters(filters: Partial<IFilters>): Promise<void> {
    this._filters = { ...this._filters, ...filters };
    this._emit();
    const ws = this._workspace?.path;
    if (ws) {
      await this._guard(() => this._fetchRuns(ws));
    }
  }

  setTab(tab: Tab): void {
    if (tab === this._tab) {
      return;
    }
    this._tab = tab;
    this._emit();
    const ws = this._workspace?.path;
    if (tab === 'pipelines' && ws) {
      void this._guard(() => this._fetchPipelines(ws));
    }
  }

  /** Show a run's detail (its DAG and steps). */
  async openRun(runId: string): Promise<void> {
    const ws = this._workspace?.path;
    if (!ws) {
      this._setError(new Error('Choose a workspace folder first.'));
      return;
    }
    this._tab = 'runs';
    if (runId !== this._runId) {
      this._clearRun();
      this._runId = runId;
    }
    this._emit();
    await this._guard(() => this._fetchRun(ws));
    if (this._runId === runId && !this._run && this._error) {
      // no such run (or it could not be read): back to the list, the error stays shown
      this._clearRun();
      this._emit();
    }
  }

  /** Back to the runs list. */
  closeRun(): void {
    this._clearRun();
    this._emit();
  }

  /** Show one step of the open run: its log tails (following while it runs), metrics, outputs. */
  async selectStep(name: string): Promise<void> {
    const ws = this._workspace?.path;
    if (!ws || !this._runId) {
      return;
    }
    if (name !== this._stepName) {
      this._stepName = name;
      this._step = null;
      this._followGeneration++;
      this._emit();
    }
    await this._guard(() => this._fetchStep(ws));
    void this._follow(this._followGeneration);
  }

  async cancelRun(): Promise<void> {
    const ws = this._workspace?.path;
    const runId = this._runId;
    if (!ws || !runId) {
      return;
    }
    await this._guard(async () => {
      const reply = await this._api.cancelRun(ws, runId);
      // the runner stops the steps within seconds: say so, not the status of this instant
      this._notice = isTerminal(reply.status)
        ? `Run ${reply.id}: ${reply.status}`
        : `Cancel requested for run ${reply.id}`;
      await this._refetch(ws);
    });
  }

  /** Resume the open (failed or canceled) run and show the resumed run. */
  async resumeRun(): Promise<string | null> {
    const ws = this._workspace?.path;
    const runId = this._runId;
    if (!ws || !runId) {
      return null;
    }
    let resumed: string | null = null;
    await this._guard(async () => {
      const reply = await this._api.resumeRun(ws, runId);
      resumed = reply.id;
      this._notice = `Resumed as run ${reply.id}`;
    });
    if (resumed) {
      await this.openRun(resumed);
      await this._guard(() => this._fetchRuns(ws));
    }
    return resumed;
  }

  /** Materialize the code snapshot of the selected step (or the first step). */
  async openSnapshot(): Promise<SnapshotReply | null> {
    const ws = this._workspace?.path;
    const runId = this._runId;
    if (!ws || !runId) {
      return null;
    }
    const step = this._stepName ?? this._run?.steps[0]?.name ?? null;
    let reply: SnapshotReply | null = null;
    await this._guard(async () => {
      reply = await this._api.snapshot(ws, runId, step);
      this._snapshot = reply;
    });
    return reply;
  }

  /** Enable (Active) or disable a published pipeline. */
  async setPipelineEnabled(id: string, enabled: boolean): Promise<void> {
    const ws = this._workspace?.path;
    if (!ws) {
      return;
    }
    await this._guard(async () => {
      const updated = await this._api.setPipelineEnabled(ws, id, enabled);
      if (updated && updated.id === id) {
        this._pipelines = this._pipelines.map(p => (p.id === id ? updated : p));
      } else {
        await this._fetchPipelines(ws);
      }
    });
  }

  /** Open (or with null close) the Run form of a published pipeline. */
  openRunForm(id: string | null): void {
    this._formPipelineId = id;
    this._emit();
  }

  /** Submit a published pipeline and jump to its new run; answers the run id (null on error). */
  async submitRun(
    id: string,
    experimentName: string,
    parameters: Record<string, unknown>,
    dataPaths: Record<string, DataPathAssignment> = {}
  ): Promise<string | null> {
    const ws = this._workspace?.path;
    if (!ws) {
      return null;
    }
    let runId: string | null = null;
    await this._guard(async () => {
      const body: SubmitBody = {
        ExperimentName: experimentName,
        ParameterAssignments: parameters
      };
      if (Object.keys(dataPaths).length) {
        body.DataPathAssignments = dataPaths;
      }
      const reply = await this._api.submitPipeline(ws, id, body);
      runId = reply.Id;
    });
    if (runId) {
      this._formPipelineId = null;
      await this.openRun(runId);
      await this._guard(() => this._fetchRuns(ws));
    }
    return runId;
  }

  /** Show a short message (e.g. "Copied"). */
  setNotice(notice: string | null): void {
    this._notice = notice;
    this._emit();
  }

  dismissError(): void {
    this._error = null;
    this._emit();
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._generation++;
    this._followGeneration++;
    Signal.clearData(this);
  }

  // --- fetching ---------------------------------------------------------------------

  private async _refetch(ws: string): Promise<void> {
    await Promise.all([
      this._fetchRuns(ws),
      this._fetchExperiments(ws),
      this._runId ? this._fetchRun(ws) : Promise.resolve(),
      this._runId && this._stepName ? this._fetchStep(ws) : Promise.resolve()
    ]);
  }

  private async _fetchRuns(ws: string): Promise<void> {
    const reply = await this._api.listRuns(ws, {
      status: this._filters.status,
      experiment: this._filters.experiment,
      limit: 50
    });
    if (ws !== this._workspace?.path) {
      return;
    }
    this._runs = reply.runs;
    this._cursor = Math.max(this._cursor, reply.cursor);
    this._emit();
  }

  private async _fetchExperiments(ws: string): Promise<void> {
    const reply = await this._api.listExperiments(ws);
    if (ws === this._workspace?.path) {
      this._experiments = reply.experiments;
      this._emit();
    }
  }

  private async _fetchRun(ws: string): Promise<void> {
    const runId = this._runId;
    if (!runId) {
      return;
    }
    const view = await this._api.getRun(ws, runId);
    if (runId === this._runId && ws === this._workspace?.path) {
      this._run = view;
      this._emit();
    }
  }

  private async _fetchStep(ws: string): Promise<void> {
    const runId = this._runId;
    const name = this._stepName;
    if (!runId || !name) {
      return;
    }
    const detail = await this._api.getStep(ws, runId, name, this._tailLines);
    if (runId === this._runId && name === this._stepName) {
      this._step = detail;
      this._emit();
    }
  }

  private async _fetchPipelines(ws: string): Promise<void> {
    const reply = await this._api.listPipelines(ws, true);
    if (ws === this._workspace?.path) {
      this._pipelines = reply.pipelines;
      this._emit();
    }
  }

  // --- following ----------------------------------------------------------------------

  /** Long-poll the workspace's run events; refetch the list and the open run on each change. */
  private async _poll(generation: number): Promise<void> {
    const alive = (): boolean =>
      !this._disposed && generation === this._generation;
    while (alive()) {
      const ws = this._workspace?.path;
      if (!ws) {
        return;
      }
      const started = Date.now();
      try {
        const reply = await this._api.waitChanges(
          ws,
          this._cursor,
          this._pollTimeout
        );
        if (!alive()) {
          return;
        }
        // a cursor below ours: the workspace was recreated; reload everything from its cursor
        const recreated = reply.cursor < this._cursor;
        const changed =
          recreated || reply.cursor > this._cursor || reply.runs.length > 0;
        if (changed) {
          this._cursor = recreated
            ? reply.cursor
            : Math.max(this._cursor, reply.cursor);
          await this._refetch(ws);
          if (
            this._tab === 'pipelines' ||
            (recreated && this._pipelines.length)
          ) {
            await this._fetchPipelines(ws);
          }
        }
        if (this._pollFailed) {
          this._pollFailed = false;
          this._error = null;
          this._emit();
        }
        const elapsed = Date.now() - started;
        if (!changed && elapsed < this._minPollInterval) {
          await sleep(this._minPollInterval - elapsed);
        }
      } catch (error) {
        if (!alive()) {
          return;
        }
        this._pollFailed = true;
        this._setError(error);
        await sleep(this._retryDelay);
      }
    }
  }

  /** While the selected step runs, refetch its log tail (logs are not run events). */
  private async _follow(generation: number): Promise<void> {
    const alive = (): boolean =>
      !this._disposed && generation === this._followGeneration;
    while (alive() && this._step && !isTerminal(this._step.status)) {
      await sleep(this._followInterval);
      const ws = this._workspace?.path;
      if (!alive() || !ws) {
        return;
      }
      try {
        await this._fetchStep(ws);
      } catch (error) {
        this._setError(error);
        return;
      }
    }
  }

  // --- helpers ------------------------------------------------------------------------

  /**
   * Run an action that changes state; emit `changed` after it (whatever it
   * changed: widgets re-render only what differs), or show its error.
   */
  private async _guard(action: () => Promise<void>): Promise<void> {
    try {
      await action();
      if (this._error && !this._pollFailed) {
        this._error = null;
      }
      this._emit();
    } catch (error) {
      this._setError(error);
    }
  }

  private _setError(error: unknown): void {
    this._error = messageOf(error);
    this._emit();
  }

  private _clearRun(): void {
    this._runId = null;
    this._run = null;
    this._stepName = null;
    this._step = null;
    this._snapshot = null;
    this._followGeneration++;
  }

  private _emit(): void {
    if (!this._disposed) {
      this._changed.emit();
    }
  }

  private _api: PanelApi;
  private _pollTimeout: number;
  private _retryDelay: number;
  private _minPollInterval: number;
  private _followInterval: number;
  private _tailLines: number;
  private _changed = new Signal<this, void>(this);
  private _disposed = false;
  private _generation = 0;
  private _followGeneration = 0;
  private _pollFailed = false;
  private _workspace: WorkspaceInfo | null = null;
  private _error: string | null = null;
  private _notice: string | null = null;
  private _tab: Tab = 'runs';
  private _experiments: Experiment[] = [];
  private _runs: RunRow[] = [];
  private _cursor = 0;
  private _filters: IFilters = { status: '', experiment: '' };
  private _runId: string | null = null;
  private _run: RunView | null = null;
  private _stepName: string | null = null;
  private _step: StepDetail | null = null;
  private _pipelines: Pipeline[] = [];
  private _formPipelineId: string | null = null;
  private _snapshot: SnapshotReply | null = null;
}
