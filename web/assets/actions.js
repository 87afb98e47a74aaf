// What the buttons do: run a backup (guide §4.1), verify (§5.4), verify the
// offsite copy, delete (§6.2) and restore, each with its confirmation dialog
// where it needs one, then following the work by polling until it ends.

import { api, currentEpoch, sleep } from './api.js';
import { byId, h } from './dom.js';
import { humanSize } from './format.js';
import { has, t } from './i18n.js';
import { notify, notifyError } from './notices.js';
import * as progress from './progress.js';
import { loadStorage } from './storage.js';
import { setVerifying } from './table.js';

const POLL_MS = 500;
const VERIFY_POLL_MS = 700;
const VERIFY_TIMEOUT_MS = 10 * 60 * 1000;

let refreshList = () => {};

/** `refresh` reloads the table after a change. */
export function initActions({ refresh }) {
  refreshList = refresh;
}

const path = (id) => `/api/v1/backups/${encodeURIComponent(id)}`;

function phaseLabel(phase) {
  return phase && has(`phase.${phase}`) ? t(`phase.${phase}`) : phase || '';
}

/**
 * Opens a modal <dialog> and resolves true when its form is submitted (and
 * `validate` agrees), false on Cancel or Escape.
 */
function ask(dialog, validate = () => true) {
  return new Promise((resolve) => {
    const form = dialog.querySelector('form');
    const cancel = dialog.querySelector('[data-cancel]');
    const finish = (confirmed) => {
      form.removeEventListener('submit', onSubmit);
      cancel.removeEventListener('click', onCancel);
      dialog.removeEventListener('close', onClose);
      if (dialog.open) dialog.close();
      resolve(confirmed);
    };
    const onSubmit = (event) => {
      event.preventDefault();
      if (validate()) finish(true);
    };
    const onCancel = () => finish(false);
    const onClose = () => finish(false);
    form.addEventListener('submit', onSubmit);
    cancel.addEventListener('click', onCancel);
    dialog.addEventListener('close', onClose);
    dialog.showModal();
  });
}

/** 「今すぐバックアップ実行」: confirm, POST, then follow the progress. */
export async function createBackup() {
  const button = byId('create-button');
  byId('create-description').value = '';
  byId('create-type').value = 'manual';
  if (!(await ask(byId('create-dialog')))) return;

  const description = byId('create-description').value.trim();
  const body = { type: byId('create-type').value, ...(description ? { description } : {}) };
  const epoch = currentEpoch();
  button.disabled = true;
  progress.start('backup', phaseLabel('queued'));
  try {
    const accepted = await api('POST', '/api/v1/backups', body);
    const id = accepted.backup_id;
    progress.update({ percent: 0, detail: `${id} — ${phaseLabel('queued')}` });
    refreshList();
    const backup = await followBackup(id, epoch);
    if (!backup) return;
    if (backup.status === 'success') {
      progress.update({ state: 'success', detail: `${id} — ${phaseLabel('done')}` });
      notify({
        kind: 'success',
        title: t('backup.done'),
        data: { backupId: id },
        fields: [
          [t('field.id'), id, true],
          [t('field.file'), backup.file_path, true],
          [t('field.size'), t('field.size.value', { size: humanSize(backup.file_size), original: humanSize(backup.original_size) })],
          [t('field.checksum'), backup.checksum, true],
        ],
      });
    } else {
      const error = backup.error || {};
      progress.update({ state: 'failure', percent: backup.progress_percent, detail: `${id} — ${phaseLabel(backup.phase)}` });
      notify({ kind: 'error', title: t('backup.failed'), text: error.message, code: error.code, data: { backupId: id } });
    }
  } catch (error) {
    if (epoch !== currentEpoch()) return;
    progress.update({ state: 'failure', percent: 0, detail: error.message });
    notifyError(error);
  } finally {
    button.disabled = false;
    if (epoch === currentEpoch()) {
      refreshList();
      loadStorage();
    }
  }
}

/** Polls the backup until it is no longer in progress; null after a logout. */
async function followBackup(id, epoch) {
  for (;;) {
    const backup = await api('GET', path(id));
    if (epoch !== currentEpoch()) return null;
    if (backup.status !== 'in_progress') return backup;
    progress.update({ percent: backup.progress_percent, detail: `${id} — ${phaseLabel(backup.phase)}` });
    await sleep(POLL_MS);
  }
}

/** 「整合性チェック」: enqueue, then poll the history for this check's result. */
export async function verifyBackup(backup) {
  const id = backup.backup_id;
  const epoch = currentEpoch();
  setVerifying(id, true);
  const running = notify({ kind: 'info', title: t('verify.running', { id }), data: { backupId: id } });
  try {
    const accepted = await api('POST', `${path(id)}/verify`);
    const check = await followCheck(id, accepted && accepted.check_id, epoch);
    if (epoch !== currentEpoch()) return;
    if (!check) {
      notify({ kind: 'error', title: t('verify.timeout'), action: t('verify.timeout.action'), replace: running });
      return;
    }
    const pass = check.status === 'pass';
    notify({
      kind: pass ? 'success' : 'error',
      title: `${t(pass ? 'verify.title.pass' : 'verify.title.fail')} — ${id}`,
      data: { backupId: id, verification: check.status },
      extra: checkList(check.checks || []),
      replace: running,
    });
    refreshList();
  } catch (error) {
    if (epoch === currentEpoch()) notifyError(error, { replace: running, title: t('action.verify') });
  } finally {
    setVerifying(id, false);
  }
}

/** 「オフサイト検証」: the worker reads the bucket's copy back and checks it. */
export async function verifyOffsite(backup) {
  const id = backup.backup_id;
  const epoch = currentEpoch();
  setVerifying(id, true, 'verify-offsite');
  const running = notify({ kind: 'info', title: t('offsite.running', { id }), data: { backupId: id } });
  try {
    // The result lands in copies.offsite: the POST clears check_result, and
    // the worker sets it when the check is done.
    await api('POST', `${path(id)}/offsite/verify`);
    const copy = await followOffsiteCheck(id, epoch);
    if (epoch !== currentEpoch()) return;
    if (!copy || !copy.check_result) {
      const gone = copy && copy.state !== 'stored';
      notify({
        kind: 'error',
        title: t(gone ? 'offsite.gone' : 'verify.timeout'),
        action: gone ? null : t('verify.timeout.action'),
        data: { backupId: id },
        replace: running,
      });
      return;
    }
    const pass = copy.check_result === 'pass';
    notify({
      kind: pass ? 'success' : 'error',
      title: `${t(pass ? 'offsite.title.pass' : 'offsite.title.fail')} — ${id}`,
      text: copy.check_detail,
      fields: [[t('field.location'), copy.location, true]],
      data: { backupId: id, offsiteCheck: copy.check_result },
      replace: running,
    });
  } catch (error) {
    if (epoch === currentEpoch()) notifyError(error, { replace: running, title: t('action.verify_offsite') });
  } finally {
    setVerifying(id, false, 'verify-offsite');
    if (epoch === currentEpoch()) refreshList();
  }
}

function offsiteCopy(backup) {
  return (backup && backup.copies && backup.copies.offsite) || null;
}

/** The copy once its new check is recorded, or no longer stored; null on timeout. */
async function followOffsiteCheck(id, epoch) {
  const deadline = Date.now() + VERIFY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const copy = offsiteCopy(await api('GET', path(id)));
    if (epoch !== currentEpoch()) return null;
    if (copy && copy.check_result) return copy;
    if (!copy || copy.state !== 'stored') return copy || { state: 'none' };
    await sleep(VERIFY_POLL_MS);
  }
  return null;
}

/** The verification history may be a list or {verifications: [...]}. */
function checksOf(body) {
  if (Array.isArray(body)) return body;
  if (body && typeof body === 'object') {
    for (const key of ['verifications', 'checks', 'items']) {
      if (Array.isArray(body[key])) return body[key];
    }
  }
  return [];
}

async function followCheck(id, checkId, epoch) {
  const deadline = Date.now() + VERIFY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const list = checksOf(await api('GET', `${path(id)}/verifications`));
    if (epoch !== currentEpoch()) return null;
    const check =
      checkId === undefined || checkId === null
        ? list[0]
        : list.find((c) => String(c.check_id) === String(checkId));
    if (check && (check.status === 'pass' || check.status === 'fail')) return check;
    await sleep(VERIFY_POLL_MS);
  }
  return null;
}

/** The five checks of §5.4, each with its result and detail. */
function checkList(checks) {
  return h(
    'ul',
    { class: 'check-list' },
    checks.map((c) => {
      const status = String(c.status || '');
      const ok = status === 'pass' || status === 'ok';
      const skipped = status === 'skipped' || status === 'skip';
      const label = has(`check.${c.name}`) ? t(`check.${c.name}`) : c.name;
      return h(
        'li',
        { dataset: { check: c.name, status } },
        h(
          'span',
          { class: `badge badge-${ok ? 'pass' : skipped ? 'unknown' : 'fail'}` },
          t(ok ? 'verify.check.pass' : skipped ? 'verify.check.skipped' : 'verify.check.fail'),
        ),
        h('span', { class: 'check-name' }, label),
        h('span', { class: 'check-detail' }, c.detail || ''),
      );
    }),
  );
}

/** 「削除」: confirm, DELETE; a refusal (409) shows the server's reason. */
export async function deleteBackup(backup) {
  const id = backup.backup_id;
  byId('delete-target').textContent = id;
  if (!(await ask(byId('delete-dialog')))) return;
  const epoch = currentEpoch();
  try {
    await api('DELETE', path(id));
    notify({ kind: 'success', title: t('delete.done'), fields: [[t('field.id'), id, true]], data: { backupId: id } });
  } catch (error) {
    if (epoch !== currentEpoch()) return;
    notifyError(error, { title: t('action.delete') });
  } finally {
    if (epoch === currentEpoch()) {
      refreshList();
      loadStorage();
    }
  }
}

/** 「リストア」 (admin): the id must be typed to confirm; then follow the restore. */
export async function restoreBackup(backup) {
  const id = backup.backup_id;
  const input = byId('restore-confirm-input');
  const mismatch = byId('restore-mismatch');
  byId('restore-target').textContent = id;
  input.value = '';
  input.removeAttribute('aria-invalid');
  mismatch.hidden = true;
  const matches = () => {
    const ok = input.value.trim() === id;
    mismatch.hidden = ok;
    if (ok) input.removeAttribute('aria-invalid');
    else {
      input.setAttribute('aria-invalid', 'true');
      input.focus();
    }
    return ok;
  };
  if (!(await ask(byId('restore-dialog'), matches))) return;

  const epoch = currentEpoch();
  progress.start('restore', id);
  try {
    const accepted = await api('POST', `${path(id)}/restore`, { confirm: id });
    const restore = await followRestore(accepted.restore_id, id, epoch);
    if (!restore) return;
    const fields = [
      [t('field.id'), id, true],
      restore.safety_backup_id ? [t('restore.safety'), restore.safety_backup_id, true] : null,
    ].filter(Boolean);
    if (['success', 'completed', 'done'].includes(restore.status)) {
      progress.update({ state: 'success', detail: `${id} — ${phaseLabel('done')}` });
      notify({ kind: 'success', title: t('restore.done'), fields, data: { restoreId: String(accepted.restore_id) } });
    } else {
      const error = typeof restore.error === 'string' ? { message: restore.error } : restore.error || {};
      progress.update({ state: 'failure', percent: restore.progress_percent, detail: `${id} — ${phaseLabel(restore.phase)}` });
      notify({ kind: 'error', title: t('restore.failed'), text: error.message, action: error.user_action, code: error.code, fields });
    }
  } catch (error) {
    if (epoch !== currentEpoch()) return;
    progress.update({ state: 'failure', percent: 0, detail: error.message });
    notifyError(error, { title: t('action.restore') });
  } finally {
    if (epoch === currentEpoch()) {
      refreshList();
      loadStorage();
    }
  }
}

async function followRestore(restoreId, backupId, epoch) {
  for (;;) {
    const restore = await api('GET', `/api/v1/restores/${encodeURIComponent(String(restoreId))}`);
    if (epoch !== currentEpoch()) return null;
    if (!['in_progress', 'queued', 'pending', 'running'].includes(restore.status)) return restore;
    const known = typeof restore.progress_percent === 'number';
    progress.update({
      percent: restore.progress_percent,
      indeterminate: !known,
      detail: `${backupId} — ${phaseLabel(restore.phase)}`,
    });
    await sleep(POLL_MS);
  }
}
