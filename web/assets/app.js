// The backup management page (/views/backup.html): login, the backup table
// with paging and a type filter, the language switch, and the wiring of
// the buttons to actions.js.

import { createBackup, deleteBackup, initActions, restoreBackup, verifyBackup, verifyOffsite } from './actions.js';
import { LOGIN_PATH, api, currentEpoch, session, whenUnauthorized } from './api.js';
import { byId, show } from './dom.js';
import { applyTexts, lang, setLang, t } from './i18n.js';
import { clearNotices, notify } from './notices.js';
import * as progress from './progress.js';
import { loadStorage, renderStorage, resetStorage } from './storage.js';
import { permissions, renderLoading, renderPager, renderTable } from './table.js';

const PAGE_SIZE = 20;
const LIVE_REFRESH_MS = 2000;

const list = { backups: [], total: 0, limit: PAGE_SIZE, offset: 0, type: '' };
let liveTimer = null;
let listRequest = 0;

const handlers = {
  verify: verifyBackup,
  verifyOffsite,
  remove: deleteBackup,
  restore: restoreBackup,
};

function role() {
  return (session.user && session.user.role) || 'viewer';
}

// --- login and logout -------------------------------------------------------

function showLogin(notice) {
  show(byId('app-view'), false);
  show(byId('whoami'), false);
  show(byId('logout'), false);
  show(byId('login-view'));
  const error = byId('login-error');
  error.replaceChildren();
  show(error, Boolean(notice));
  if (notice) {
    const title = document.createElement('strong');
    title.textContent = notice.message;
    error.append(title);
    if (notice.action) {
      const action = document.createElement('span');
      action.textContent = notice.action;
      error.append(' ', action);
    }
    error.dataset.code = notice.code || '';
  }
  byId('login-password').value = '';
  byId(byId('login-username').value ? 'login-password' : 'login-username').focus();
}

function showApp() {
  const user = session.user;
  show(byId('login-view'), false);
  show(byId('app-view'));
  byId('whoami-name').textContent = user.username;
  byId('whoami-role').textContent = t(`role.${user.role}`);
  byId('whoami-role').dataset.role = user.role;
  show(byId('whoami'));
  show(byId('logout'));
  show(byId('create-button'), permissions(user.role).create);
  list.offset = 0;
  renderLoading();
  loadBackups();
  loadStorage();
}

async function logIn(event) {
  event.preventDefault();
  const submit = byId('login-submit');
  const username = byId('login-username').value.trim();
  const password = byId('login-password').value;
  submit.disabled = true;
  submit.textContent = t('login.busy');
  try {
    const body = await api('POST', LOGIN_PATH, { username, password });
    session.save(body.access_token, body.user);
    byId('login-password').value = '';
    showApp();
    byId('main').focus();
  } catch (error) {
    showLogin({ message: error.message, action: error.userAction, code: error.code });
  } finally {
    submit.disabled = false;
    submit.textContent = t('login.submit');
  }
}

function logOut(notice) {
  session.clear();
  clearTimeout(liveTimer);
  clearNotices();
  progress.hide();
  resetStorage();
  list.backups = [];
  showLogin(notice);
}

// --- the backup list ----------------------------------------------------------

async function loadBackups() {
  const request = ++listRequest;
  const epoch = currentEpoch();
  const query = new URLSearchParams({ limit: String(list.limit), offset: String(list.offset) });
  if (list.type) query.set('type', list.type);
  try {
    const body = await api('GET', `/api/v1/backups?${query}`);
    // A newer request (filter, page, refresh) wins over a slower older one.
    if (request !== listRequest || epoch !== currentEpoch()) return;
    Object.assign(list, { backups: body.backups || [], total: body.total || 0 });
    // The page may have emptied (deletion): step back.
    if (!list.backups.length && list.offset > 0) {
      list.offset = Math.max(0, list.offset - list.limit);
      loadBackups();
      return;
    }
    renderList();
  } catch (error) {
    if (request !== listRequest || epoch !== currentEpoch()) return;
    if (error.status !== 401) notify({ kind: 'error', title: error.message, action: error.userAction, code: error.code });
  } finally {
    scheduleLiveRefresh(request, epoch);
  }
}

function renderList() {
  renderTable(list.backups, role(), handlers);
  renderPager(list);
}

/** While a backup on this page runs (a scheduled one, say) or its offsite
 * copy is being uploaded, keep it fresh. */
function scheduleLiveRefresh(request, epoch) {
  if (request !== listRequest || epoch !== currentEpoch()) return;
  clearTimeout(liveTimer);
  const busy = (b) =>
    b.status === 'in_progress' || (b.copies && b.copies.offsite && b.copies.offsite.state === 'uploading');
  if (list.backups.some(busy)) {
    liveTimer = setTimeout(loadBackups, LIVE_REFRESH_MS);
  }
}

// --- language -----------------------------------------------------------------

function switchLanguage() {
  setLang(lang() === 'ja' ? 'en' : 'ja');
  const user = session.user;
  if (user) byId('whoami-role').textContent = t(`role.${user.role}`);
  if (!byId('app-view').hidden) {
    renderList();
    renderStorage();
  }
}

// --- start --------------------------------------------------------------------

function start() {
  applyTexts();
  initActions({ refresh: loadBackups });
  whenUnauthorized(() => logOut({ message: t('login.expired'), action: t('login.expired.action'), code: 'session_expired' }));

  byId('login-form').addEventListener('submit', logIn);
  byId('logout').addEventListener('click', () => logOut());
  byId('lang-toggle').addEventListener('click', switchLanguage);
  byId('create-button').addEventListener('click', createBackup);
  byId('progress-close').addEventListener('click', () => {
    progress.hide();
    byId('main').focus();
  });
  byId('refresh-button').addEventListener('click', () => {
    loadBackups();
    loadStorage();
  });
  byId('type-filter').addEventListener('change', (event) => {
    list.type = event.target.value;
    list.offset = 0;
    loadBackups();
  });
  byId('page-prev').addEventListener('click', () => {
    list.offset = Math.max(0, list.offset - list.limit);
    loadBackups();
  });
  byId('page-next').addEventListener('click', () => {
    list.offset += list.limit;
    loadBackups();
  });

  if (session.token && session.user) showApp();
  else showLogin();
  document.body.dataset.ready = 'true';
}

start();
