// The REST client: the session token, the language header, and errors as
// the API's body {error, message, user_action, details}.

import { lang, t } from './i18n.js';

const TOKEN_KEY = 'nexus.token';
const USER_KEY = 'nexus.user';
export const LOGIN_PATH = '/api/v1/auth/login';

/** An error answer of the API (or a network failure, status 0). */
export class ApiError extends Error {
  constructor(status, body) {
    super(body.message || t('error.generic'));
    this.status = status;
    this.code = body.error || `http_${status}`;
    this.userAction = body.user_action || '';
    this.details = body.details || {};
  }

  /** The server has no such endpoint (yet): a 404 not_found or a 405. */
  get unavailable() {
    return (this.status === 404 && this.code === 'not_found') || this.status === 405;
  }
}

let epoch = 0;

/**
 * Changes on every logout: a poller started under an older epoch stops, so
 * nothing of one session reaches the screen of the next.
 */
export function currentEpoch() {
  return epoch;
}

/** The logged-in user and their token, kept for this browser tab only. */
export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  get user() {
    try {
      return JSON.parse(sessionStorage.getItem(USER_KEY));
    } catch {
      return null;
    }
  },
  save(token, user) {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(USER_KEY, JSON.stringify(user));
  },
  clear() {
    epoch += 1;
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(USER_KEY);
  },
};

let onUnauthorized = () => {};

/** Called when a request with a token answers 401 (expired or revoked). */
export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

/** Sends a request; resolves to the JSON body (null when empty), or throws ApiError. */
export async function api(method, path, body) {
  const headers = {
    Accept: 'application/json',
    // Always explicit: the browser's own default would often be English.
    'Accept-Language': lang(),
  };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const token = session.token;
  if (token && path !== LOGIN_PATH) headers.Authorization = `Bearer ${token}`;

  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, {
      error: 'network_error',
      message: t('error.network'),
      user_action: t('error.network.action'),
    });
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (response.ok) return data;

  const error = new ApiError(
    response.status,
    data && typeof data === 'object' && data.error
      ? data
      : { message: t('error.generic'), user_action: t('error.generic.action') },
  );
  if (response.status === 401 && path !== LOGIN_PATH) onUnauthorized(error);
  throw error;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
