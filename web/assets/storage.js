// The storage panel (GET /api/v1/storage): a usage bar and the figures per
// type. Hidden when the server has no such endpoint or refuses it.

import { api } from './api.js';
import { byId, h } from './dom.js';
import { count, humanSize, percent } from './format.js';
import { has, t } from './i18n.js';
import { TYPES } from './table.js';

let last = null;

/** Fetches and shows the storage figures; hides the panel on any error. */
export async function loadStorage() {
  try {
    last = await api('GET', '/api/v1/storage');
  } catch {
    last = null;
  }
  renderStorage();
}

/** Draws the last figures again (after a language switch). */
export function renderStorage() {
  const panel = byId('storage-panel');
  if (!last || typeof last !== 'object' || last.total_bytes === undefined) {
    panel.hidden = true;
    return;
  }
  panel.hidden = false;
  const used = percent(last.used_percent ?? (100 * last.used_bytes) / (last.total_bytes || 1));
  const level = String(last.alert_level || 'ok').toLowerCase();
  const severity = used >= 90 || ['error', 'critical'].includes(level) ? 'danger' : used >= 80 || ['warn', 'warning'].includes(level) ? 'warning' : 'ok';
  panel.dataset.severity = severity;

  byId('storage-level').textContent = has(`storage.level.${level}`) ? t(`storage.level.${level}`) : level;
  byId('storage-level').className = `badge badge-level-${severity}`;
  const bar = byId('storage-bar');
  bar.setAttribute('aria-valuenow', String(used));
  byId('storage-fill').style.width = `${used}%`;
  byId('storage-percent').textContent = `${Number(last.used_percent ?? used).toFixed(1)}%`;
  byId('storage-used').textContent = t('storage.used', {
    used: humanSize(last.used_bytes),
    total: humanSize(last.total_bytes),
  });
  byId('storage-available').textContent = t('storage.available', { available: humanSize(last.available_bytes) });
  byId('storage-paused').hidden = !last.automatic_paused;

  const byType = last.by_type || {};
  byId('storage-types').replaceChildren(
    ...TYPES.filter((type) => byType[type] || type !== 'before_restore').map((type) => {
      const figures = byType[type] || { count: 0, bytes: 0 };
      const n = Number(figures.count) || 0;
      return h(
        'div',
        { class: 'storage-type', dataset: { type } },
        h('dt', {}, h('span', { class: `type-dot type-${type}`, 'aria-hidden': 'true' }), t(`type.${type}`)),
        h(
          'dd',
          {},
          h('span', { class: 'storage-bytes' }, humanSize(figures.bytes)),
          h('span', { class: 'muted' }, t(n === 1 ? 'storage.count.one' : 'storage.count', { count: count(n) })),
        ),
      );
    }),
  );
}

/** Forgets the figures (on logout). */
export function resetStorage() {
  last = null;
  byId('storage-panel').hidden = true;
}
