/** Small DOM helpers and formatters shared by the panel's views. */

type Child = Node | string | null | undefined | false;
type Attrs = Record<
  string,
  string | number | boolean | null | undefined | EventListener
>;

/** Create an element: `h('button', {class: 'x', onclick: fn}, 'label')`. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Create an SVG element. */
export function s(
  tag: string,
  attrs: Attrs = {},
  ...children: (Child | Child[])[]
): SVGElement {
  const el = document.createElementNS(SVG_NS, tag) as SVGElement;
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el: Element, attrs: Attrs): void {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) {
      continue;
    }
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'value' && 'value' in el) {
      (el as HTMLInputElement).value = String(value);
    } else if (key === 'checked' && 'checked' in el) {
      (el as HTMLInputElement).checked = Boolean(value);
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
}

function append(el: Element, children: (Child | Child[])[]): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    el.append(
      typeof child === 'string' ? document.createTextNode(child) : child
    );
  }
}

/** Make a non-button element act like a button: focusable, Enter/Space/click run `action`. */
export function activatable<T extends HTMLElement | SVGElement>(
  el: T,
  action: () => void
): T {
  el.setAttribute('tabindex', '0');
  if (!el.getAttribute('role')) {
    el.setAttribute('role', 'button');
  }
  el.addEventListener('click', () => action());
  el.addEventListener('keydown', event => {
    const key = (event as KeyboardEvent).key;
    if (key === 'Enter' || key === ' ') {
      event.preventDefault();
      action();
    }
  });
  return el;
}

export function formatTime(epoch: number | null | undefined): string {
  if (!epoch) {
    return '—';
  }
  return new Date(epoch * 1000).toLocaleString();
}

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) {
    return '—';
  }
  if (seconds < 60) {
    return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  }
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) {
    return `${minutes} min ${Math.round(seconds % 60)} s`;
  }
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

const ICONS: Record<string, string> = {
  Finished: '✓',
  Completed: '✓',
  Failed: '✗',
  Canceled: '⊘',
  CancelRequested: '⊘',
  Running: '●',
  Queued: '◌',
  NotStarted: '○',
  Preparing: '◌',
  Starting: '◌',
  Finalizing: '●'
};

/** A status badge: icon + text, coloured by CSS class `amlpipe-status-<Status>`. */
export function statusBadge(status: string): HTMLSpanElement {
  return h(
    'span',
    { class: `amlpipe-status amlpipe-status-${status}`, title: status },
    h(
      'span',
      { class: 'amlpipe-status-icon', 'aria-hidden': 'true' },
      ICONS[status] ?? '○'
    ),
    ' ',
    h('span', { class: 'amlpipe-status-text' }, status)
  );
}

/** A `<dl>` of key → value (objects shown as JSON). */
export function keyValues(
  values: Record<string, unknown>,
  attrs: Attrs = {}
): HTMLElement {
  const entries = Object.entries(values ?? {});
  if (!entries.length) {
    return h('div', { ...attrs, class: 'amlpipe-empty' }, 'none');
  }
  return h(
    'dl',
    { ...attrs, class: 'amlpipe-kv' },
    entries.flatMap(([key, value]) => [
      h('dt', {}, key),
      h(
        'dd',
        {},
        typeof value === 'object' ? JSON.stringify(value) : String(value)
      )
    ])
  );
}

/**
 * Replace `target`'s content with `next`, keeping keyboard focus on the
 * equivalent element (same data-testid and key attributes) and scroll positions.
 */
export function replaceKeepingFocus(target: HTMLElement, next: Node): void {
  const active = document.activeElement;
  const selector =
    active && target.contains(active) ? focusSelector(active) : null;
  const scroll = target.scrollTop;
  target.replaceChildren(next);
  target.scrollTop = scroll;
  if (selector) {
    // the same control again; when it is gone (e.g. "Cancel run" once the run ended),
    // the region's first control, so keyboard users do not land on the page's body
    const again =
      target.querySelector(selector) ??
      target.querySelector('button, [tabindex="0"], select, input');
    if (again instanceof HTMLElement || again instanceof SVGElement) {
      again.focus();
    }
  }
}

const KEY_ATTRS = [
  'data-testid',
  'data-run-id',
  'data-step',
  'data-pipeline-id',
  'data-experiment',
  'data-path',
  'name'
];

function focusSelector(el: Element): string | null {
  const parts = KEY_ATTRS.filter(a => el.hasAttribute(a)).map(
    a => `[${a}="${CSS.escape(el.getAttribute(a) ?? '')}"]`
  );
  return parts.length ? el.tagName.toLowerCase() + parts.join('') : null;
}
