/**
 * The only place that talks to the server: one typed function per route of
 * the `jupyter_amlpipe` server extension (`/amlpipe/api/...`).
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import type {
  ChangesReply,
  ExperimentsReply,
  PanelApi,
  Pipeline,
  PipelinesReply,
  RunsQuery,
  RunsReply,
  RunView,
  SnapshotReply,
  StepDetail,
  SubmitBody,
  WorkspaceInfo
} from './types';

/** An error the server answered with (its `message`), or a network failure. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type Query = Record<string, string | number | boolean | undefined | null>;

function queryString(query: Query): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null) {
      continue;
    }
    parts.push(
      `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`
    );
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

/** Call `/amlpipe/api/<route>` and answer its JSON; a non-2xx answer throws an `ApiError` with the server's message. */
export async function requestAPI<T>(
  route: string,
  query: Query = {},
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url =
    URLExt.join(settings.baseUrl, 'amlpipe', 'api', route) + queryString(query);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ApiError(
      `Cannot reach the Jupyter server: ${(error as Error).message}`,
      0
    );
  }
  const text = await response.text();
  let data: unknown = null;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null; // an HTML error page: no route here
    }
  }
  if (!response.ok) {
    const message =
      (data as { message?: string } | null)?.message ||
      `${response.status} ${response.statusText} from ${route}`;
    if (response.status === 404 && data === null) {
      throw new ApiError(
        'The jupyter_amlpipe server extension is not enabled: run `jupyter server extension enable jupyter_amlpipe` and restart JupyterLab.',
        404
      );
    }
    throw new ApiError(message, response.status);
  }
  return data as T;
}

const seg = (value: string): string => encodeURIComponent(value);

function post<T>(route: string, query: Query, body?: unknown): Promise<T> {
  return requestAPI<T>(route, query, {
    method: 'POST',
    body: body === undefined ? undefined : JSON.stringify(body)
  });
}

export const getWorkspace = (cwd: string): Promise<WorkspaceInfo> =>
  requestAPI<WorkspaceInfo>('workspace', { cwd });

export const listExperiments = (ws: string): Promise<ExperimentsReply> =>
  requestAPI<ExperimentsReply>('experiments', { ws });

export const listRuns = (ws: string, q: RunsQuery = {}): Promise<RunsReply> =>
  requestAPI<RunsReply>('runs', {
    ws,
    experiment: q.experiment || undefined,
    status: q.status || undefined,
    limit: q.limit ?? 50
  });

export const waitChanges = (
  ws: string,
  after: number,
  timeout = 25
): Promise<ChangesReply> =>
  requestAPI<ChangesReply>('changes', { ws, after, timeout });

export const getRun = (ws: string, runId: string): Promise<RunView> =>
  requestAPI<RunView>(`runs/${seg(runId)}`, { ws });

export const getStep = (
  ws: string,
  runId: string,
  step: string,
  lines = 200
): Promise<StepDetail> =>
  requestAPI<StepDetail>(`runs/${seg(runId)}/steps/${seg(step)}`, {
    ws,
    lines
  });

export const cancelRun = (
  ws: string,
  runId: string
): Promise<{ id: string; status: string }> =>
  post(`runs/${seg(runId)}/cancel`, { ws });

export const resumeRun = (ws: string, runId: string): Promise<{ id: string }> =>
  post(`runs/${seg(runId)}/resume`, { ws });

export const snapshot = (
  ws: string,
  runId: string,
  step: string | null
): Promise<SnapshotReply> =>
  post(`runs/${seg(runId)}/snapshot`, { ws, step: step ?? undefined });

export const listPipelines = (
  ws: string,
  all = true
): Promise<PipelinesReply> =>
  requestAPI<PipelinesReply>('pipelines', { ws, all: all ? 1 : 0 });

export const setPipelineEnabled = (
  ws: string,
  id: string,
  enabled: boolean
): Promise<Pipeline> =>
  post(`pipelines/${seg(id)}/${enabled ? 'enable' : 'disable'}`, { ws });

export const submitPipeline = (
  ws: string,
  id: string,
  body: SubmitBody
): Promise<{ Id: string }> => post(`pipelines/${seg(id)}/submit`, { ws }, body);

/** The server routes as the model uses them. */
export const serverApi: PanelApi = {
  getWorkspace,
  listExperiments,
  listRuns,
  waitChanges,
  getRun,
  getStep,
  cancelRun,
  resumeRun,
  snapshot,
  listPipelines,
  setPipelineEnabled,
  submitPipeline
};
