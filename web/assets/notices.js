// The message area under the page heading: success, error and info notices.
// Errors show the API body's message and user_action, and carry its code in
// data-code.

import { byId, h } from './dom.js';
import { t } from './i18n.js';

const MAX_NOTICES = 4;

/**
 * Adds a notice on top and returns it (so a running notice can be replaced).
 * kind: 'success' | 'error' | 'info'; fields: [[label, value, mono?]…];
 * extra: a node shown under the fields; data: data-* attributes.
 */
export function notify({ kind, title, text, action, code, data = {}, fields = [], extra, replace }) {
  const icon = { success: '✓', error: '!', info: 'i' }[kind] || 'i';
  const notice = h(
    'div',
    {
      class: `notice notice-${kind}`,
      role: kind === 'error' ? 'alert' : 'status',
      dataset: code ? { ...data, code } : data,
    },
    h('span', { class: 'notice-icon', 'aria-hidden': 'true' }, icon),
    h(
      'div',
      { class: 'notice-body' },
      h('p', { class: 'notice-title' }, title),
      text ? h('p', {}, text) : null,
      action ? h('p', { class: 'notice-action' }, action) : null,
      fields.length
        ? h(
            'dl',
            { class: 'notice-fields' },
            fields.map(([label, value, mono]) => [
              h('dt', {}, label),
              h('dd', { class: mono ? 'mono' : null }, value),
            ]),
          )
        : null,
      extra || null,
      code && kind === 'error' ? h('p', { class: 'notice-code' }, `${t('field.code')}: ${code}`) : null,
    ),
    h(
      'button',
      {
        type: 'button',
        class: 'notice-close',
        'aria-label': t('close'),
        onclick: () => notice.remove(),
      },
      '×',
    ),
  );
  const area = byId('messages');
  if (replace && replace.isConnected) replace.replaceWith(notice);
  else area.prepend(notice);
  while (area.children.length > MAX_NOTICES) area.lastElementChild.remove();
  return notice;
}

/** An ApiError as a notice: its message, user_action and code. */
export function notifyError(error, { replace, title } = {}) {
  if (error.unavailable) {
    return notify({
      kind: 'error',
      title: title ? `${title}: ${t('error.unavailable')}` : t('error.unavailable'),
      action: t('error.unavailable.action'),
      code: error.code,
      replace,
    });
  }
  return notify({
    kind: 'error',
    title: error.message,
    action: error.userAction,
    code: error.code,
    replace,
  });
}

/** Removes every notice (on logout). */
export function clearNotices() {
  byId('messages').replaceChildren();
}
