/** The JSON shapes of the `/amlpipe/api` routes (see docs/jupyterlab.md). */

export interface WorkspaceInfo {
  name: string;
  path: string;
  cwd?: string;
}

export interface Experiment {
  name: string;
  runs: number;
  last_start: number | null;
}

export interface ExperimentsReply {
  experiments: Experiment[];
}

export interface Progress {
  total?: number;
  ran?: number;
  finished?: number;
  reused?: number;
  failed?: number;
  canceled?: number;
  running?: number;
  queued?: number;
  [key: string]: number | undefined;
}

export interface RunRow {
  id: string;
  experiment: string;
  status: string;
  start_time: number | null;
  end_time: number | null;
  duration: number | null;
  progress: Progress;
  started_by: string;
  display_name: string | null;
}

export interface RunsReply {
  cursor: number;
  runs: RunRow[];
}

export interface RunsQuery {
  experiment?: string;
  status?: string;
  limit?: number;
}

export interface ChangesReply {
  cursor: number;
  runs: string[];
}

export interface StepRow {
  name: string;
  step_run_id?: string;
  run_id?: string;
  status: string;
  reused?: boolean;
  reused_from?: string | null;
  reason?: string | null;
  reasons?: string[];
  duration?: number | null;
  kind?: string;
  error?: string | null;
}

export interface GraphNode {
  name: string;
  status?: string;
  reused?: boolean;
  kind?: string;
  reason?: string | null;
  reasons?: string[];
}

export interface GraphEdge {
  source: string;
  target: string;
  label?: string;
}

export interface RunView {
  id: string;
  name?: string;
  experiment: string;
  status: string;
  started?: number | null;
  ended?: number | null;
  duration?: number | null;
  error?: string | null;
  progress?: Progress;
  steps: StepRow[];
  graph?: { nodes: GraphNode[]; edges: GraphEdge[] };
  nodes?: GraphNode[];
  edges?: GraphEdge[];
  properties?: Record<string, unknown>;
  parameters?: Record<string, unknown>;
}

export interface OutputRow {
  name: string;
  path: string;
}

export interface StepDetail {
  name: string;
  step_run_id: string;
  status: string;
  stdout: string;
  stderr: string;
  metrics: Record<string, unknown>;
  properties: Record<string, unknown>;
  reused: boolean;
  reason: string | null;
  outputs: OutputRow[];
  notebook: string | null;
}

export interface SnapshotReply {
  path: string | null;
  absolute: string;
  files: string[];
}

export interface PipelineParameter {
  name: string;
  default: unknown;
  type: 'string' | 'int' | 'float' | 'bool' | 'null' | 'datapath';
}

export interface Pipeline {
  id: string;
  name: string;
  version: string | null;
  description: string | null;
  status: 'Active' | 'Disabled' | string;
  endpoint: string;
  parameters: PipelineParameter[];
}

export interface PipelinesReply {
  pipelines: Pipeline[];
}

/** Where a DataPath parameter points (v1's `DataPathAssignments` values). */
export interface DataPathAssignment {
  DataStoreName: string;
  RelativePath: string;
}

export interface SubmitBody {
  ExperimentName: string;
  ParameterAssignments: Record<string, unknown>;
  DataPathAssignments?: Record<string, DataPathAssignment>;
}

/** What the model needs from the server (request.ts implements it; tests mock it). */
export interface PanelApi {
  getWorkspace(cwd: string): Promise<WorkspaceInfo>;
  listExperiments(ws: string): Promise<ExperimentsReply>;
  listRuns(ws: string, query?: RunsQuery): Promise<RunsReply>;
  waitChanges(
    ws: string,
    after: number,
    timeout?: number
  ): Promise<ChangesReply>;
  getRun(ws: string, runId: string): Promise<RunView>;
  getStep(
    ws: string,
    runId: string,
    step: string,
    lines?: number
  ): Promise<StepDetail>;
  cancelRun(ws: string, runId: string): Promise<{ id: string; status: string }>;
  resumeRun(ws: string, runId: string): Promise<{ id: string }>;
  snapshot(
    ws: string,
    runId: string,
    step: string | null
  ): Promise<SnapshotReply>;
  listPipelines(ws: string, all?: boolean): Promise<PipelinesReply>;
  setPipelineEnabled(
    ws: string,
    id: string,
    enabled: boolean
  ): Promise<Pipeline>;
  submitPipeline(
    ws: string,
    id: string,
    body: SubmitBody
  ): Promise<{ Id: string }>;
}

/** Statuses after which a run or step does not change any more. */
export const TERMINAL_STATUSES = [
  'Finished',
  'Completed',
  'Failed',
  'Canceled'
];

export function isTerminal(status: string | undefined | null): boolean {
  return !!status && TERMINAL_STATUSES.includes(status);
}
