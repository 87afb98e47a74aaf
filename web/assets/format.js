// Sizes and times as operators read them.

import { lang } from './i18n.js';

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

/** Decimal units like the server and the guide: 12.5 MB, 20 MB, 512 B. */
export function humanSize(bytes) {
  if (bytes === null || bytes === undefined || Number.isNaN(Number(bytes))) return '—';
  let value = Number(bytes);
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  if (unit === 0) return `${value} B`;
  const digits = value >= 100 || value % 1 < 0.05 ? 0 : 1;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * An RFC 3339 time as `2026-01-31 14:30:25`, in the zone the server wrote it
 * in (its NEXUS_TZ): the same clock as backup ids, file names and logs.
 */
export function localTime(iso) {
  if (!iso) return '—';
  const m = RFC3339.exec(iso);
  return m ? `${m[1]} ${m[2]}` : iso;
}

/**
 * The time's UTC offset ("UTC+09:00") when it differs from the browser's,
 * so a reader elsewhere knows which clock the table shows; else ''.
 */
export function zoneNote(iso) {
  const m = iso && RFC3339.exec(iso);
  if (!m) return '';
  const offset = m[3] === 'Z' ? '+00:00' : m[3];
  const minutes = -new Date(iso).getTimezoneOffset();
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  const browser = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return offset === browser ? '' : `UTC${offset}`;
}

/** A whole percentage, clamped to 0–100. */
export function percent(value) {
  const n = Math.round(Number(value) || 0);
  return Math.min(100, Math.max(0, n));
}

/** A number with the language's digit grouping. */
export function count(n) {
  return new Intl.NumberFormat(lang() === 'en' ? 'en-US' : 'ja-JP').format(Number(n) || 0);
}
