/** The sidebar panel: workspace header, Runs / Pipelines tabs, and the views of the model. */
import type { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import type { PanelModel, Tab } from '../model';
import { h, replaceKeepingFocus } from './dom';
import type { IPanelHost } from './host';
import { pipelinesKey, renderPipelines, renderRunForm } from './pipelines';
import {
  graphKey,
  headerKey,
  renderGraph,
  renderHeader,
  renderStep,
  stepKey
} from './runDetail';
import { renderRuns, runsKey } from './runs';

/** A region re-rendered only when its key changes (keeps focus and scroll otherwise). */
class Slot {
  readonly el: HTMLElement;
  private _key: string | null = null;

  constructor(className: string) {
    this.el = h('div', { class: className });
  }

  update(key: string, render: () => Node | null): boolean {
    if (key === this._key) {
      return false;
    }
    this._key = key;
    const node = render();
    if (node) {
      replaceKeepingFocus(this.el, node);
    } else {
      this.el.replaceChildren();
    }
    return true;
  }

  reset(): void {
    this._key = null;
    this.el.replaceChildren();
  }
}

export class AmlpipePanel extends Widget {
  constructor(
    readonly model: PanelModel,
    private readonly _host: IPanelHost
  ) {
    super();
    this.id = 'amlpipe-panel';
    this.addClass('amlpipe-panel');
    this.title.caption = 'Pipelines';

    this._name = h(
      'span',
      { 'data-testid': 'workspace-name', class: 'amlpipe-ws-name' },
      '—'
    );
    this._path = h('input', {
      'data-testid': 'workspace-path',
      class: 'jp-mod-styled amlpipe-ws-path',
      type: 'text',
      placeholder: 'Workspace folder (Enter to open)',
      'aria-label': 'Workspace folder; press Enter to open it',
      onkeydown: (e: Event) => {
        if ((e as KeyboardEvent).key === 'Enter') {
          e.preventDefault();
          void this.model.openWorkspace(this._path.value.trim());
        }
      }
    });
    this._error = h('div', {
      'data-testid': 'panel-error',
      class: 'amlpipe-error',
      role: 'alert',
      hidden: true
    });
    this._notice = h('div', { class: 'amlpipe-notice', 'aria-live': 'polite' });
    this._tabs = {
      runs: this._tabButton('runs', 'Runs'),
      pipelines: this._tabButton('pipelines', 'Published')
    };
    this._body = h('div', { class: 'amlpipe-body', role: 'tabpanel' });
    this._detail = h('div', {
      class: 'amlpipe-run-detail',
      'data-testid': 'run-detail'
    });
    this._detail.append(
      this._headerSlot.el,
      this._graphSlot.el,
      this._stepSlot.el
    );

    this.node.append(
      h(
        'header',
        { class: 'amlpipe-header' },
        h(
          'div',
          { class: 'amlpipe-ws' },
          h('span', { class: 'amlpipe-ws-label' }, 'Workspace: '),
          this._name
        ),
        this._path,
        this._error,
        this._notice
      ),
      h(
        'div',
        {
          class: 'amlpipe-tabs',
          role: 'tablist',
          'aria-label': 'Pipelines panel sections'
        },
        this._tabs.runs,
        this._tabs.pipelines
      ),
      this._body
    );
    model.changed.connect(this._render, this);
    this._render();
  }

  /** The workspace folder the panel should try first (e.g. the file browser's folder). */
  setPathHint(path: string): void {
    if (document.activeElement !== this._path && !this.model.workspace) {
      this._path.value = path;
    }
  }

  /** Called each time the panel is shown (e.g. its sidebar tab is clicked). */
  onShown: (() => void) | null = null;

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.onShown?.();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.model.changed.disconnect(this._render, this);
    super.dispose();
  }

  private _tabButton(tab: Tab, label: string): HTMLButtonElement {
    return h(
      'button',
      {
        'data-testid': `tab-${tab}`,
        role: 'tab',
        class: 'amlpipe-tab',
        onclick: () => this.model.setTab(tab)
      },
      label
    );
  }

  private _render(): void {
    const model = this.model;
    const ws = model.workspace;
    this._name.textContent = ws ? ws.name : '—';
    this._name.title = ws ? ws.path : '';
    if (ws && document.activeElement !== this._path) {
      this._path.value = ws.path;
    }
    this._error.textContent = model.error ?? '';
    this._error.hidden = !model.error;
    this._notice.textContent = model.notice ?? '';
    for (const [tab, button] of Object.entries(this._tabs)) {
      const selected = tab === model.tab;
      button.setAttribute('aria-selected', selected ? 'true' : 'false');
      button.classList.toggle('amlpipe-mod-selected', selected);
    }
    if (!ws) {
      this._setView('none', () =>
        h(
          'div',
          { class: 'amlpipe-empty' },
          'No workspace here. Create one with `amlpipe workspace create NAME --path FOLDER` (or `Workspace.create(name, path=...)`), or type a workspace folder above and press Enter.'
        )
      );
      return;
    }
    if (model.tab === 'pipelines') {
      this._setView('pipelines', () =>
        h('div', {}, this._pipelinesSlot.el, this._formSlot.el)
      );
      this._pipelinesSlot.update(pipelinesKey(model), () =>
        renderPipelines(model, this._host)
      );
      const hadFocus = this.node.contains(document.activeElement);
      if (
        this._formSlot.update(model.formPipeline?.id ?? '', () =>
          renderRunForm(model)
        ) &&
        hadFocus
      ) {
        // a form just opened from the keyboard: start typing in it
        this._formSlot.el.querySelector<HTMLElement>('input')?.focus();
      }
    } else if (model.runId) {
      this._lastRunId = model.runId;
      this._setView('detail', () => this._detail);
      this._detail.setAttribute('data-run-id', model.runId);
      this._detail.setAttribute('data-status', model.run?.status ?? 'Unknown');
      this._headerSlot.update(headerKey(model), () =>
        renderHeader(model, this._host)
      );
      this._graphSlot.update(graphKey(model), () => renderGraph(model));
      if (
        this._stepSlot.update(stepKey(model), () =>
          renderStep(model, this._host)
        )
      ) {
        // follow the tails: keep the logs scrolled to their newest lines
        this._stepSlot.el.querySelectorAll('pre.amlpipe-log').forEach(pre => {
          pre.scrollTop = pre.scrollHeight;
        });
      }
    } else {
      this._setView('runs', () => this._runsSlot.el);
      this._runsSlot.update(runsKey(model), () => renderRuns(model));
    }
  }

  private _setView(view: string, make: () => HTMLElement): void {
    if (view === this._view) {
      return;
    }
    const hadFocus = this._body.contains(document.activeElement);
    this._view = view;
    for (const slot of [
      this._runsSlot,
      this._headerSlot,
      this._graphSlot,
      this._stepSlot,
      this._pipelinesSlot,
      this._formSlot
    ]) {
      slot.reset();
    }
    this._body.replaceChildren(make());
    if (hadFocus) {
      // moving between list and detail: back in the list, focus the row of the run that
      // was open; elsewhere the first control of the new view
      const lastRun = this._lastRunId;
      queueMicrotask(() => {
        const target =
          (view === 'runs' && lastRun
            ? this._body.querySelector<HTMLElement>(
                `[data-testid="run-row"][data-run-id="${CSS.escape(lastRun)}"]`
              )
            : null) ??
          this._body.querySelector<HTMLElement>(
            view === 'runs'
              ? '[data-testid="run-row"], button'
              : 'button, [tabindex="0"], select, input'
          );
        target?.focus();
      });
    }
  }

  private _name: HTMLSpanElement;
  private _path: HTMLInputElement;
  private _error: HTMLDivElement;
  private _notice: HTMLDivElement;
  private _tabs: Record<Tab, HTMLButtonElement>;
  private _body: HTMLDivElement;
  private _detail: HTMLDivElement;
  private _view = '';
  private _lastRunId: string | null = null;
  private _runsSlot = new Slot('amlpipe-slot-runs');
  private _headerSlot = new Slot('amlpipe-slot-header');
  private _graphSlot = new Slot('amlpipe-slot-graph');
  private _stepSlot = new Slot('amlpipe-slot-step');
  private _pipelinesSlot = new Slot('amlpipe-slot-pipelines');
  private _formSlot = new Slot('amlpipe-slot-form');
}
