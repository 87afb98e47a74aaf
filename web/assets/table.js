// The backup table (guide §5.1): type, created at, size, status, creator,
// last verification, where the copies are kept (local file, offsite
// bucket), and the actions the user's role allows.

import { byId, h } from './dom.js';
import { humanSize, localTime, zoneNote } from './format.js';
import { has, t } from './i18n.js';

export const TYPES = ['daily', 'weekly', 'monthly', 'manual', 'before_restore'];

/**
 * Backups whose check this page is following, per button (the local file's
 * 「整合性チェック」 and the bucket copy's 「オフサイト検証」), with the
 * button's texts when idle and when busy.
 */
const CHECKS = {
  verify: { busy: new Set(), idle: 'action.verify', running: 'action.verifying' },
  'verify-offsite': { busy: new Set(), idle: 'action.verify_offsite', running: 'action.verifying_offsite' },
};

function checkButton(backup, action, onclick) {
  const check = CHECKS[action];
  const busy = check.busy.has(backup.backup_id);
  return h(
    'button',
    { type: 'button', class: 'btn btn-small', disabled: busy, dataset: { action }, onclick },
    t(busy ? check.running : check.idle),
  );
}

/** What a role may do (SPEC §9): operator creates and verifies, admin all. */
export function permissions(role) {
  return {
    create: role === 'admin' || role === 'operator',
    verify: role === 'admin' || role === 'operator',
    remove: role === 'admin',
    restore: role === 'admin',
  };
}

function typeLabel(type) {
  return TYPES.includes(type) ? t(`type.${type}`) : type;
}

function statusBadge(backup) {
  const status = backup.status;
  const known = ['success', 'failure', 'in_progress'].includes(status);
  const badge = h(
    'span',
    { class: `badge badge-${known ? status : 'unknown'}` },
    status === 'in_progress' ? h('span', { class: 'spinner', 'aria-hidden': 'true' }) : null,
    known ? t(`status.${status}`) : status,
  );
  if (status === 'failure' && backup.error) {
    return [badge, h('span', { class: 'cell-note' }, backup.error.message || backup.error.code)];
  }
  if (status === 'in_progress' && typeof backup.progress_percent === 'number') {
    return [badge, h('span', { class: 'cell-note' }, `${backup.progress_percent}%`)];
  }
  return [badge];
}

function verificationBadge(verification) {
  const result = verification && (verification.status || verification.result);
  if (result === 'pass' || result === 'fail') {
    return h(
      'span',
      {
        class: `badge badge-${result}`,
        title: verification.checked_at ? localTime(verification.checked_at) : null,
      },
      result.toUpperCase(),
    );
  }
  if (result === 'in_progress') return h('span', { class: 'badge badge-in_progress' }, t('status.in_progress'));
  return h('span', { class: 'muted' }, t('verification.none'));
}

/** The offsite copy's states, each with its glyph and badge colour. */
const OFFSITE_STATES = {
  stored: { mark: '✓', badge: 'pass' },
  uploading: { mark: '…', badge: 'in_progress' },
  deleting: { mark: '…', badge: 'unknown' },
  failed: { mark: '✗', badge: 'fail' },
};

function localBadge(local) {
  if (!local || (local.state !== 'present' && local.state !== 'missing')) return null;
  const missing = local.state === 'missing';
  return h(
    'span',
    {
      class: `badge ${missing ? 'badge-fail' : 'badge-copy'}`,
      dataset: { copy: 'local', state: local.state },
      title: t(missing ? 'copies.local.missing.title' : 'copies.local.title', { path: local.path || '' }),
    },
    t(missing ? 'copies.local.missing' : 'copies.local'),
  );
}

function offsiteBadge(offsite) {
  if (!offsite) return null;
  const known = OFFSITE_STATES[offsite.state] || { mark: '?', badge: 'unknown' };
  const key = `copies.offsite.${offsite.state}`;
  let title = offsite.state;
  if (offsite.state === 'failed') title = offsite.last_error || t(key);
  else if (has(key)) title = t(key, { location: offsite.location || '' });
  return h(
    'span',
    { class: `badge badge-${known.badge}`, dataset: { copy: 'offsite', state: offsite.state }, title },
    offsite.state === 'uploading' ? h('span', { class: 'spinner', 'aria-hidden': 'true' }) : null,
    t('copies.offsite'),
    h('span', { class: 'copy-mark' }, known.mark),
    offsite.encrypted
      ? h(
          'span',
          {
            class: 'copy-lock',
            role: 'img',
            'aria-label': t('copies.encrypted'),
            title: t('copies.encrypted.title', { recipient: offsite.encrypted_to || '' }),
          },
          '🔒',
        )
      : null,
  );
}

/** Where the backup is kept: local file (or its absence) and offsite copy. */
function copiesCell(backup) {
  const copies = backup.copies || {};
  const badges = [localBadge(copies.local), offsiteBadge(copies.offsite)].filter(Boolean);
  const offsite = copies.offsite;
  const checkFailed = offsite && offsite.check_result === 'fail';
  return [
    badges.length ? h('span', { class: 'copy-badges' }, badges) : h('span', { class: 'muted' }, '—'),
    checkFailed
      ? h('span', { class: 'cell-note', title: offsite.check_detail || null }, t('copies.check.fail'))
      : null,
  ];
}

function actionsCell(backup, can, handlers) {
  const buttons = [];
  const finished = backup.status === 'success';
  if (can.verify && finished) {
    buttons.push(checkButton(backup, 'verify', () => handlers.verify(backup)));
  }
  const offsite = backup.copies && backup.copies.offsite;
  if (can.verify && offsite && offsite.state === 'stored') {
    buttons.push(checkButton(backup, 'verify-offsite', () => handlers.verifyOffsite(backup)));
  }
  if (can.restore && finished) {
    buttons.push(
      h(
        'button',
        { type: 'button', class: 'btn btn-small btn-warning', dataset: { action: 'restore' }, onclick: () => handlers.restore(backup) },
        t('action.restore'),
      ),
    );
  }
  if (can.remove && backup.status !== 'in_progress') {
    buttons.push(
      h(
        'button',
        { type: 'button', class: 'btn btn-small btn-danger-ghost', dataset: { action: 'delete' }, onclick: () => handlers.remove(backup) },
        t('action.delete'),
      ),
    );
  }
  return h('td', { class: 'actions', 'data-label': t('col.actions') }, h('div', { class: 'action-group' }, buttons));
}

/** Replaces the table body with these backups. */
export function renderTable(backups, role, handlers) {
  const can = permissions(role);
  const withActions = can.verify || can.remove || can.restore;
  byId('col-actions').hidden = !withActions;
  const body = byId('backup-rows');
  if (!backups.length) {
    body.replaceChildren(
      h('tr', { class: 'empty-row' }, h('td', { colspan: withActions ? 9 : 8 }, t('table.empty'))),
    );
    return;
  }
  body.replaceChildren(
    ...backups.map((b) => {
      const cell = (label, cls, ...content) => h('td', { class: cls, 'data-label': t(label) }, ...content);
      return h(
        'tr',
        { dataset: { backupId: b.backup_id, status: b.status } },
        cell('col.id', 'id mono', h('span', { title: b.description || null }, b.backup_id)),
        cell('col.type', 'type', h('span', { class: `type-chip type-${b.backup_type}` }, typeLabel(b.backup_type))),
        cell(
          'col.created',
          'created',
          h('time', { datetime: b.started_at, title: b.started_at }, localTime(b.started_at)),
          zoneNote(b.started_at) ? h('span', { class: 'zone-note' }, zoneNote(b.started_at)) : null,
        ),
        cell('col.size', 'size num', humanSize(b.file_size)),
        cell('col.status', 'status', ...statusBadge(b)),
        cell('col.creator', 'creator', (b.created_by && b.created_by.username) || '—'),
        cell('col.verification', 'verification', verificationBadge(b.last_verification)),
        h(
          'td',
          { class: 'copies', 'data-label': t('col.copies'), dataset: { location: b.location || 'none' } },
          ...copiesCell(b),
        ),
        withActions ? actionsCell(b, can, handlers) : null,
      );
    }),
  );
}

/** Shows a loading row while the first page comes. */
export function renderLoading() {
  byId('backup-rows').replaceChildren(
    h('tr', { class: 'empty-row' }, h('td', { colspan: 9 }, t('table.loading'))),
  );
}

/** The pager: "1–20 of 35", previous and next. */
export function renderPager({ total, limit, offset }) {
  const from = total === 0 ? 0 : offset + 1;
  const to = Math.min(offset + limit, total);
  byId('page-range').textContent = total === 0 ? t('paging.none') : t('paging.range', { from, to, total });
  byId('page-prev').disabled = offset === 0;
  byId('page-next').disabled = offset + limit >= total;
}

/** Marks a row's verify (or verify-offsite) button busy, or not. */
export function setVerifying(backupId, busy, action = 'verify') {
  const check = CHECKS[action];
  if (busy) check.busy.add(backupId);
  else check.busy.delete(backupId);
  for (const row of byId('backup-rows').querySelectorAll('tr')) {
    if (row.dataset.backupId !== backupId) continue;
    const button = row.querySelector(`button[data-action="${action}"]`);
    if (button) {
      button.disabled = busy;
      button.textContent = t(busy ? check.running : check.idle);
    }
  }
}
