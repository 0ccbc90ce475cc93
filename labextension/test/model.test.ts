import { afterEach, describe, expect, it, vi } from 'vitest';

import { PanelModel } from '../src/model';
import type { PanelApi } from '../src/types';
import { makeApi, row, step, view } from './fixtures';

const models: PanelModel[] = [];

function makeModel(api: PanelApi, followInterval = 5): PanelModel {
  const model = new PanelModel({
    api,
    retryDelay: 5,
    minPollInterval: 0,
    followInterval
  });
  models.push(model);
  return model;
}

afterEach(() => {
  models.splice(0).forEach(m => m.dispose());
});

describe('PanelModel', () => {
  it('opens the workspace of a folder and lists its runs and experiments', async () => {
    const { api } = makeApi();
    const model = makeModel(api);
    expect(await model.openWorkspace('notebooks')).toBe(true);
    expect(api.getWorkspace).toHaveBeenCalledWith('notebooks');
    expect(model.workspace?.name).toBe('ws');
    expect(model.runs.map(r => r.id)).toEqual(['r1']);
    expect(model.experiments.map(e => e.name)).toEqual(['exp']);
    expect(model.cursor).toBe(5);
    expect(model.error).toBeNull();
  });

  it('shows the server message when the folder has no workspace', async () => {
    const { api } = makeApi();
    api.getWorkspace.mockRejectedValueOnce(
      new Error(
        'No workspace in "/root/x": amlpipe workspace create NAME --path FOLDER'
      )
    );
    const model = makeModel(api);
    expect(await model.openWorkspace('x')).toBe(false);
    expect(model.workspace).toBeNull();
    expect(model.error).toContain('amlpipe workspace create');
  });

  it('long-polls changes after its cursor and refetches the list and the open run', async () => {
    const { api, polls, state } = makeApi();
    const model = makeModel(api);
    await model.openWorkspace('');
    await model.openRun('r1');
    expect(model.run?.status).toBe('Running');
    await vi.waitFor(() => expect(polls.length).toBe(1));
    expect(api.waitChanges).toHaveBeenLastCalledWith('/root/ws', 5, 25);

    let emitted = 0;
    model.changed.connect(() => emitted++);
    state.runs = [row('r1', 'Finished')];
    state.cursor = 9;
    api.getRun.mockResolvedValue(view('r1', 'Finished'));
    polls[0].resolve({ cursor: 9, runs: ['r1'] });

    await vi.waitFor(() => expect(model.runs[0].status).toBe('Finished'));
    await vi.waitFor(() => expect(model.run?.status).toBe('Finished'));
    expect(emitted).toBeGreaterThan(0);
    // the next poll asks for events after the new cursor
    await vi.waitFor(() => expect(polls.length).toBe(2));
    expect(api.waitChanges).toHaveBeenLastCalledWith('/root/ws', 9, 25);
  });

  it('does not refetch when a poll times out without changes', async () => {
    const { api, polls } = makeApi();
    const model = makeModel(api);
    await model.openWorkspace('');
    const calls = api.listRuns.mock.calls.length;
    await vi.waitFor(() => expect(polls.length).toBe(1));
    polls[0].resolve({ cursor: 5, runs: [] });
    await vi.waitFor(() => expect(polls.length).toBe(2));
    expect(api.listRuns.mock.calls.length).toBe(calls);
  });

  it('reloads and follows the new cursor when the workspace was recreated', async () => {
    const { api, polls, state } = makeApi();
    const model = makeModel(api);
    await model.openWorkspace('');
    await vi.waitFor(() => expect(polls.length).toBe(1));
    // the workspace was deleted and created again: its newest event id is below ours
    state.runs = [row('n1', 'Running')];
    state.cursor = 2;
    polls[0].resolve({ cursor: 2, runs: [] });
    await vi.waitFor(() => expect(model.runs.map(r => r.id)).toEqual(['n1']));
    expect(model.cursor).toBe(2);
    await vi.waitFor(() => expect(polls.length).toBe(2));
    expect(api.waitChanges).toHaveBeenLastCalledWith('/root/ws', 2, 25);
  });

  it('surfaces a failed poll as an error and clears it when the server answers again', async () => {
    const { api, polls } = makeApi();
    const model = makeModel(api);
    await model.openWorkspace('');
    await vi.waitFor(() => expect(polls.length).toBe(1));
    polls[0].reject(new Error('Cannot reach the Jupyter server: offline'));
    await vi.waitFor(() => expect(model.error).toContain('offline'));
    await vi.waitFor(() => expect(polls.length).toBe(2));
    polls[1].resolve({ cursor: 5, runs: [] });
    await vi.waitFor(() => expect(model.error).toBeNull());
  });

  it('filters runs by status and experiment through the runs route', async () => {
    const { api, state } = makeApi();
    const model = makeModel(api);
    await model.openWorkspace('');
    state.runs = [row('r7', 'Failed', 'other')];
    await model.setFilters({ status: 'Failed' });
    expect(api.listRuns).toHaveBeenLastCalledWith('/root/ws', {
      status: 'Failed',
      experiment: '',
      limit: 50
    });
    await model.setFilters({ experiment: 'other' });
    expect(api.listRuns).toHaveBeenLastCalledWith('/root/ws', {
      status: 'Failed',
      experiment: 'other',
      limit: 50
    });
    expect(model.filters).toEqual({ status: 'Failed', experiment: 'other' });
    expect(model.runs.map(r => r.id)).toEqual(['r7']);
  });

  it('shows the message of a 4xx answer (e.g. a run that does not exist)', async () => {
    const { api } = makeApi();
    api.getRun.mockRejectedValueOnce(
      new Error('Run "nope" not found in workspace ws')
    );
    const model = makeModel(api);
    await model.openWorkspace('');
    await model.openRun('nope');
    expect(model.error).toBe('Run "nope" not found in workspace ws');
    expect(model.run).toBeNull();
    // back to the runs list rather than "Loading run nope…" for ever
    expect(model.runId).toBeNull();
    // a later successful action clears the error
    api.getRun.mockResolvedValueOnce(view('r1', 'Running'));
    await model.openRun('r1');
    expect(model.error).toBeNull();
  });

  it('follows the tail of a running step until it ends', async () => {
    const { api } = makeApi();
    api.getStep
      .mockResolvedValueOnce(step('Running', 'line 1\n'))
      .mockResolvedValueOnce(step('Running', 'line 1\nline 2\n'))
      .mockResolvedValue(step('Finished', 'line 1\nline 2\ndone\n'));
    const model = makeModel(api);
    await model.openWorkspace('');
    await model.openRun('r1');
    await model.selectStep('prep');
    expect(model.step?.stdout).toBe('line 1\n');
    await vi.waitFor(() => expect(model.step?.status).toBe('Finished'));
    expect(model.step?.stdout).toContain('done');
    const calls = api.getStep.mock.calls.length;
    await new Promise(r => setTimeout(r, 30));
    expect(api.getStep.mock.calls.length).toBe(calls);
  });

  it('submits a published pipeline and jumps to the new run', async () => {
    const { api } = makeApi();
    const model = makeModel(api);
    await model.openWorkspace('');
    model.setTab('pipelines');
    await vi.waitFor(() => expect(model.pipelines.length).toBe(1));
    model.openRunForm('p1');
    expect(model.formPipeline?.name).toBe('train');
    const runId = await model.submitRun('p1', 'nightly', { alpha: 0.7 });
    expect(runId).toBe('r9');
    expect(api.submitPipeline).toHaveBeenCalledWith('/root/ws', 'p1', {
      ExperimentName: 'nightly',
      ParameterAssignments: { alpha: 0.7 }
    });
    expect(model.tab).toBe('runs');
    expect(model.runId).toBe('r9');
    expect(model.run?.id).toBe('r9');
    expect(model.formPipeline).toBeNull();
  });

  it('keeps the form open and shows why when a disabled pipeline is submitted', async () => {
    const { api } = makeApi();
    api.submitPipeline.mockRejectedValueOnce(
      new Error('Pipeline "train" is disabled: enable it first')
    );
    const model = makeModel(api);
    await model.openWorkspace('');
    model.setTab('pipelines');
    await vi.waitFor(() => expect(model.pipelines.length).toBe(1));
    model.openRunForm('p1');
    expect(await model.submitRun('p1', 'x', {})).toBeNull();
    expect(model.error).toContain('disabled');
    expect(model.tab).toBe('pipelines');
    expect(model.formPipeline?.id).toBe('p1');
  });

  it('toggles a published pipeline and shows its new status', async () => {
    const { api } = makeApi();
    const model = makeModel(api);
    await model.openWorkspace('');
    model.setTab('pipelines');
    await vi.waitFor(() => expect(model.pipelines.length).toBe(1));
    await model.setPipelineEnabled('p1', false);
    expect(api.setPipelineEnabled).toHaveBeenCalledWith(
      '/root/ws',
      'p1',
      false
    );
    expect(model.pipelines[0].status).toBe('Disabled');
  });

  it('resumes a failed run and shows the resumed run', async () => {
    const { api } = makeApi();
    api.getRun.mockImplementation(async (_ws: string, id: string) =>
      view(id, id === 'r1' ? 'Failed' : 'Running')
    );
    const model = makeModel(api);
    await model.openWorkspace('');
    await model.openRun('r1');
    expect(await model.resumeRun()).toBe('r2');
    expect(model.runId).toBe('r2');
    expect(model.run?.status).toBe('Running');
  });

  it('cancels the open run and refetches it', async () => {
    const { api } = makeApi();
    const model = makeModel(api);
    await model.openWorkspace('');
    await model.openRun('r1');
    api.getRun.mockResolvedValue(view('r1', 'Canceled'));
    await model.cancelRun();
    expect(api.cancelRun).toHaveBeenCalledWith('/root/ws', 'r1');
    expect(model.run?.status).toBe('Canceled');
  });

  it('says a cancel was requested while the run still runs, not "Running"', async () => {
    const { api } = makeApi();
    const model = makeModel(api);
    await model.openWorkspace('');
    await model.openRun('r1');
    api.cancelRun.mockResolvedValueOnce({ id: 'r1', status: 'Running' });
    await model.cancelRun();
    expect(model.notice).toBe('Cancel requested for run r1');
    await model.cancelRun(); // the fixture answers the final status
    expect(model.notice).toBe('Run r1: Canceled');
  });

  it('materializes the snapshot of the selected step', async () => {
    const { api } = makeApi();
    const model = makeModel(api);
    await model.openWorkspace('');
    await model.openRun('r1');
    const reply = await model.openSnapshot();
    expect(api.snapshot).toHaveBeenCalledWith('/root/ws', 'r1', 'prep');
    expect(reply?.files).toEqual(['train.py']);
    expect(model.snapshot?.path).toBe('snap');
  });
});

/** What a widget would have rendered: the model's state as of its last `changed` signal. */
function watchRenders(model: PanelModel): () => string {
  const state = (): string =>
    JSON.stringify({
      workspace: model.workspace,
      error: model.error,
      notice: model.notice,
      tab: model.tab,
      experiments: model.experiments,
      runs: model.runs,
      filters: model.filters,
      runId: model.runId,
      run: model.run,
      stepName: model.stepName,
      step: model.step,
      pipelines: model.pipelines,
      form: model.formPipeline?.id ?? null,
      snapshot: model.snapshot
    });
  let rendered = state();
  model.changed.connect(() => {
    rendered = state();
  });
  return () => {
    expect(rendered).toBe(state());
    return rendered;
  };
}

describe('PanelModel emits `changed` after every state change', () => {
  it('re-renders the pipeline row after a toggle (disable, then enable)', async () => {
    const { api } = makeApi();
    const model = makeModel(api);
    await model.openWorkspace('');
    model.setTab('pipelines');
    await vi.waitFor(() => expect(model.pipelines.length).toBe(1));
    const check = watchRenders(model);
    await model.setPipelineEnabled('p1', false);
    expect(check()).toContain('"status":"Disabled"');
    await model.setPipelineEnabled('p1', true);
    expect(check()).toContain('"status":"Active"');
  });

  it('shows the snapshot file list after open-snapshot', async () => {
    const { api } = makeApi();
    const model = makeModel(api);
    await model.openWorkspace('');
    await model.openRun('r1');
    const check = watchRenders(model);
    await model.openSnapshot();
    expect(check()).toContain('train.py');
  });

  it('renders the state after each other action', async () => {
    const { api } = makeApi();
    const model = makeModel(api);
    const check = watchRenders(model);
    await model.openWorkspace('');
    check();
    await model.refresh();
    check();
    await model.setFilters({ status: 'Running' });
    check();
    await model.openRun('r1');
    check();
    await model.selectStep('prep');
    check();
    api.getRun.mockResolvedValue(view('r1', 'Canceled'));
    await model.cancelRun();
    expect(check()).toContain('Canceled');
    await model.resumeRun();
    expect(check()).toContain('"runId":"r2"');
    model.closeRun();
    check();
    model.setTab('pipelines');
    await vi.waitFor(() => expect(model.pipelines.length).toBe(1));
    check();
    model.openRunForm('p1');
    check();
    await model.submitRun('p1', 'nightly', {});
    expect(check()).toContain('"runId":"r9"');
    api.getRun.mockRejectedValueOnce(new Error('Run "x" not found'));
    await model.openRun('x');
    expect(check()).toContain('not found');
    model.dismissError();
    check();
    model.setNotice('Copied');
    check();
  });
});
