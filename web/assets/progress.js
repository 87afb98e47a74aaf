// The progress panel of the running backup or restore. It stays on screen
// at 100 % (green) or red once the work ends, until the next one starts.

import { byId } from './dom.js';
import { percent } from './format.js';
import { t } from './i18n.js';

const panel = () => byId('progress-panel');

/** Shows the panel for a new job ('backup' or 'restore'). */
export function start(kind, label) {
  const el = panel();
  el.dataset.kind = kind;
  el.hidden = false;
  update({ state: 'running', percent: 0, detail: label, indeterminate: true });
}

/**
 * state: 'running' | 'success' | 'failure'; percent: 0–100;
 * indeterminate: no figure known (an animated bar instead).
 */
export function update({ state = 'running', percent: value, detail, indeterminate = false }) {
  const el = panel();
  const kind = el.dataset.kind || 'backup';
  const titleKey = state === 'running' ? `progress.${kind}` : `progress.${kind}.${state === 'success' ? 'done' : 'failed'}`;
  const figure = state === 'success' ? 100 : percent(value);
  el.dataset.state = state;
  byId('progress-title').textContent = t(titleKey);
  const bar = byId('progress-bar');
  bar.classList.toggle('indeterminate', indeterminate && state === 'running');
  if (indeterminate && state === 'running') {
    bar.removeAttribute('aria-valuenow');
    byId('progress-percent').textContent = '';
  } else {
    bar.setAttribute('aria-valuenow', String(figure));
    byId('progress-percent').textContent = `${figure}%`;
  }
  byId('progress-fill').style.width = `${indeterminate && state === 'running' ? 100 : figure}%`;
  if (detail !== undefined) byId('progress-detail').textContent = detail;
}

/** Whether a job is being followed now. */
export function running() {
  const el = panel();
  return !el.hidden && el.dataset.state === 'running';
}

/** Hides the panel (on logout). */
export function hide() {
  panel().hidden = true;
  delete panel().dataset.state;
}
